#!/usr/bin/env bash
# The main job: installs what is missing, builds, then
#  1. starts a local vsftpd that requires TLS session reuse on data
#     connections and uploads, lists and downloads a file through `ftps`,
#     which prints for each data connection that the session was resumed;
#  2. shows a full then a resumed TLS handshake with the library itself.
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
bazel build //demos:ftps_demo //tools:ftps //demos:tls_demo
bazel run //demos:ftps_demo
echo
bazel run //demos:tls_demo
