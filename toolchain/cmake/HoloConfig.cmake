# CMake package for holo, installed by toolchain/install.sh as
# PREFIX/lib/cmake/Holo/HoloConfig.cmake. Relocatable: every path is found from this file.
#
#   find_package(Holo REQUIRED)
#   holo_add_library(gameplay SOURCES gameplay.holo physics.holo)        # release
#   holo_add_library(gameplay DEV SOURCES gameplay.holo physics.holo)    # dev: patchable
#   target_link_libraries(app PRIVATE gameplay)
#
# holo_add_library(<target> [DEV] SOURCES <root.holo> [<imported.holo>...])
#   Builds the holo program whose root file is the first source into
#   ${CMAKE_CURRENT_BINARY_DIR}/holo/<target>/lib<target>.a (`holoc build --emit lib`,
#   with --release unless DEV) and the header include/<target>.h declaring its `export fn`s
#   (`holoc build --emit header`). List every file the root imports too: they are what the
#   build depends on. <target> is an IMPORTED static library carrying the header's folder,
#   holo.h's folder and what the archive links against (libm; for DEV also threads and
#   libdl, which the patch agent uses).

if(CMAKE_VERSION VERSION_LESS 3.16)
  set(Holo_FOUND FALSE)
  set(Holo_NOT_FOUND_MESSAGE "holo_add_library needs CMake 3.16 or newer")
  return()
endif()

get_filename_component(_holo_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(HOLO_HOLOC "${_holo_prefix}/bin/holoc" CACHE FILEPATH "The holoc compiler holo_add_library runs")
set(HOLO_INCLUDE_DIR "${_holo_prefix}/include" CACHE PATH "The folder holding holo.h")
unset(_holo_prefix)

if(NOT EXISTS "${HOLO_HOLOC}")
  set(Holo_FOUND FALSE)
  set(Holo_NOT_FOUND_MESSAGE "holoc is missing: ${HOLO_HOLOC}")
  return()
endif()

include(CMakeFindDependencyMacro)
find_dependency(Threads)

function(holo_add_library target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "DEV" "" "SOURCES")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "holo_add_library(${target}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_SOURCES)
    message(FATAL_ERROR "holo_add_library(${target}): SOURCES needs the root .holo file")
  endif()

  set(sources "")
  foreach(source IN LISTS arg_SOURCES)
    get_filename_component(source "${source}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND sources "${source}")
  endforeach()
  list(GET sources 0 root)

  set(output "${CMAKE_CURRENT_BINARY_DIR}/holo/${target}")
  set(archive "${output}/lib${target}.a")
  set(header "${output}/include/${target}.h")
  # An imported target's include folders must exist when CMake generates the build.
  file(MAKE_DIRECTORY "${output}/include")

  if(arg_DEV)
    set(mode "")
    set(kind "dev")
  else()
    set(mode "--release")
    set(kind "release")
  endif()
  add_custom_command(
    OUTPUT "${archive}" "${header}"
    COMMAND "${HOLO_HOLOC}" build ${mode} --emit lib -o "${archive}" "${root}"
    COMMAND "${HOLO_HOLOC}" build --emit header -o "${header}" "${root}"
    DEPENDS ${sources} "${HOLO_HOLOC}"
    COMMENT "holoc: building ${target} (${kind})"
    VERBATIM)
  add_custom_target(${target}_holo_build DEPENDS "${archive}" "${header}")

  add_library(${target} STATIC IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES
    IMPORTED_LOCATION "${archive}"
    INTERFACE_INCLUDE_DIRECTORIES "${output}/include;${HOLO_INCLUDE_DIR}")
  if(arg_DEV)
    set_property(TARGET ${target} PROPERTY
      INTERFACE_LINK_LIBRARIES m Threads::Threads ${CMAKE_DL_LIBS})
  else()
    set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES m)
  endif()
  add_dependencies(${target} ${target}_holo_build)
endfunction()
