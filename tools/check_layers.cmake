# The layer check: every #include "..." of ours points down the architecture, never up or
# sideways (docs/architecture.md):
#
#   apps -> experiments -> augmentations -> {models, datasets} -> framework
#   python (the `frerec` Python module) -> augmentations, {models, datasets}, framework
#
# A file may include its own top-level folder and any folder of a lower rank; models/ and
# datasets/ share a rank and do not include each other; apps/ (the program) includes only
# experiments/ and framework/ (no shortcut to the components under them).
#
#   cmake -DROOT=<repository> -P tools/check_layers.cmake      (ctest: layer_check)
#
# Lists every offending include as `file: layer -> included path` and fails when there is one.
# Tests, benches, fuzz targets and tools may include anything.
if(NOT ROOT)
  get_filename_component(ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

set(rank_framework 0)
set(rank_models 1)
set(rank_datasets 1)
set(rank_augmentations 2)
set(rank_experiments 3)
set(rank_apps 4)
set(rank_python 4)
set(layers framework models datasets augmentations experiments apps python)
set(allowed_from_apps apps experiments framework)

set(violations "")
set(checked 0)
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE sources "${ROOT}/${layer}/*.h" "${ROOT}/${layer}/*.cpp" "${ROOT}/${layer}/*.inc")
  foreach(source IN LISTS sources)
    math(EXPR checked "${checked} + 1")
    file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include[ \t]+\"")
    file(RELATIVE_PATH relative "${ROOT}" "${source}")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]+\"([^\"]+)\".*$" "\\1" included "${line}")
      string(REGEX REPLACE "/.*$" "" target "${included}")
      if(target STREQUAL layer OR NOT DEFINED rank_${target})
        continue()  # own layer, or not one of ours (a third-party header in quotes)
      endif()
      set(bad FALSE)
      if(layer STREQUAL "apps")
        list(FIND allowed_from_apps "${target}" index)
        if(index EQUAL -1)
          set(bad TRUE)
        endif()
      elseif(layer STREQUAL "python" AND target STREQUAL "apps")
        set(bad TRUE)
      elseif(NOT rank_${target} LESS rank_${layer})
        set(bad TRUE)
      endif()
      if(bad)
        list(APPEND violations "${relative}: ${layer} -> ${included}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "check_layers: no sources found under ${ROOT}")
endif()
list(LENGTH violations count)
if(count GREATER 0)
  string(REPLACE ";" "\n  " listing "${violations}")
  message(FATAL_ERROR "check_layers: ${count} include(s) against the layer order "
                      "apps -> experiments -> augmentations -> {models, datasets} -> framework:\n  ${listing}")
endif()
message(STATUS "check_layers: ${checked} files, every include points down the layers")
