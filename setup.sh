#!/usr/bin/env bash
# Installs what tlsession needs on Debian 12, from Debian's packages only.
# Idempotent: installs only what is missing, running 'apt-get update' once.
# Run as root (or with sudo available).
set -euo pipefail

packages=(
  # Build: Bazel 4.2.3 with its platforms and skylib, offline.
  bazel-bootstrap bazel-platforms bazel-skylib
  # Build: the CMake build (CMakeLists.txt) and its install's pkg-config file.
  cmake ninja-build pkg-config ccache
  # Libraries: Abseil, GoogleTest, Google Benchmark. (BoringSSL is built
  # from Debian's source package, unpacked below; dpkg-dev unpacks it.)
  libabsl-dev libgtest-dev libbenchmark-dev
  g++ dpkg-dev
  # Tests: the system trust store and TLS/FTPS peers we did not write.
  ca-certificates openssl curl lftp vsftpd
  # 0-RTT interop (tests/early_data_interop_test): gnutls-serv --earlydata.
  gnutls-bin
  # Benchmarks: plots. Line coverage (tests/coverage.sh): lcov.
  gnuplot-nox lcov
  # Resumption across a fleet (fleet/): Redis 7.0 and hiredis 0.14. Tests
  # start their own redis-server; no system-wide one may keep running.
  redis-server libhiredis-dev
  # Fuzzing and the sanitizer builds: clang with libFuzzer and the sanitizer
  # runtimes. Formatting: clang-format (tests/build_consistency/format_check.sh);
  # buildifier comes through npm, below.
  clang clang-14 libclang-rt-14-dev clang-format
  # ProFTPD's shared libraries (ProFTPD itself is unpacked below).
  libacl1 libcap2 libcrypt1 libhiredis0.14 libidn2-0 libmemcached11
  libmemcachedutil2 libncursesw6 libpam0g libpcre2-8-0 libpcre2-posix3
  libsodium23 libssl3 libtinfo6 zlib1g
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

updated=no
apt_update() {
  if [ "$updated" = no ]; then
    $SUDO apt-get update -q
    updated=yes
  fi
}

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  apt_update
  # Never start services while installing: vsftpd would start system-wide.
  policy=/usr/sbin/policy-rc.d
  had_policy=no
  [ -e "$policy" ] && had_policy=yes
  if [ "$had_policy" = no ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
  [ "$had_policy" = yes ] || $SUDO rm -f "$policy"
fi

# BoringSSL's source, from Debian's source package
# android-platform-external-boringssl (the source of the android-libboringssl
# binaries, BoringSSL at the revision in its BORINGSSL_REVISION), built by
# Bazel as the workspace's @boringssl repository (see WORKSPACE). Debian's own
# binaries are built with -DOPENSSL_SMALL, which drops BoringSSL's fast P-256.
# Fetched once and unpacked into a folder outside the work tree; a stamp with
# the pinned version makes later runs do nothing.
boringssl_src=/opt/tlsession/boringssl-src
boringssl_package=android-platform-external-boringssl
boringssl_version=13.0.0+r24-2
# The .dsc's SHA-256 (it lists the tarballs' checksums, which dpkg-source
# checks): apt checks it against the mirror's signed Sources index, and this
# pin against a different upload of the same version.
boringssl_dsc_sha256=7da1c07f669b05f417cbf3e0a784a1a9d844ce138616e02b3a228fc20645ef37
boringssl_stamp="$boringssl_src/.tlsession-source"
if [ "$(cat "$boringssl_stamp" 2>/dev/null)" != "$boringssl_package $boringssl_version" ]; then
  echo "setup: fetching $boringssl_package $boringssl_version (source) into $boringssl_src" >&2
  # 'apt-get source' needs a deb-src entry: add one for the Debian mirror
  # that this machine's own 'deb' entries already name, never another host.
  . /etc/os-release
  src_list=/etc/apt/sources.list.d/tlsession-deb-src.sources
  has_src=$(apt-get indextargets --format '$(REPO_URI)' \
    "Identifier: Sources" "Codename: $VERSION_CODENAME" "Component: main" \
    "Origin: Debian" 2>/dev/null | head -1)
  if [ -z "$has_src" ]; then
    mirror=$(apt-get indextargets --format '$(REPO_URI)' \
      "Identifier: Packages" "Target-Of: deb" "Codename: $VERSION_CODENAME" \
      "Component: main" "Origin: Debian" 2>/dev/null | head -1)
    if [ -z "$mirror" ]; then
      # No list downloaded yet: read the mirror from the entries themselves.
      apt_update
      mirror=$(apt-get indextargets --format '$(REPO_URI)' \
        "Identifier: Packages" "Target-Of: deb" "Codename: $VERSION_CODENAME" \
        "Component: main" "Origin: Debian" 2>/dev/null | head -1)
    fi
    if [ -z "$mirror" ]; then
      echo "setup: no 'deb' entry for Debian $VERSION_CODENAME main found in /etc/apt/sources.list{,.d}" >&2
      exit 1
    fi
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    {
      echo "# Added by tlsession's setup.sh: Debian's source packages from the"
      echo "# mirror this machine's 'deb' entries name (for BoringSSL's source)."
      echo "Types: deb-src"
      echo "URIs: $mirror"
      echo "Suites: $VERSION_CODENAME"
      echo "Components: main"
      [ -e "$keyring" ] && echo "Signed-By: $keyring"
    } | $SUDO tee "$src_list" >/dev/null
    updated=no
  fi
  if ! apt-cache showsrc --only-source "$boringssl_package" 2>/dev/null |
      grep -qx "Version: $boringssl_version"; then
    apt_update
  fi
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  # apt downloads as its unprivileged user _apt when it can write there.
  id _apt >/dev/null 2>&1 && $SUDO chown _apt "$tmp"
  (cd "$tmp" && $SUDO apt-get source -q --download-only \
    "$boringssl_package=$boringssl_version")
  dsc="$tmp/${boringssl_package}_${boringssl_version}.dsc"
  if ! echo "$boringssl_dsc_sha256  $dsc" | sha256sum --check --quiet; then
    echo "setup: $dsc does not match the pinned SHA-256" >&2
    exit 1
  fi
  # dpkg-source checks the tarballs against the .dsc and applies Debian's
  # patches: the tree Debian builds from.
  $SUDO rm -rf "$boringssl_src.new"
  $SUDO mkdir -p "$(dirname "$boringssl_src")"
  $SUDO dpkg-source --no-copy -x "$dsc" "$boringssl_src.new" >&2
  # The tree ships BUILD and BUILD.generated.bzl; a WORKSPACE file makes it
  # a repository that WORKSPACE's local_repository can name.
  echo 'workspace(name = "boringssl")' | $SUDO tee "$boringssl_src.new/WORKSPACE" >/dev/null
  echo "$boringssl_package $boringssl_version" | $SUDO tee "$boringssl_src.new/.tlsession-source" >/dev/null
  $SUDO rm -rf "$boringssl_src"
  $SUDO mv "$boringssl_src.new" "$boringssl_src"
  $SUDO rm -rf "$tmp"
fi

# buildifier, Bazel's BUILD formatter, from the npm registry's
# @bazel/buildifier package (it ships the binary; npm checks the package
# against the registry's integrity hash), pinned, into a folder of its own.
buildifier_version=8.2.1
buildifier_root=/opt/tlsession/npm
if ! "$buildifier_root/node_modules/.bin/buildifier" --version 2>/dev/null |
    grep -q "buildifier version: $buildifier_version"; then
  echo "setup: installing buildifier $buildifier_version into $buildifier_root" >&2
  if ! command -v npm >/dev/null 2>&1; then  # Debian's, unless Node's is there.
    apt_update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm
  fi
  $SUDO mkdir -p "$buildifier_root"
  $SUDO npm install --no-audit --no-fund --prefix "$buildifier_root" \
    "@bazel/buildifier@$buildifier_version" >&2
fi

# Tests and demos start their own redis-server on a free loopback port: the
# system-wide service that the package installs must never run (it would
# hold port 6379 with no password). Stop and disable it if it ever started.
if command -v redis-server >/dev/null 2>&1; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/redis-server ]; then
    $SUDO /etc/init.d/redis-server stop >/dev/null 2>&1 || true
    $SUDO update-rc.d redis-server disable >/dev/null 2>&1 || true
  fi
fi

# ProFTPD (with mod_tls from proftpd-mod-crypto) conflicts with vsftpd as a
# package (both provide ftp-server): unpack it into a private folder.
proftpd_root=/opt/tlsession/proftpd
if [ ! -x "$proftpd_root/usr/sbin/proftpd" ] || [ ! -e "$proftpd_root/usr/lib/proftpd/mod_tls.so" ]; then
  echo "setup: unpacking ProFTPD into $proftpd_root" >&2
  apt_update
  tmp=$(mktemp -d)
  chmod 755 "$tmp"
  (cd "$tmp" && $SUDO apt-get download proftpd-core proftpd-mod-crypto)
  $SUDO mkdir -p "$proftpd_root"
  for deb in "$tmp"/*.deb; do $SUDO dpkg -x "$deb" "$proftpd_root"; done
  rm -rf "$tmp"
fi

# The system user the FTPS tests log in as (vsftpd authenticates through
# PAM, which wants a real user whose shell is in /etc/shells).
if ! id tlsftp >/dev/null 2>&1; then
  $SUDO useradd -m -s /bin/bash tlsftp
fi
if ! $SUDO grep -q '^tlsftp:\$' /etc/shadow; then
  echo 'tlsftp:tlsftp-pass' | $SUDO chpasswd
fi
