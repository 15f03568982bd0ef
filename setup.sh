#!/usr/bin/env bash
# Installs what tlsession needs on Debian 12, from Debian's packages only.
# Idempotent: installs only what is missing, running 'apt-get update' once.
set -euo pipefail

packages=(
  # Build: Bazel 4.2.3 with its platforms and skylib, offline.
  bazel-bootstrap bazel-platforms bazel-skylib
  # Libraries: BoringSSL, Abseil, GoogleTest, Google Benchmark.
  android-libboringssl-dev libabsl-dev libgtest-dev libbenchmark-dev
  g++
  # Tests: the system trust store and a TLS peer we did not write.
  ca-certificates openssl
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  # Never start services while installing (vsftpd would start system-wide).
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -q \
    --no-install-recommends "${missing[@]}"
fi
