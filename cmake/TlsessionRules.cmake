# Bazel-like rules for tlsession's CMake build.
#
# Each directory's CMakeLists.txt mirrors its BUILD file: the same target
# names, the same srcs/hdrs (relative to the directory) and the same deps,
# written as Bazel labels (":name", "//pkg:name", "//pkg", "@system//:absl",
# "@boringssl//:ssl"). Every rule records its srcs, hdrs and deps; at the end
# of the configure step tlsession_write_manifest() writes them to
# <build>/tlsession-sources.txt, which
# tests/build_consistency/compare_sources.sh compares with `bazel query`.
#
# CMake target names: a library //base:x, //session:x, //tls:x, //fleet:x or
# //ftp_adapter:x is tlsession_x (exported as tlsession::x, archive
# libtlsession_x.a); a rule //tools:x is tlsession_tool_x (the binary
# //tools:ftps: file "ftps", installed; libraries of tools/ are not); test helpers //tests/testing:x are tlsession_testing_x and
# //testbed:x tlsession_testbed_x (neither installed); tests //tests:x are
# tlsession_test_x; //benchmarks:x is tlsession_bench_x.

include_guard(GLOBAL)

# The packages whose libraries are tlsession's installed, exported API.
set(TLSESSION_PUBLIC_PACKAGES base session tls fleet ftp_adapter)

# _tlsession_package(<out>): the Bazel package of the current directory
# ("session", "tests/testing", ...).
function(_tlsession_package out)
  file(RELATIVE_PATH pkg "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  set(${out} "${pkg}" PARENT_SCOPE)
endfunction()

# _tlsession_normalize_label(<out> <label> <package>): the full form
# "//pkg:name" of a label written as ":name", "//pkg" or "//pkg:name";
# external labels ("@repo//:x") are returned unchanged.
function(_tlsession_normalize_label out label pkg)
  if(label MATCHES "^@")
    set(full "${label}")
  elseif(label MATCHES "^:(.+)$")
    set(full "//${pkg}:${CMAKE_MATCH_1}")
  elseif(label MATCHES "^//([^:]+)$")
    get_filename_component(last "${CMAKE_MATCH_1}" NAME)
    set(full "//${CMAKE_MATCH_1}:${last}")
  elseif(label MATCHES "^//[^:]*:.+$")
    set(full "${label}")
  else()
    message(FATAL_ERROR "tlsession: cannot read the label '${label}' in ${pkg}/CMakeLists.txt")
  endif()
  set(${out} "${full}" PARENT_SCOPE)
endfunction()

# _tlsession_target_name(<out> <full label>): the CMake target that builds a
# tlsession label (see the naming rules at the top of this file).
function(_tlsession_target_name out label)
  if(NOT label MATCHES "^//([^:]*):(.+)$")
    message(FATAL_ERROR "tlsession: '${label}' is not a //package:name label")
  endif()
  set(pkg "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  if(pkg IN_LIST TLSESSION_PUBLIC_PACKAGES)
    set(${out} "tlsession_${name}" PARENT_SCOPE)
  elseif(pkg STREQUAL "tools")
    set(${out} "tlsession_tool_${name}" PARENT_SCOPE)
  elseif(pkg STREQUAL "tests/testing")
    set(${out} "tlsession_testing_${name}" PARENT_SCOPE)
  elseif(pkg STREQUAL "testbed")
    set(${out} "tlsession_testbed_${name}" PARENT_SCOPE)
  elseif(pkg STREQUAL "tests")
    set(${out} "tlsession_test_${name}" PARENT_SCOPE)
  elseif(pkg STREQUAL "benchmarks")
    set(${out} "tlsession_bench_${name}" PARENT_SCOPE)
  else()
    message(FATAL_ERROR "tlsession: no CMake target naming rule for package '${pkg}' (${label})")
  endif()
endfunction()

# _tlsession_dep_targets(<out> <package> <labels...>): the CMake targets to
# link for a rule's deps. External labels map to the imported targets of
# Debian's packages and to BoringSSL built here; a tlsession label must name
# a library defined earlier (so that the reverse of the definition order is
# a valid static link order: see tlsession.pc).
function(_tlsession_dep_targets out pkg)
  set(targets "")
  foreach(dep IN LISTS ARGN)
    _tlsession_normalize_label(full "${dep}" "${pkg}")
    if(full STREQUAL "@system//:absl")
      list(APPEND targets ${TLSESSION_ABSL_TARGETS})
    elseif(full STREQUAL "@system//:gtest")
      list(APPEND targets GTest::gmock GTest::gtest)
    elseif(full STREQUAL "@system//:gtest_main")
      list(APPEND targets GTest::gmock GTest::gtest_main)
    elseif(full STREQUAL "@system//:hiredis")
      list(APPEND targets ${TLSESSION_HIREDIS_LIBRARY})
    elseif(full STREQUAL "@system//:benchmark")
      list(APPEND targets benchmark::benchmark)
    elseif(full STREQUAL "@boringssl//:ssl")
      list(APPEND targets tlsession_boringssl_ssl)
    elseif(full STREQUAL "@boringssl//:crypto")
      list(APPEND targets tlsession_boringssl_crypto)
    elseif(full MATCHES "^@")
      message(FATAL_ERROR "tlsession: no CMake mapping for the external dep '${full}' (${pkg}/CMakeLists.txt)")
    else()
      _tlsession_target_name(t "${full}")
      if(NOT TARGET "${t}")
        message(FATAL_ERROR "tlsession: ${pkg}/CMakeLists.txt uses ${full} before it is defined: define libraries after their deps")
      endif()
      list(APPEND targets "${t}")
    endif()
  endforeach()
  set(${out} "${targets}" PARENT_SCOPE)
endfunction()

# _tlsession_record(<label> <package> <srcs> <hdrs> <deps>): appends a rule's
# srcs, hdrs and deps (package-relative names made workspace-relative, deps
# as full labels) to the manifest that tlsession_write_manifest() writes.
function(_tlsession_record label pkg srcs hdrs deps)
  set(lines "")
  foreach(attr srcs hdrs)
    foreach(f IN LISTS ${attr})
      list(APPEND lines "${label} ${attr} ${pkg}/${f}")
    endforeach()
  endforeach()
  foreach(d IN LISTS deps)
    _tlsession_normalize_label(full "${d}" "${pkg}")
    list(APPEND lines "${label} deps ${full}")
  endforeach()
  if(NOT lines)
    set(lines "${label} rule")
  endif()
  set_property(GLOBAL APPEND PROPERTY TLSESSION_MANIFEST ${lines})
endfunction()

# _tlsession_common(<target> <scope>): C++17 and the workspace root as the
# include root ("session/session.h"), in the tree and once installed.
function(_tlsession_common target scope)
  target_compile_features(${target} ${scope} cxx_std_17)
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()

# tlsession_cc_library(NAME <name> [SRCS ...] [HDRS ...] [DEPS ...]
#                      [TESTONLY])
# Mirrors Bazel's cc_library: a static library (an INTERFACE library when it
# has no .cc), public headers, deps linked PUBLIC. Libraries of the public
# packages are installed and exported as tlsession::<name>, with their
# headers under include/<package>/; TESTONLY ones and test helpers are not.
function(tlsession_cc_library)
  cmake_parse_arguments(ARG "TESTONLY" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  _tlsession_package(pkg)
  set(label "//${pkg}:${ARG_NAME}")
  _tlsession_target_name(target "${label}")
  _tlsession_dep_targets(dep_targets "${pkg}" ${ARG_DEPS})
  _tlsession_record("${label}" "${pkg}" "${ARG_SRCS}" "${ARG_HDRS}" "${ARG_DEPS}")

  set(compiled ${ARG_SRCS})
  list(FILTER compiled INCLUDE REGEX "\\.(cc|c|cpp)$")
  if(compiled)
    add_library(${target} STATIC ${ARG_SRCS} ${ARG_HDRS})
    target_link_libraries(${target} PUBLIC ${dep_targets})
    target_compile_options(${target} PRIVATE -Wall -Wno-deprecated-declarations)
    _tlsession_common(${target} PUBLIC)
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE ${dep_targets})
    _tlsession_common(${target} INTERFACE)
  endif()
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${ARG_NAME})
  add_library(tlsession::${ARG_NAME} ALIAS ${target})

  if(pkg IN_LIST TLSESSION_PUBLIC_PACKAGES AND NOT ARG_TESTONLY)
    install(TARGETS ${target} EXPORT tlsessionTargets
      ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(FILES ${ARG_HDRS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${pkg})
    if(compiled)
      set_property(GLOBAL APPEND PROPERTY TLSESSION_INSTALLED_ARCHIVES ${target})
    endif()
  endif()
endfunction()

# tlsession_cc_binary(NAME <name> SRCS ... [DEPS ...] [INSTALL])
# Mirrors Bazel's cc_binary; INSTALL puts it into bin/.
# _tlsession_executable(<out target> <name> <srcs> <deps>): the executable of
# the rule //<this package>:<name>, recorded for the manifest; what
# tlsession_cc_binary and tlsession_cc_test share.
function(_tlsession_executable out name srcs deps)
  _tlsession_package(pkg)
  set(label "//${pkg}:${name}")
  _tlsession_target_name(target "${label}")
  _tlsession_dep_targets(dep_targets "${pkg}" ${deps})
  _tlsession_record("${label}" "${pkg}" "${srcs}" "" "${deps}")
  add_executable(${target} ${srcs})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${name})
  target_link_libraries(${target} PRIVATE ${dep_targets})
  target_compile_options(${target} PRIVATE -Wall -Wno-deprecated-declarations)
  _tlsession_common(${target} PRIVATE)
  set(${out} ${target} PARENT_SCOPE)
endfunction()

function(tlsession_cc_binary)
  cmake_parse_arguments(ARG "INSTALL" "NAME" "SRCS;DEPS" ${ARGN})
  _tlsession_executable(target ${ARG_NAME} "${ARG_SRCS}" "${ARG_DEPS}")
  if(ARG_INSTALL)
    install(TARGETS ${target} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endfunction()

# tlsession_cc_test(NAME <name> SRCS ... [DEPS ...])
# Mirrors Bazel's cc_test: one executable, registered with ctest as one
# test named <name> (like one Bazel test target). HOME is passed as Bazel
# does (--test_env=HOME); each test runs in a fresh temporary folder.
function(tlsession_cc_test)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  _tlsession_executable(target ${ARG_NAME} "${ARG_SRCS}" "${ARG_DEPS}")
  add_test(NAME ${ARG_NAME} COMMAND ${target})
  set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT 300 LABELS tlsession)
endfunction()

# tlsession_write_manifest(<file>): writes every rule's srcs, hdrs and deps,
# one "<label> <attribute> <value>" line each, sorted.
function(tlsession_write_manifest file)
  get_property(lines GLOBAL PROPERTY TLSESSION_MANIFEST)
  list(SORT lines)
  list(JOIN lines "\n" text)
  file(WRITE "${file}" "${text}\n")
endfunction()
