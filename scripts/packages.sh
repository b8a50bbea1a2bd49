# Debian 12 packages the build, the tests and the golden-fixture scripts need.
# Sourced by scripts/setup.sh and scripts/test.sh; installs only what is missing.
# slurm-wlm and munge: the single-node cluster of tests/slurm/run_slurm_test.sh.
FREREC_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  libtorch-dev libopenblas0-openmp
  libopencv-dev libfftw3-dev libyaml-cpp-dev libeigen3-dev libfmt-dev libhdf5-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libcairo2-dev
  clang-14 libclang-rt-14-dev
  chromium  # headless, for the report_in_browser test
  python3 python3-dev pybind11-dev python3-numpy python3-scipy python3-torch python3-torchvision python3-skimage python3-sklearn python3-h5py
  slurm-wlm munge
)

frerec_install_packages() {
  local missing=()
  local p
  for p in "${FREREC_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#FREREC_PACKAGES[@]} Debian packages are installed"
    return 0
  fi
  echo "setup: installing ${#missing[@]} missing Debian packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" < /dev/null
}

# Configure (once) and build the release preset: the program is build/release/frerec.
frerec_build_release() {
  local jobs
  jobs=$(nproc)
  # ccache: relative paths so a fresh clone elsewhere hits the same cache; allow caching of
  # translation units that use CMake's precompiled headers.
  export CCACHE_BASEDIR="$PWD"
  export CCACHE_NOHASHDIR=1
  export CCACHE_SLOPPINESS="pch_defines,time_macros,include_file_mtime,include_file_ctime"
  if [ ! -f build/release/build.ninja ]; then
    cmake --preset release
  fi
  cmake --build build/release -j "$jobs"
}
