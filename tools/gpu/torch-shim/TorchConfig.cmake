# A minimal stand-in for PyTorch's TorchConfig.cmake, used by build-cuda.sh
# only when the real one fails to configure (it also looks for the CUDA
# toolkit, cuDNN and NVTX, which a wheel-based image may lay out differently).
# Inputs: TORCH_SHIM_ROOT (the torch package: include/ and lib/),
# optional TORCH_SHIM_LIBDIR (default ROOT/lib) and TORCH_SHIM_CXX11_ABI (0|1).
if(NOT TORCH_SHIM_ROOT)
  message(FATAL_ERROR "torch-shim: set TORCH_SHIM_ROOT to the torch package directory")
endif()
if(NOT TORCH_SHIM_LIBDIR)
  set(TORCH_SHIM_LIBDIR "${TORCH_SHIM_ROOT}/lib")
endif()
set(_libs)
foreach(_name torch torch_cpu c10 torch_cuda c10_cuda)
  find_library(_torch_shim_${_name} ${_name} PATHS "${TORCH_SHIM_LIBDIR}" NO_DEFAULT_PATH)
  if(_torch_shim_${_name})
    list(APPEND _libs "${_torch_shim_${_name}}")
  elseif(_name MATCHES "^(torch|torch_cpu|c10)$")
    message(FATAL_ERROR "torch-shim: lib${_name}.so not found in ${TORCH_SHIM_LIBDIR}")
  endif()
endforeach()
add_library(torch INTERFACE IMPORTED)
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${TORCH_SHIM_ROOT}/include;${TORCH_SHIM_ROOT}/include/torch/csrc/api/include"
  # The CUDA libraries register their kernels at load time: keep them linked.
  INTERFACE_LINK_LIBRARIES "-Wl,--no-as-needed;${_libs};-Wl,--as-needed")
if(DEFINED TORCH_SHIM_CXX11_ABI)
  set_property(TARGET torch APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS _GLIBCXX_USE_CXX11_ABI=${TORCH_SHIM_CXX11_ABI})
endif()
set(TORCH_LIBRARIES torch)
set(TORCH_INCLUDE_DIRS "${TORCH_SHIM_ROOT}/include;${TORCH_SHIM_ROOT}/include/torch/csrc/api/include")
set(Torch_FOUND TRUE)
message(STATUS "torch-shim: ${_libs}")
