#!/usr/bin/env bash
# Builds the examples from a temporary folder OUTSIDE the tlsession tree, the
# ways another project would, and runs each against a local TLS server
# (`openssl s_server -www` with a test PKI made here): every resume_client
# must print a resumed second handshake, every persistent_client a resumed
# second run.
#
#   examples/build_as_consumer.sh bazel             # an external workspace
#   examples/build_as_consumer.sh cmake PREFIX      # find_package(tlsession)
#   examples/build_as_consumer.sh pkgconfig PREFIX  # pkg-config tlsession
#
# PREFIX is where tlsession was installed (cmake --install). Prints one line
# "consumer <way>: PASSED" or "consumer <way>: FAILED" and exits accordingly.
set -uo pipefail
way=${1:?usage: build_as_consumer.sh bazel|cmake|pkgconfig [PREFIX]}
prefix=${2:-}
tree=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tlsession-consumer.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "consumer $way: $*" >&2
  echo "consumer $way: FAILED"
  exit 1
}

# A CA and a certificate for localhost, made with the openssl tool.
make_pki() {
  local d=$work/pki
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=example-ca \
    2>/dev/null || return 1
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/server.key" -out "$d/server.csr" -subj /CN=localhost \
    2>/dev/null || return 1
  printf 'subjectAltName=DNS:localhost\n' >"$d/ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
    -CAcreateserial -days 2 -extfile "$d/ext" -out "$d/server.pem" \
    2>/dev/null
}

# `openssl s_server -www` on a free loopback port; sets $port and
# $server_pid. Ready once it prints "ACCEPT", which it does after listen(2):
# its own word, never a probe that another process holding the port could
# answer. A port taken meanwhile ("Address already in use") is retried on
# another; anything else, or no ACCEPT within 15 s, fails with its output.
start_server() {
  local attempt log=$work/s_server.log
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    openssl s_server -accept "127.0.0.1:$port" -cert "$work/pki/server.pem" \
      -key "$work/pki/server.key" -www >"$log" 2>&1 &
    server_pid=$!
    # tail follows the log (inotify) until s_server exits or 15 s pass; grep
    # returns at the first ACCEPT.
    if grep -q -m1 '^ACCEPT' < <(timeout 15 tail -n +1 -f \
      --pid="$server_pid" "$log"); then
      return 0
    fi
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
    server_pid=""
    grep -q "in use" "$log" || break
  done
  echo "openssl s_server did not start (attempt $attempt); its output:" >&2
  cat "$log" >&2
  return 1
}

# Runs the two examples from folder $1 against the server.
run_examples() {
  local bin=$1 out
  out=$("$bin/resume_client" localhost "$port" "$work/pki/ca.pem" 2>&1)
  echo "$out"
  grep -q "second handshake RESUMED" <<<"$out" ||
    fail "resume_client's second handshake did not resume"
  "$bin/persistent_client" "$work/cache" localhost "$port" \
    "$work/pki/ca.pem" || fail "persistent_client's first run failed"
  out=$("$bin/persistent_client" "$work/cache" localhost "$port" \
    "$work/pki/ca.pem" 2>&1)
  echo "$out"
  grep -q "resumed" <<<"$out" ||
    fail "persistent_client's second run did not resume from its file"
}

copy_sources() {
  mkdir -p "$work/src"
  cp "$tree/examples/resume_client.cc" "$tree/examples/persistent_client.cc" \
    "$work/src/"
}

build_bazel() {
  copy_sources
  cp "$tree/examples/consumer/BUILD.consumer" "$work/src/BUILD"
  cp "$tree/examples/consumer/bazelrc.consumer" "$work/src/.bazelrc"
  # The three lines a consumer's WORKSPACE needs.
  cat >"$work/src/WORKSPACE" <<EOF
local_repository(name = "tlsession", path = "$tree")
load("@tlsession//:deps.bzl", "tlsession_dependencies")
tlsession_dependencies()
EOF
  # tlsession's disk cache makes the rebuild of BoringSSL and the library
  # cheap; an output base of its own keeps the main build's untouched.
  (cd "$work/src" &&
    bazel --output_base="$HOME/.cache/tlsession-consumer-output" build \
      --disk_cache="$HOME/.cache/tlsession-bazel-disk" \
      //:resume_client //:persistent_client) || fail "bazel build failed"
  bin="$work/src/bazel-bin"
}

build_cmake() {
  [ -n "$prefix" ] || fail "no install prefix given"
  copy_sources
  cp "$tree/examples/consumer/CMakeLists.txt" "$work/src/"
  cmake -S "$work/src" -B "$work/build" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
    fail "cmake configure failed (find_package(tlsession))"
  cmake --build "$work/build" || fail "cmake build failed"
  bin="$work/build"
}

build_pkgconfig() {
  [ -n "$prefix" ] || fail "no install prefix given"
  copy_sources
  local flags pc
  pc=$(find "$prefix" -name tlsession.pc -printf '%h\n' | head -1)
  [ -n "$pc" ] || fail "no tlsession.pc under $prefix"
  flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs tlsession) ||
    fail "pkg-config --cflags --libs tlsession failed"
  mkdir -p "$work/bin"
  for p in resume_client persistent_client; do
    # shellcheck disable=SC2086
    g++ -std=c++17 -O1 "$work/src/$p.cc" -o "$work/bin/$p" $flags ||
      fail "g++ $p.cc \$(pkg-config --cflags --libs tlsession) failed"
  done
  bin="$work/bin"
}

make_pki || fail "making the test PKI failed"
case "$way" in
  bazel) build_bazel ;;
  cmake) build_cmake ;;
  pkgconfig) build_pkgconfig ;;
  *) fail "unknown way '$way'" ;;
esac
start_server || fail "openssl s_server did not start"
run_examples "$bin"
echo "consumer $way: PASSED"
