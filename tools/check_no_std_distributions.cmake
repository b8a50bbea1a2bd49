# Fails when non-test code draws through <random>'s distributions or std::shuffle/std::sample:
# their algorithms are left to each standard library, so the same seed would give different
# numbers with libc++ or MSVC. framework/core/random.h has portable replicas of the libstdc++
# ones the project used. Tests and benches may compare against the std versions and are not
# scanned. Comments (// to the end of the line) are ignored.
#
#   cmake -DSOURCE_DIR=<repository root> -P tools/check_no_std_distributions.cmake
if(NOT SOURCE_DIR)
  get_filename_component(SOURCE_DIR "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

set(_globs)
foreach(_dir framework augmentations datasets models experiments apps)
  foreach(_ext cpp cc h hpp)
    list(APPEND _globs "${SOURCE_DIR}/${_dir}/*.${_ext}")
  endforeach()
endforeach()
file(GLOB_RECURSE _files ${_globs})

set(_pattern "std::[A-Za-z0-9_]+_distribution[ \t]*<|std::(shuffle|sample|random_shuffle)[ \t]*\\(")
set(_found "")
foreach(_file IN LISTS _files)
  file(READ "${_file}" _text)
  string(REGEX REPLACE "//[^\n]*" "" _code "${_text}")
  string(REGEX MATCHALL "${_pattern}" _matches "${_code}")
  if(_matches)
    file(RELATIVE_PATH _relative "${SOURCE_DIR}" "${_file}")
    string(APPEND _found "  ${_relative}: ${_matches}\n")
  endif()
endforeach()

list(LENGTH _files _count)
if(_found)
  message(FATAL_ERROR "std distributions in library code (use framework/core/random.h instead):\n${_found}")
endif()
message(STATUS "no std distributions in ${_count} library source files")
