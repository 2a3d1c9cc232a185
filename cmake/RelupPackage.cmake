# Install, export and package rules (included when RELUP_INSTALL is on).
#
# `cmake --install BUILD [--prefix P]` puts in place:
#   P/bin/relup                          the CLI and node
#   P/libexec/relup/relup-trial          the node's trial helper (not a command)
#   P/lib*/librelup_core.so.ABI          Status, Term, the module ABI; SONAME
#                                        version = relup::kAbiVersion
#   P/include/relup/*.h                  the SDK headers a module includes
#   P/lib*/cmake/relup/                  relupConfig.cmake (+ version file):
#                                        relup::core, relup::relup and
#                                        relup_add_module()
#   P/lib/systemd/system/relup@.service  one node per instance name
#   P/share/relup/ci/                    build-release.sh and the CI templates
# `cpack` (from BUILD) makes relup_VERSION_ARCH.deb of the same files.
include(CMakePackageConfigHelpers)

set(RELUP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/relup)

# Installed binaries find librelup_core through a RUNPATH relative to
# themselves, set whatever the prefix is at configure time, so that
# `cmake --install --prefix P` works for any P. (In a system directory it is
# redundant, and harmless.)
file(RELATIVE_PATH bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
file(RELATIVE_PATH trial_to_lib ${CMAKE_INSTALL_PREFIX}/${RELUP_TRIAL_INSTALL_DIR}
     ${CMAKE_INSTALL_FULL_LIBDIR})
set_target_properties(relup PROPERTIES INSTALL_RPATH "$ORIGIN/${bin_to_lib}")
set_target_properties(relup-trial PROPERTIES INSTALL_RPATH "$ORIGIN/${trial_to_lib}")

install(TARGETS relup_core EXPORT relupTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS relup EXPORT relupTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS relup-trial RUNTIME DESTINATION ${RELUP_TRIAL_INSTALL_DIR})
set_target_properties(relup_core PROPERTIES EXPORT_NAME core)
set_target_properties(relup PROPERTIES EXPORT_NAME relup)

# The SDK: what a module's sources include. The node's own headers (node.h,
# code_server.h, plan.h, release.h, term_yaml.h) are not part of it.
install(FILES
  ${PROJECT_SOURCE_DIR}/runtime/include/relup/module_abi.h
  ${PROJECT_SOURCE_DIR}/runtime/include/relup/server.h
  ${PROJECT_SOURCE_DIR}/runtime/include/relup/status.h
  ${PROJECT_SOURCE_DIR}/runtime/include/relup/term.h
  ${PROJECT_BINARY_DIR}/include/relup/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/relup)

install(EXPORT relupTargets NAMESPACE relup:: DESTINATION ${RELUP_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/package/relupConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/relupConfig.cmake
  INSTALL_DESTINATION ${RELUP_CMAKE_DIR} PATH_VARS CMAKE_INSTALL_BINDIR)
# Before 1.0 a minor release may change the SDK: 0.2 accepts 0.2.x only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/relupConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/package/relupConfig.cmake
  ${PROJECT_BINARY_DIR}/package/relupConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/RelupModule.cmake
  ${PROJECT_SOURCE_DIR}/cmake/relup_module.map
  DESTINATION ${RELUP_CMAKE_DIR})

# The unit names the relup binary by its absolute path, which is known only
# at install time (cpack installs with the prefix /usr): made then.
install(CODE "
  set(RELUP_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  set(unit \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/lib/systemd/system/relup@.service\")
  message(STATUS \"Installing: \${unit}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/package/relup@.service.in\" \"\${unit}\" @ONLY)
")
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/cmake/package/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# What a team's pipeline runs (README: Using relup in your project).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/examples/ci/build-release.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/relup/ci)
install(FILES ${PROJECT_SOURCE_DIR}/examples/ci/github-actions.yml
              ${PROJECT_SOURCE_DIR}/examples/ci/gitlab-ci.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/relup/ci)

# The Debian package: one package, the node and CLI with the SDK. Its
# Depends come from dpkg-shlibdeps (libc, libstdc++, yaml-cpp, libarchive,
# OpenSSL); building modules also needs a compiler and CMake (Recommends).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME relup)
set(CPACK_PACKAGE_VENDOR "relup")
set(CPACK_PACKAGE_CONTACT "relup maintainers <relup@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "hot code upgrades for C++ services")
set(CPACK_PACKAGE_DESCRIPTION
    "relup runs C++ server modules in a node and upgrades them in place, the way \
Erlang/OTP's release handler does: state is migrated by code_change, and no message or \
connection is lost. This package has the relup CLI and node, the SDK for building modules \
(find_package(relup)), and the relup@.service systemd unit.")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cmake (>= 3.20), g++ (>= 12)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/cmake/package/postinst ${PROJECT_SOURCE_DIR}/cmake/package/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/dist)
include(CPack)
