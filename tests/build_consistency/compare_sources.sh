#!/usr/bin/env bash
# Compares the source lists of the two builds: for every rule the CMake
# build defines (it writes them, at configure time, to
# <build>/tlsession-sources.txt: see cmake/TlsessionRules.cmake), its srcs,
# hdrs and deps must be those of the Bazel rule of the same label, as
# `bazel query` reads them; every rule of the public packages (base/,
# session/, tls/, fleet/, ftp_adapter/) and of tools/ and demos/ must exist
# in both, except the Bazel-only rules
# below; and BoringSSL's compiled sources (android-sources.cmake for CMake,
# BUILD.generated.bzl for Bazel) must be the same files.
#
# Usage: tests/build_consistency/compare_sources.sh [<cmake build dir>]
# Without a build dir, configures the CMake build into a temporary folder.
# Prints one line "build_consistency sources: PASSED" or "...: FAILED".
set -uo pipefail
cd "$(dirname "$0")/../.."

# Bazel rules of the compared packages that the CMake build leaves out, on
# purpose: the demos run vsftpd and a TLS server from testbed/ and need
# Bazel's runfiles or vsftpd; the two fleet tools serve the fleet tests and
# demos/fleet_demo.sh, both Bazel-only. Rules of testbed/, tests/testing/,
# tests/ and benchmarks/ are compared when the CMake build defines them (it builds
# only what ctest needs); their rules that only Bazel builds are not checked.
BAZEL_ONLY=(//demos:tls_demo //demos:ftps_demo //tools:tls_echo_server
  //tools:tls_fleet_client)

fail() {
  echo "compare_sources: $*" >&2
  echo "build_consistency sources: FAILED"
  exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

build=${1:-}
if [ -z "$build" ]; then
  build="$tmp/build"
  cmake -S . -B "$build" -G Ninja -DTLSESSION_BUILD_BENCHMARKS=ON \
    >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; fail "cmake configure failed"; }
fi
manifest="$build/tlsession-sources.txt"
[ -s "$manifest" ] || fail "no $manifest (configure the CMake build first)"

# Bazel's side, in the manifest's format. Rules without selects: a plain
# query reads their attributes. BoringSSL's crypto selects its assembly by
# platform: cquery gives the sources configured for this machine.
labels=$(awk '$1 !~ /^@/ {print $1}' "$manifest" | sort -u | tr '\n' ' ')
query="kind(rule, //base:all + //session:all + //tls:all + //fleet:all + //ftp_adapter:all + //tools:all + //demos:all) + ${labels// / + }"
query=${query% + }
bazel query --output=xml "$query" >"$tmp/rules.xml" 2>"$tmp/query.log" ||
  { cat "$tmp/query.log" >&2; fail "bazel query failed"; }
for t in crypto ssl; do
  bazel cquery "labels(srcs, @boringssl//:$t)" --output=label \
    >"$tmp/bssl_$t.txt" 2>"$tmp/cquery.log" ||
    { cat "$tmp/cquery.log" >&2; fail "bazel cquery failed"; }
done

python3 - "$manifest" "$tmp" "${BAZEL_ONLY[@]}" <<'PY' || fail "the CMake and Bazel builds differ (above)"
import re, sys, xml.etree.ElementTree as ET

manifest, tmp, bazel_only = sys.argv[1], sys.argv[2], set(sys.argv[3:])
public = ("//base:", "//session:", "//tls:", "//fleet:", "//ftp_adapter:",
          "//tools:", "//demos:")

def path_of(label):
    """'//session:a.cc' -> 'session/a.cc'; '@boringssl//:src/x.c' -> 'src/x.c'."""
    m = re.match(r"^(@[^/]*)?//([^:]*):(.*)$", label)
    pkg, name = m.group(2), m.group(3)
    return f"{pkg}/{name}" if pkg else name

cmake = {}
for line in open(manifest):
    parts = line.split()
    if not parts:
        continue
    rule = cmake.setdefault(parts[0], set())
    if len(parts) == 3:
        rule.add((parts[1], parts[2]))

bazel = {}
for r in ET.parse(f"{tmp}/rules.xml").getroot().iter("rule"):
    name = r.get("name")
    entries = set()
    for lst in r.findall("list"):
        attr = lst.get("name")
        if attr not in ("srcs", "hdrs", "deps"):
            continue
        for lab in lst.findall("label"):
            v = lab.get("value")
            entries.add((attr, v if attr == "deps" else path_of(v)))
    bazel[name] = entries
for t in ("crypto", "ssl"):
    entries = set()
    for line in open(f"{tmp}/bssl_{t}.txt"):
        label = line.split()[0]
        p = path_of(label)
        if re.search(r"\.(c|cc|S)$", p):
            entries.add(("srcs", p))
    bazel[f"@boringssl//:{t}"] = entries

errors = 0
def report(msg):
    global errors
    errors += 1
    print(msg, flush=True)

for label in sorted(cmake):
    if label not in bazel:
        report(f"{label}: in the CMake build, no such Bazel rule")
        continue
    for attr, v in sorted(cmake[label] - bazel[label]):
        report(f"{label}: {attr} {v}: only in the CMake build")
    for attr, v in sorted(bazel[label] - cmake[label]):
        report(f"{label}: {attr} {v}: only in the Bazel build")
for label in sorted(bazel):
    if label.startswith(public) and label not in cmake and label not in bazel_only:
        report(f"{label}: a Bazel rule the CMake build lacks (add it to its "
               f"CMakeLists.txt, or to BAZEL_ONLY in compare_sources.sh)")
print(f"compare_sources: {len(cmake)} rules compared, {errors} differences")
sys.exit(1 if errors else 0)
PY
echo "build_consistency sources: PASSED"
