#!/usr/bin/env bash
# Resumption across a fleet, in one command: starts a private redis-server
# (loopback, a random password, no persistence) and three tls_echo_server
# instances sharing their TLS 1.2 sessions and their ticket keys through it,
# then shows a session made on instance 1 resuming on instances 2 and 3
# (openssl s_client -sess_out / -sess_in) under TLS 1.2 session IDs, TLS 1.2
# tickets and TLS 1.3, a TLS 1.3 ticket's 0-RTT early data accepted once and
# its replay rejected on every instance (--early-data: the single-use check
# in Redis), and two tls_fleet_client processes sharing one client session
# store. Everything is stopped and removed at the end.
#
#   demos/fleet_demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
./setup.sh >&2
bazel build //tools:tls_echo_server //tools:tls_fleet_client >&2
bin=$(bazel info bazel-bin 2>/dev/null)

work=$(mktemp -d)
chmod 700 "$work"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port: nothing answers on it.
free_port() {
  local p
  for p in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "no free port found" >&2
  exit 1
}

# A CA and a certificate for localhost (made with the openssl tool; the
# library itself only ever uses BoringSSL).
(
  cd "$work"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 1 -subj "/CN=tlsession demo CA" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
    > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 1 -extfile server.ext 2>/dev/null
)

# The fleet key (every instance and client reads the same file) and the
# Redis password, both private files.
(umask 077
 head -c 32 /dev/urandom > "$work/fleet.key"
 head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/redis.password"
 echo >> "$work/redis.password")
password=$(head -n1 "$work/redis.password")

redis_port=$(free_port)
(umask 077
 cat > "$work/redis.conf" <<EOF
port $redis_port
bind 127.0.0.1
protected-mode yes
save ""
appendonly no
daemonize no
dir $work
requirepass $password
maxmemory 64mb
maxmemory-policy volatile-ttl
EOF
)
redis-server "$work/redis.conf" > "$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  REDISCLI_AUTH=$password redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis="redis://127.0.0.1:$redis_port"
echo "redis-server on 127.0.0.1:$redis_port (password in $work/redis.password)"

ports=()
for i in 1 2 3; do
  "$bin/tools/tls_echo_server" --port 0 --name "instance$i" \
    --cert "$work/server.pem" --key "$work/server.key" \
    --session-store "$redis" --ticket-keys "$redis" \
    --redis-password-file "$work/redis.password" \
    --fleet-key "$work/fleet.key" --early-data \
    > "$work/instance$i.out" 2> "$work/instance$i.log" &
  pids+=($!)
  for _ in $(seq 100); do
    grep -q "listening on" "$work/instance$i.out" 2>/dev/null && break
    sleep 0.1
  done
  ports+=("$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' \
    "$work/instance$i.out")")
  echo "instance$i listening on 127.0.0.1:${ports[$((i - 1))]}"
done

# One s_client run: its stdin stays open half a second (long enough for the
# handshake and TLS 1.3 tickets), then s_client says close_notify.
s_client() {
  local port=$1; shift
  (printf 'hello from the demo\n'; sleep 0.5) |
    openssl s_client -connect "127.0.0.1:$port" -servername localhost \
      -CAfile "$work/ca.pem" -verify_return_error "$@" 2>&1 |
    grep -E '^(New|Reused), ' || echo "(no handshake: see $work)"
}

for mode in "TLS 1.2 session IDs:-tls1_2 -no_ticket" \
            "TLS 1.2 tickets:-tls1_2" "TLS 1.3:-tls1_3"; do
  name=${mode%%:*}
  read -r -a flags <<< "${mode#*:}"
  echo
  echo "== $name: a session from instance1, offered to instance2 and instance3"
  sess="$work/session.pem"
  rm -f "$sess"
  echo "instance1: $(s_client "${ports[0]}" "${flags[@]}" -sess_out "$sess")"
  for i in 2 3; do
    echo "instance$i: $(s_client "${ports[$((i - 1))]}" "${flags[@]}" -sess_in "$sess")"
  done
done

echo
echo "== TLS 1.3 0-RTT: a ticket from instance1; its early data to instance2,"
echo "   then the same ticket and early data replayed to instance2 and instance3"
sess="$work/session.pem"
early="$work/early.txt"
rm -f "$sess"
printf 'GET / HTTP/1.0\r\n\r\n' > "$early"
echo "instance1: $(s_client "${ports[0]}" -tls1_3 -sess_out "$sess")"
for i in 2 2 3; do
  echo "instance$i: $( (sleep 0.5) |
    openssl s_client -connect "127.0.0.1:${ports[$((i - 1))]}" \
      -servername localhost -CAfile "$work/ca.pem" -verify_return_error \
      -sess_in "$sess" -early_data "$early" 2>&1 |
    grep -E '^(Reused|New), |^Early data was' | paste -sd ' ' -)"
done

echo
echo "== Two client processes sharing one client session store in Redis"
echo "   (each TLS 1.3 ticket is popped by exactly one of them)"
for c in A B; do
  "$bin/tools/tls_fleet_client" --connect "127.0.0.1:${ports[0]}" \
    --servername localhost --ca "$work/ca.pem" --count 3 \
    --session-store "$redis" --redis-password-file "$work/redis.password" \
    --fleet-key "$work/fleet.key" | sed "s/^/client $c: /"
done

echo
echo "== What Redis holds (names are keyed digests; values are sealed)"
REDISCLI_AUTH=$password redis-cli -p "$redis_port" --scan | sort
echo
echo "== The instances' counters"
for pid in "${pids[@]:1}"; do kill -USR1 "$pid"; done
sleep 0.3
grep -h "stats:" "$work"/instance*.log
