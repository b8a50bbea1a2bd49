# FindFFTW3: FFTW3 in double and single precision with their threads libraries,
# located through pkg-config (Debian's libfftw3-dev ships fftw3.pc and fftw3f.pc).
# Defines the imported target FFTW3::fftw3 (double + float + threads).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PC_FFTW3 QUIET fftw3)
pkg_check_modules(PC_FFTW3F QUIET fftw3f)
find_path(FFTW3_INCLUDE_DIR fftw3.h HINTS ${PC_FFTW3_INCLUDE_DIRS})
find_library(FFTW3_LIBRARY NAMES fftw3 HINTS ${PC_FFTW3_LIBRARY_DIRS})
find_library(FFTW3F_LIBRARY NAMES fftw3f HINTS ${PC_FFTW3F_LIBRARY_DIRS})
find_library(FFTW3_THREADS_LIBRARY NAMES fftw3_threads HINTS ${PC_FFTW3_LIBRARY_DIRS})
find_library(FFTW3F_THREADS_LIBRARY NAMES fftw3f_threads HINTS ${PC_FFTW3F_LIBRARY_DIRS})
set(FFTW3_VERSION ${PC_FFTW3_VERSION})
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FFTW3
  REQUIRED_VARS FFTW3_INCLUDE_DIR FFTW3_LIBRARY FFTW3F_LIBRARY FFTW3_THREADS_LIBRARY FFTW3F_THREADS_LIBRARY
  VERSION_VAR FFTW3_VERSION)
if(FFTW3_FOUND AND NOT TARGET FFTW3::fftw3)
  add_library(FFTW3::fftw3 INTERFACE IMPORTED)
  set_target_properties(FFTW3::fftw3 PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${FFTW3_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${FFTW3F_THREADS_LIBRARY};${FFTW3_THREADS_LIBRARY};${FFTW3F_LIBRARY};${FFTW3_LIBRARY};Threads::Threads")
endif()
