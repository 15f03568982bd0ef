#!/usr/bin/env bash
# ftps against lftp (mirror, mirror -R) and wget (-r) on the same trees,
# downloads and uploads, over explicit FTPS with TLS session reuse required
# (vsftpd, require_ssl_reuse=YES): small/ (200 x 4 KiB in nested folders)
# and large/ (20 x 10 MiB in nested folders). Each cell runs RUNS times
# (default 3), the tools interleaved, into a fresh folder; the table shows
# median wall seconds and each tool's ratio to ftps (above 1: ftps faster).
#
#   benchmarks/ftps_tools_compare.sh [TLS_VERSION (1.3)] [RUNS (3)]
set -euo pipefail
cd "$(dirname "$0")/.."
tls=${1:-1.3}
runs=${2:-3}
bazel build -c opt //tools:ftps //benchmarks:ftp_trees_server >&2
bin=$(bazel info -c opt bazel-bin 2>/dev/null)
scratch=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
# The server serves until its stdin (this pipe) closes.
mkfifo "$scratch/hold"
"$bin/benchmarks/ftp_trees_server" "$scratch" "$tls" <"$scratch/hold" \
  >"$scratch/server.log" 2>&1 &
server_pid=$!
exec 7>"$scratch/hold"
for _ in $(seq 120); do [ -f "$scratch/ready" ] && break; sleep 0.5; done
[ -f "$scratch/ready" ] || { cat "$scratch/server.log" >&2; exit 1; }
port=$(cat "$scratch/port")
root=$(cat "$scratch/root")
ca="$scratch/ca.pem"
user=tlsftp
pass=tlsftp-pass
url="ftp://$user:$pass@localhost:$port"
lftp_set="set ssl:ca-file $ca; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ftp:ssl-protect-list yes"
cp -r "$root/small" "$scratch/src_small"
cp -r "$root/large" "$scratch/src_large"

# Prints the wall seconds of the command "$@".
seconds() {
  /usr/bin/time -f %e -o "$scratch/t" "$@" >/dev/null 2>"$scratch/err" || {
    echo "failed: $*" >&2
    cat "$scratch/err" >&2
    exit 1
  }
  cat "$scratch/t"
}

# The command line of TOOL for CASE (down_small, up_large...) into a new
# folder (downloads) or a new remote folder (uploads) for run N.
command_for() {
  local tool=$1 case=$2 n=$3
  local tree=${case#*_} dest="$scratch/out_${tool}_${case}_$n"
  case "$tool/${case%%_*}" in
    ftps/down) echo "$bin/tools/ftps -q --cacert $ca mirror $url/$tree $dest" ;;
    ftps/up) echo "$bin/tools/ftps -q --cacert $ca mirror -R $scratch/src_$tree $url/up/ftps_${tree}_$n" ;;
    lftp/down) echo "lftp -c \"$lftp_set; open -u $user,$pass -p $port localhost; mirror $tree $dest\"" ;;
    lftp/up) echo "lftp -c \"$lftp_set; open -u $user,$pass -p $port localhost; mirror -R $scratch/src_$tree up/lftp_${tree}_$n\"" ;;
    wget/down) echo "wget -q -r -nH -P $dest --ca-certificate=$ca ftps://$user:$pass@localhost:$port/$tree/" ;;
    *) echo "" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '| TLS %s, vsftpd | ftps s | lftp s | wget s | lftp/ftps | wget/ftps |\n' "$tls"
printf '| --- | --- | --- | --- | --- | --- |\n'
for case in down_small down_large up_small up_large; do
  declare -A times=()
  for n in $(seq "$runs"); do
    for tool in ftps lftp wget; do
      cmd=$(command_for "$tool" "$case" "$n")
      [ -z "$cmd" ] && continue
      times[$tool]+="$(seconds bash -c "$cmd") "
    done
    rm -rf "$scratch"/out_*
  done
  f=$(echo "${times[ftps]}" | tr ' ' '\n' | grep . | median)
  l=$(echo "${times[lftp]}" | tr ' ' '\n' | grep . | median)
  w=-
  [ -n "${times[wget]:-}" ] && w=$(echo "${times[wget]}" | tr ' ' '\n' | grep . | median)
  rl=$(awk -v a="$l" -v b="$f" 'BEGIN {printf "%.2f", a / b}')
  rw=-
  [ "$w" != - ] && rw=$(awk -v a="$w" -v b="$f" 'BEGIN {printf "%.2f", a / b}')
  printf '| %s | %s | %s | %s | %s | %s |\n' "$case" "$f" "$l" "$w" "$rl" "$rw"
  unset times
done
