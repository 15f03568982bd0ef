# BoringSSL, built from the same unpacked source tree as Bazel's @boringssl
# (setup.sh unpacks Debian's android-platform-external-boringssl into
# /opt/tlsession/boringssl-src). The tree's android-sources.cmake lists the
# sources, pre-generated x86-64 assembly included: no Go or Perl needed.
#
# Targets: tlsession_boringssl_crypto and tlsession_boringssl_ssl (archives
# libtlsession_boringssl_crypto.a and libtlsession_boringssl_ssl.a, so they
# never clash with the system's libcrypto/libssl), exported as
# tlsession::boringssl_crypto and tlsession::boringssl_ssl. Their headers are
# installed under include/tlsession/boringssl/openssl/.

include_guard(GLOBAL)

set(TLSESSION_BORINGSSL_SOURCE_DIR "/opt/tlsession/boringssl-src" CACHE PATH
  "BoringSSL's source tree (Debian's android-platform-external-boringssl, unpacked by setup.sh)")
set(_bssl "${TLSESSION_BORINGSSL_SOURCE_DIR}")
if(NOT EXISTS "${_bssl}/android-sources.cmake" OR NOT EXISTS "${_bssl}/src/include/openssl/ssl.h")
  message(FATAL_ERROR
    "tlsession: no BoringSSL source tree at ${_bssl} "
    "(android-sources.cmake and src/include/openssl/ssl.h expected). "
    "Run ./setup.sh, which unpacks it there, or pass "
    "-DTLSESSION_BORINGSSL_SOURCE_DIR=<tree>.")
endif()
if(NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" OR NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
  message(FATAL_ERROR "tlsession: the CMake build of BoringSSL supports Linux x86-64 only "
    "(found ${CMAKE_SYSTEM_NAME} ${CMAKE_SYSTEM_PROCESSOR}).")
endif()

set(BORINGSSL_ROOT "${_bssl}/")
include("${_bssl}/android-sources.cmake")

# BoringSSL's own flags, as its BUILD file gives Bazel (linux_copts), less
# -Werror: newer compilers than BoringSSL was tested with warn (gcc 12's
# false -Warray-bounds in src/crypto/x509v3/v3_utl.c; see .bazelrc).
set(_bssl_copts -Wa,--noexecstack -Wall -Wformat=2 -Wsign-compare
  -Wmissing-field-initializers -Wwrite-strings -Wshadow -fno-common
  -D_XOPEN_SOURCE=700)
set(_bssl_include "${_bssl}/src/include")
set(TLSESSION_BORINGSSL_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/tlsession/boringssl")

add_library(tlsession_boringssl_crypto STATIC
  ${crypto_sources} ${crypto_sources_linux_x86_64})
target_compile_options(tlsession_boringssl_crypto PRIVATE ${_bssl_copts}
  $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes -Wold-style-definition -Wstrict-prototypes>)
set_target_properties(tlsession_boringssl_crypto PROPERTIES
  C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
  EXPORT_NAME boringssl_crypto)
# BEFORE: BoringSSL's <openssl/...> must win over OpenSSL 3's headers in
# /usr/include (never searched first: CMake does not pass it with -I).
target_include_directories(tlsession_boringssl_crypto BEFORE PUBLIC
  $<BUILD_INTERFACE:${_bssl_include}>
  $<INSTALL_INTERFACE:${TLSESSION_BORINGSSL_INSTALL_INCLUDEDIR}>)
target_link_libraries(tlsession_boringssl_crypto PUBLIC Threads::Threads)

add_library(tlsession_boringssl_ssl STATIC ${ssl_sources})
target_compile_options(tlsession_boringssl_ssl PRIVATE ${_bssl_copts}
  -Wmissing-declarations)
# BoringSSL's BUILD compiles its C++ as C++14.
set_target_properties(tlsession_boringssl_ssl PROPERTIES
  CXX_STANDARD 14 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF
  EXPORT_NAME boringssl_ssl)
target_link_libraries(tlsession_boringssl_ssl PUBLIC tlsession_boringssl_crypto)

add_library(tlsession::boringssl_crypto ALIAS tlsession_boringssl_crypto)
add_library(tlsession::boringssl_ssl ALIAS tlsession_boringssl_ssl)

install(TARGETS tlsession_boringssl_ssl tlsession_boringssl_crypto
  EXPORT tlsessionTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY "${_bssl_include}/openssl"
  DESTINATION "${TLSESSION_BORINGSSL_INSTALL_INCLUDEDIR}")
install(FILES "${_bssl}/LICENSE" DESTINATION "${CMAKE_INSTALL_DATADIR}/tlsession"
  RENAME BORINGSSL-LICENSE)

# The manifest (see TlsessionRules.cmake) carries BoringSSL's compiled
# sources too, compared with @boringssl//:crypto and @boringssl//:ssl.
foreach(_f IN LISTS crypto_sources crypto_sources_linux_x86_64)
  file(RELATIVE_PATH _rel "${_bssl}" "${_f}")
  set_property(GLOBAL APPEND PROPERTY TLSESSION_MANIFEST "@boringssl//:crypto srcs ${_rel}")
endforeach()
foreach(_f IN LISTS ssl_sources)
  file(RELATIVE_PATH _rel "${_bssl}" "${_f}")
  set_property(GLOBAL APPEND PROPERTY TLSESSION_MANIFEST "@boringssl//:ssl srcs ${_rel}")
endforeach()
