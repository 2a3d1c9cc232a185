# relup_add_module(NAME VSN SOURCES src... [TARGET target] [OUTPUT_DIR dir])
#
# Builds a relup server module: a shared library NAME-VSN.so that exports only
# the entry point relup_module_descriptor (hidden visibility for the module's
# own code, and a linker version script, relup_module.map, for the rest),
# links relup::core, and refuses undefined symbols at link time.
# The sources must contain exactly one RELUP_MODULE(...) whose name and vsn
# are checked against NAME and VSN at compile time.
# The target is NAME_vVSN unless TARGET is given (dots in VSN become _).
# The library lands in OUTPUT_DIR, else ${RELUP_MODULE_OUTPUT_DIR} if the
# caller set it, else ${CMAKE_BINARY_DIR}/modules: give that directory to
# `relup build --lib-dir`.
#
# This file is used three ways: by relup's own build, installed beside
# relupConfig.cmake (find_package(relup)), and from a project that has
# add_subdirectory(relup). So the function reads nothing from the scope this
# file was included in: what it needs is in global properties.
#
# A module has no RUNPATH. It is loaded into a node, or into relup-trial,
# that has librelup_core loaded already, and the dynamic loader satisfies the
# module's DT_NEEDED librelup_core.so.ABI with that copy (it matches loaded
# libraries by SONAME). A RUNPATH would only carry the build machine's paths
# into the release tarball.

# Hidden visibility does not reach what the standard library headers
# instantiate (their namespace is declared visibility default): weak typeinfo
# and vtables such as std::bad_variant_access's, and inline function statics,
# would be exported. The version script makes them local too.
set_property(GLOBAL PROPERTY RELUP_MODULE_VERSION_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/relup_module.map")

# GCC emits STB_GNU_UNIQUE symbols for some inline statics (even from the
# standard library), and glibc then never unloads the library: every old
# version would stay mapped forever. -fno-gnu-unique keeps dlclose effective.
function(relup_module_unloadable target)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    target_compile_options(${target} PRIVATE -fno-gnu-unique)
  endif()
endfunction()

function(relup_add_module name vsn)
  cmake_parse_arguments(ARG "" "TARGET;OUTPUT_DIR" "SOURCES" ${ARGN})
  # The name is a C identifier (RELUP_MODULE takes it as one); the vsn ends up
  # in file names (NAME-VSN.so), so it stays a plain token.
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "relup_add_module(${name} ${vsn}): the module name must be an "
                        "identifier (letters, digits, _), e.g. demo_server")
  endif()
  if(NOT vsn MATCHES "^[A-Za-z0-9][A-Za-z0-9._+~-]*$")
    message(FATAL_ERROR "relup_add_module(${name} ${vsn}): the vsn may only use letters, "
                        "digits and . _ + ~ - (e.g. 2 or 1.4.0)")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "relup_add_module(${name} ${vsn}): SOURCES is required")
  endif()
  string(MAKE_C_IDENTIFIER "${name}_v${vsn}" default_target)
  set(target ${default_target})
  if(ARG_TARGET)
    set(target ${ARG_TARGET})
  endif()
  if(NOT TARGET relup::core)
    message(FATAL_ERROR "relup_add_module(${name} ${vsn}): relup::core is not defined: "
                        "call find_package(relup) or add_subdirectory(relup) first")
  endif()
  get_property(version_script GLOBAL PROPERTY RELUP_MODULE_VERSION_SCRIPT)
  set(out_dir "${CMAKE_BINARY_DIR}/modules")
  if(RELUP_MODULE_OUTPUT_DIR)
    set(out_dir ${RELUP_MODULE_OUTPUT_DIR})
  endif()
  if(ARG_OUTPUT_DIR)
    set(out_dir ${ARG_OUTPUT_DIR})
  endif()
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE relup::core)
  # A build id derived from the sources' content: the same sources give the same id.
  set(content "")
  foreach(src IN LISTS ARG_SOURCES)
    get_filename_component(abs "${src}" ABSOLUTE)
    file(READ "${abs}" text)
    # Re-run configure when a source changes, so the build id follows the content.
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${abs}")
    string(APPEND content "${text}")
  endforeach()
  string(SHA256 build_id "${name}\n${vsn}\n${content}")
  string(SUBSTRING "${build_id}" 0 16 build_id)
  target_compile_definitions(${target} PRIVATE
    RELUP_EXPECTED_MODULE_NAME="${name}"
    RELUP_EXPECTED_MODULE_VSN="${vsn}"
    RELUP_MODULE_BUILD_ID="${build_id}")
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME "${name}-${vsn}"
    LIBRARY_OUTPUT_DIRECTORY ${out_dir}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    SKIP_BUILD_RPATH ON
    INSTALL_RPATH "")
  # --require-defined: a source set without RELUP_MODULE(...) fails to link
  # ("required symbol `relup_module_descriptor' not defined") instead of
  # building a library that relup build refuses later.
  target_link_options(${target} PRIVATE -Wl,-z,defs -Wl,--build-id=sha1
                      -Wl,--require-defined=relup_module_descriptor
                      "-Wl,--version-script=${version_script}")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${version_script}")
  relup_module_unloadable(${target})
  # relup's own modules get relup's warnings; a user's keep their own flags.
  if(RELUP_MODULE_WARNINGS AND COMMAND relup_set_warnings)
    relup_set_warnings(${target})
  endif()
  set_property(GLOBAL APPEND PROPERTY RELUP_ALL_MODULES ${target})
endfunction()
