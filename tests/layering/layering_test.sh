#!/usr/bin/env bash
# The layers hold in the build: copies the part of the tree that a few
# back edges need (base/, session/, tls/, fleet/, testbed/ and the
# workspace files) into the test's scratch folder and runs Bazel there, with
# an output base of its own and the shared disk cache (.bazelrc's):
#   1. the copy as it is builds (so that the check can fail: the copy is a
#      working tree, and only the back edge breaks it);
#   2. //session depending on //tls (a public target) fails: layers.bzl;
#   3. //tls depending on //fleet:redis_client, with layers.bzl's check taken
#      out of tls/BUILD, still fails: fleet/'s package visibility;
#   4. //fleet:fleet_key depending on //testbed:poll (a library on testbed/)
#      fails.
# Each back edge must fail with "is not visible". Prints one line
# "layering: <case>: PASSED|FAILED" per case, then "layering: PASSED" or
# "layering: FAILED".
#
# Run by `bazel test //tests/layering:layering_test` (tagged external: it
# runs Bazel), or directly from a checkout: tests/layering/layering_test.sh.
set -uo pipefail

# The source tree: the runfile //:layers.bzl links to it (the suite runs
# unsandboxed), or this script's checkout when run by hand.
if [ -n "${TEST_SRCDIR:-}" ]; then
  src=$(dirname "$(readlink -f "$TEST_SRCDIR/tlsession/layers.bzl")")
else
  src=$(cd "$(dirname "$0")/../.." && pwd)
fi
scratch=${TEST_TMPDIR:-}
if [ -z "$scratch" ]; then
  scratch=$(mktemp -d /tmp/tlsession-layering.XXXXXX)
  trap 'rm -rf "$scratch"' EXIT
fi
tree="$scratch/tree"
output_base="$scratch/output_base"
log="$scratch/bazel.log"
failures=0

in_tree() {
  (cd "$tree" && bazel --output_base="$output_base" --max_idle_secs=60 "$@")
}
stop_bazel() {
  [ -d "$output_base" ] && in_tree clean --expunge >/dev/null 2>&1
  true
}
trap 'stop_bazel; [ -z "${TEST_TMPDIR:-}" ] && rm -rf "$scratch"' EXIT

result() {  # <case> <ok: 0|1> [detail]
  if [ "$2" = 0 ]; then
    echo "layering: $1: PASSED"
  else
    echo "layering: $1: FAILED${3:+ ($3)}"
    failures=$((failures + 1))
  fi
}

# A fresh copy of the tree's part, with |edit| applied (a shell command run
# in the copy).
fresh_copy() {
  rm -rf "$tree"
  mkdir -p "$tree"
  for p in WORKSPACE deps.bzl BUILD layers.bzl .bazelrc third_party base \
           session tls fleet testbed; do
    cp -a "$src/$p" "$tree/" || return 1
  done
  (cd "$tree" && eval "$1")
}

# Adds |dep| to the deps of rule |name| in |build_file| (of the copy).
add_dep() {
  perl -0pi -e "s#(\n    name = \"$2\",.*?deps = \[)#\$1\"$3\", #s" "$tree/$1"
  grep -q "\"$3\", " "$tree/$1"
}

# A back edge: the build of |target| in a copy edited by |edit| must fail
# with "is not visible".
expect_refused() {  # <case> <edit> <target>
  fresh_copy "$2" || { result "$1" 1 "could not make the copy"; return; }
  if in_tree build --nobuild "$3" >"$log" 2>&1; then
    result "$1" 1 "bazel build $3 succeeded"
  elif grep -q "is not visible" "$log"; then
    grep -m1 -E "Error in fail|ERROR:.*is not visible" "$log" | sed 's/^/  /'
    result "$1" 0
  else
    tail -n 20 "$log" >&2
    result "$1" 1 "failed, but not with 'is not visible'"
  fi
}

fresh_copy true || { echo "layering: FAILED"; exit 1; }
# Visibility is checked when targets are analysed: the unmodified copy
# analyses every target the cases below edit, and builds one library for
# real (without BoringSSL, which the disk cache may not hold yet).
control="unmodified tree builds //base:owned_fd, analyses //session //tls //fleet:fleet_key"
if in_tree build //base:owned_fd >"$log" 2>&1 &&
   in_tree build --nobuild //session //tls //fleet:fleet_key >>"$log" 2>&1; then
  result "$control" 0
else
  tail -n 30 "$log" >&2
  result "$control" 1
fi
expect_refused "session on tls (public target)" \
  'add_dep session/BUILD session //tls' //session
# (redis_reply: a fleet target that does not depend on tls, so the edge is a
# back edge, not a cycle that analysis would report first.)
expect_refused "tls on fleet (package visibility)" \
  'add_dep tls/BUILD tls //fleet:redis_reply &&
   sed -i "/^load(\"\/\/:layers.bzl\"/d" tls/BUILD' //tls
expect_refused "fleet library on testbed" \
  'add_dep fleet/BUILD fleet_key //testbed:poll' //fleet:fleet_key

if [ "$failures" -eq 0 ]; then
  echo "layering: PASSED"
else
  echo "layering: FAILED"
  exit 1
fi
