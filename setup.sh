#!/usr/bin/env bash
# Installs what tlsession needs on Debian 12, from Debian's packages only.
# Idempotent: installs only what is missing, running 'apt-get update' once.
# Run as root (or with sudo available).
set -euo pipefail

packages=(
  # Build: Bazel 4.2.3 with its platforms and skylib, offline.
  bazel-bootstrap bazel-platforms bazel-skylib
  # Libraries: BoringSSL, Abseil, GoogleTest, Google Benchmark.
  android-libboringssl-dev libabsl-dev libgtest-dev libbenchmark-dev
  g++
  # Tests: the system trust store and TLS/FTPS peers we did not write.
  ca-certificates openssl curl lftp vsftpd
  # Benchmarks: plots.
  gnuplot-nox
  # Resumption across a fleet (fleet/): Redis 7.0 and hiredis 0.14. Tests
  # start their own redis-server; no system-wide one may keep running.
  redis-server libhiredis-dev
  # Fuzzing: clang with libFuzzer and the sanitizer runtimes.
  clang clang-14 libclang-rt-14-dev
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
