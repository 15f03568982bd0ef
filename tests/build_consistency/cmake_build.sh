#!/usr/bin/env bash
# The CMake build from scratch, outside the tree: configures with Ninja into
# a temporary build folder, builds (-j2, Release), runs the unit tests with
# ctest, installs into a temporary prefix and checks the install (a
# one-file program built with find_package(tlsession) and one built with
# pkg-config, both run).
#
# Usage: tests/build_consistency/cmake_build.sh [--keep]
# Prints "cmake prefix: <dir>" once installed and ends with one line
# "cmake: PASSED" or "cmake: FAILED". A ctest failure still installs and
# checks the install (so that what depends on the install can run), and the
# stage fails at the end. With --keep (or TLSESSION_CMAKE_KEEP=1) the build
# folder and the prefix stay for the caller; otherwise both are removed.
# TLSESSION_CMAKE_WORK=<dir> works in <dir>, an empty folder the caller made
# and removes itself (test.sh: its own scratch folder; prefix <dir>/prefix).
# TLSESSION_CMAKE_BUILD_DIR=<dir> builds in <dir> instead (kept: an
# incremental rebuild); TLSESSION_CMAKE_JOBS sets the parallelism (2).
set -uo pipefail
cd "$(dirname "$0")/../.."
src=$PWD

keep=${TLSESSION_CMAKE_KEEP:-0}
[ "${1:-}" = "--keep" ] && keep=1
jobs=${TLSESSION_CMAKE_JOBS:-2}

if [ -n "${TLSESSION_CMAKE_WORK:-}" ]; then
  work=$TLSESSION_CMAKE_WORK  # The caller's: the caller removes it.
  [ -d "$work" ] || { echo "cmake_build: no folder $work"; echo "cmake: FAILED"; exit 1; }
else
  work=$(mktemp -d /tmp/tlsession-cmake.XXXXXX)
  [ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
fi
build=${TLSESSION_CMAKE_BUILD_DIR:-$work/build}
prefix="$work/prefix"

step() { echo "== cmake: $*"; }
fail() {
  echo "cmake_build: $*" >&2
  echo "cmake: FAILED"
  exit 1
}

start=$(date +%s)
step "configure into $build"
# ccache (Debian's) keeps rebuilds from fresh clones cheap: a cache outside
# the tree, paths taken relative to the checkout so that clones share it.
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR="${HOME:-/root}/.cache/tlsession-ccache"
  export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=true
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_ASM_COMPILER_LAUNCHER=ccache)
fi
cmake -G Ninja -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$prefix" "${launcher[@]}" || fail "configure failed"
step "build (-j$jobs)"
cmake --build "$build" -j "$jobs" || fail "build failed"
echo "cmake_build: built in $(( $(date +%s) - start )) s"
step "ctest"
ctest_ok=yes
(cd "$build" && HOME="${HOME:-/root}" ctest --output-on-failure -j "$jobs") ||
  ctest_ok=no
step "install into $prefix"
cmake --install "$build" || fail "install failed"
echo "cmake prefix: $prefix"

# Nothing may link the system's OpenSSL.
for bin in "$prefix/bin/ftps" "$build"/tests/*_test; do
  if ldd "$bin" | grep -qE 'lib(ssl|crypto)\.so'; then
    fail "$bin links the system's OpenSSL: $(ldd "$bin" | grep -E 'lib(ssl|crypto)\.so')"
  fi
done

# The install as a consumer sees it: find_package and pkg-config.
consumer="$work/consumer"
mkdir -p "$consumer"
cat >"$consumer/main.cc" <<'CC'
// Uses tlsession's API and BoringSSL's headers from the install.
#include <cstdio>
#include <openssl/base.h>
#include "session/client_session_cache.h"
#include "tls/context.h"
int main() {
#ifndef OPENSSL_IS_BORINGSSL
#error "not BoringSSL's headers"
#endif
  tlsession::ContextOptions options;  // a client, the system's trust store
  auto ctx = tlsession::Context::Create(options);
  if (!ctx.ok()) {
    std::printf("consumer: %s\n", ctx.status().ToString().c_str());
    return 1;
  }
  std::printf("consumer: client context %s, SSL_CTX %p\n",
              (*ctx)->id().size() == 32 ? "created" : "odd",
              static_cast<void*>((*ctx)->ssl_ctx()));
  return 0;
}
CC
cat >"$consumer/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer CXX)
find_package(tlsession REQUIRED)
add_executable(app main.cc)
target_link_libraries(app PRIVATE tlsession::tls)
CM
step "consumer with find_package(tlsession)"
cmake -G Ninja -S "$consumer" -B "$consumer/build" \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/consumer.log" 2>&1 &&
  cmake --build "$consumer/build" >>"$work/consumer.log" 2>&1 &&
  "$consumer/build/app" ||
  { cat "$work/consumer.log" >&2; fail "find_package consumer failed"; }
step "consumer with pkg-config"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tlsession ||
  fail "pkg-config failed"
# shellcheck disable=SC2046
g++ -std=c++17 -o "$consumer/app-pc" "$consumer/main.cc" \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs tlsession) &&
  "$consumer/app-pc" || fail "pkg-config consumer failed"

[ "$ctest_ok" = yes ] || fail "ctest failed (see above); the install was made and checked"
echo "cmake_build: done in $(( $(date +%s) - start )) s"
echo "cmake: PASSED"
