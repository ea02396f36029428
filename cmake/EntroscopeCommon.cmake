# One INTERFACE target carries warnings and Qt defines for every project target.
add_library(entroscope_common INTERFACE)
target_compile_options(entroscope_common INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-unused-parameter>)
# Qt's `slots`/`signals` macros break LibTorch headers: use Q_SLOTS/Q_SIGNALS/Q_EMIT.
target_compile_definitions(entroscope_common INTERFACE QT_NO_KEYWORDS QT_NO_FOREACH)
if(ENTROSCOPE_NATIVE)
  target_compile_options(entroscope_common INTERFACE -march=native)
endif()

# Sanitizer builds (the asan preset sets ENTROSCOPE_SANITIZE=address,undefined).
set(ENTROSCOPE_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list")
if(ENTROSCOPE_SANITIZE)
  target_compile_options(entroscope_common INTERFACE -fsanitize=${ENTROSCOPE_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(entroscope_common INTERFACE -fsanitize=${ENTROSCOPE_SANITIZE})
endif()

# Register a Qt Test executable (one test class per file) with CTest.
function(entroscope_add_test name)
  cmake_parse_arguments(T "GUI" "TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Qt6::Test entroscope_common)
  set_target_properties(${name} PROPERTIES AUTOMOC ON)
  add_test(NAME ${name} COMMAND ${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT})
  if(T_GUI)
    set_tests_properties(${name} PROPERTIES LABELS gui)
  else()
    set_tests_properties(${name} PROPERTIES LABELS engine)
  endif()
endfunction()
