# Installs tlsession's CMake package (tlsessionConfig.cmake, the exported
# targets tlsession::*) and tlsession.pc. The libraries and headers install
# themselves (TlsessionRules.cmake, BoringSSL.cmake).

include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

set(TLSESSION_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/tlsession")
install(EXPORT tlsessionTargets NAMESPACE tlsession::
  FILE tlsessionTargets.cmake DESTINATION "${TLSESSION_CMAKE_INSTALL_DIR}")
configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/tlsessionConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/tlsessionConfig.cmake"
  INSTALL_DESTINATION "${TLSESSION_CMAKE_INSTALL_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/tlsessionConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/tlsessionConfig.cmake"
  "${PROJECT_BINARY_DIR}/tlsessionConfigVersion.cmake"
  DESTINATION "${TLSESSION_CMAKE_INSTALL_DIR}")

# tlsession.pc: every installed archive in a valid static link order (the
# reverse of the definition order: libraries are defined after their deps,
# which TlsessionRules.cmake enforces), then BoringSSL's; Abseil through its
# own pkg-config modules.
get_property(_archives GLOBAL PROPERTY TLSESSION_INSTALLED_ARCHIVES)
list(REVERSE _archives)
set(TLSESSION_PC_LIBS "")
foreach(_t IN LISTS _archives ITEMS tlsession_boringssl_ssl tlsession_boringssl_crypto)
  get_target_property(_name ${_t} OUTPUT_NAME)
  if(NOT _name)
    set(_name ${_t})
  endif()
  string(APPEND TLSESSION_PC_LIBS " -l${_name}")
endforeach()
set(TLSESSION_PC_REQUIRES "")
foreach(c IN LISTS TLSESSION_ABSL_COMPONENTS)
  list(APPEND TLSESSION_PC_REQUIRES "absl_${c}")
endforeach()
list(JOIN TLSESSION_PC_REQUIRES ", " TLSESSION_PC_REQUIRES)
# From <prefix>/<libdir>/pkgconfig back to <prefix> ("../.." for lib).
file(RELATIVE_PATH TLSESSION_PC_TO_PREFIX
  "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" TLSESSION_PC_TO_PREFIX "${TLSESSION_PC_TO_PREFIX}")
configure_file("${PROJECT_SOURCE_DIR}/cmake/tlsession.pc.in"
  "${PROJECT_BINARY_DIR}/tlsession.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/tlsession.pc"
  DESTINATION "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
