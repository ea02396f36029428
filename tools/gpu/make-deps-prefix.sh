#!/usr/bin/env bash
# Copies the engine's build dependencies from this Debian 12 machine into a
# self-contained prefix (headers, CMake package files, libhdf5 and the shared
# libraries it needs), for building the headless engine + CLI on a machine
# without Debian's -dev packages (a GPU box whose image has CUDA, PyTorch,
# CMake and g++ but no Eigen/HDF5/nlohmann-json/Random123).
#   tools/gpu/make-deps-prefix.sh PREFIX
# Needs: libeigen3-dev nlohmann-json3-dev librandom123-dev libhdf5-dev (packaging/install-deps.sh).
set -euo pipefail
prefix=${1:?usage: make-deps-prefix.sh PREFIX}
mkdir -p "$prefix"/include "$prefix"/lib "$prefix"/share/cmake
cp -r /usr/include/eigen3 /usr/include/nlohmann /usr/include/Random123 "$prefix"/include/
cp -r /usr/share/eigen3 "$prefix"/share/
cp -r /usr/share/cmake/nlohmann_json "$prefix"/share/cmake/
# HDF5 (serial): headers flat under include/, the library as libhdf5.so for
# CMake's FindHDF5 and under its soname for the loader.
cp /usr/include/hdf5/serial/*.h "$prefix"/include/
lib=$(readlink -f /usr/lib/x86_64-linux-gnu/libhdf5_serial.so)
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
cp "$lib" "$prefix/lib/$soname"
cp "$lib" "$prefix/lib/libhdf5.so"
# Its shared-library closure, except the C library itself (the target's glibc
# is newer than Debian 12's, so it loads these).
ldd "$lib" | awk '/=> \// {print $3}' | while read -r dep; do
    case "$(basename "$dep")" in
        libc.so.*|libm.so.*|libpthread.so.*|libdl.so.*|librt.so.*|libresolv.so.*|ld-linux*) ;;
        *) cp -L "$dep" "$prefix/lib/" ;;
    esac
done
du -sh "$prefix"
