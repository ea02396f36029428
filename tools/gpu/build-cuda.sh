#!/usr/bin/env bash
# Builds the headless engine + CLI against the LibTorch inside python3's
# PyTorch (with CUDA when that PyTorch has it), taking the other dependencies
# from a prefix made by make-deps-prefix.sh.
#   tools/gpu/build-cuda.sh DEPS_PREFIX BUILD_DIR
# Tries PyTorch's own TorchConfig.cmake first, then the minimal shim beside
# this script. The binary is BUILD_DIR/app/cli/entroscope-cli.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=$(realpath "$1")
build=$2
tp=$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')
abi=$(python3 -c 'import torch; print(int(torch._C._GLIBCXX_USE_CXX11_ABI))')
echo "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)') at $tp (cxx11 abi $abi)"
common=(-S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DENTROSCOPE_BUILD_GUI=OFF -DENTROSCOPE_BUILD_TESTS=OFF
        -DCMAKE_PREFIX_PATH="$deps" -DHDF5_ROOT="$deps" -DRANDOM123_INCLUDE_DIR="$deps/include"
        -DCMAKE_EXE_LINKER_FLAGS="-Wl,--no-as-needed -Wl,-rpath,$deps/lib:$tp/lib")
gen=()
if command -v ninja >/dev/null; then gen=(-G Ninja); fi
if ! cmake "${common[@]}" "${gen[@]}" -DTorch_DIR="$tp/share/cmake/Torch" >"$build.configure.log" 2>&1; then
    echo "PyTorch's TorchConfig.cmake failed; its log ends:"
    tail -n 25 "$build.configure.log"
    echo "configuring with tools/gpu/torch-shim instead"
    rm -rf "$build"
    cmake "${common[@]}" "${gen[@]}" -DTorch_DIR="$PWD/tools/gpu/torch-shim" -DTORCH_SHIM_ROOT="$tp" \
          -DTORCH_SHIM_CXX11_ABI="$abi" >"$build.configure.log" 2>&1 || { tail -n 40 "$build.configure.log"; exit 1; }
fi
grep -E "HDF5_C_LIBRARY_hdf5|Eigen3_DIR|nlohmann_json_DIR|Torch_DIR" "$build/CMakeCache.txt" | grep -v "^//" || true
cmake --build "$build" --target entroscope-cli -j"$(nproc)"
