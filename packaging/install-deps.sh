#!/usr/bin/env bash
# Installs every Debian 12 package that building, running and testing
# Entroscope needs. Idempotent: re-running it installs nothing new.
set -euo pipefail

packages=(
  # toolchain
  cmake g++ make pkg-config
  # engine: linear algebra, JSON, counter-based RNG, HDF5 (H5MD), LibTorch + a fast BLAS
  libeigen3-dev nlohmann-json3-dev librandom123-dev libhdf5-dev hdf5-tools
  libtorch-dev libopenblas0-openmp
  # movies (FFmpeg libraries)
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev
  # GUI: Qt 6 widgets + OpenGL widgets + Qt Test, Qt Charts (live plots), Qt SVG (vector figures), VTK 9.1
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev qt6-charts-dev qt6-svg-dev libgl-dev libvtk9-dev
  # headless GUI tests and screenshots: X server, Mesa software GL, image tools
  xvfb xauth libgl1-mesa-dri imagemagick
  # vector figures of the particle views (PDF through cairo)
  libcairo2-dev
  # outside readers the tests check exports with: poppler (pdfinfo, pdftoppm),
  # ffprobe (MP4), h5py (H5MD), ASE (extended XYZ), VTK's Python readers (VTK XML)
  poppler-utils ffmpeg python3-h5py python3-ase python3-vtk9
  # locale sources: a test builds a comma-decimal locale with localedef
  locales
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
