#!/usr/bin/env bash
# Two `carevault serve` processes on one PostgreSQL database behind a loopback HAProxy (issue 17):
# one user's session served by either process, every write visible to the other at once, a
# sign-out honoured by the other within the session cache's bound (1 s, checked at 1.2 s), and
# load through the balancer next to one process alone, with the bare-axum ceiling of the same run.
#
#   scripts/bench-pair.sh                      # cv_pair on 127.0.0.1, 20,000 patients
#   DURATION=2 ROUNDS=1 PATIENTS=1000 CONNECTIONS=16 scripts/bench-pair.sh   # a quick look
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/cv_pair2 scripts/bench-pair.sh
#   BIN=/tmp/a/carevault BASE_BIN=/tmp/a/bare_axum scripts/bench-pair.sh   # no build
#
# What runs: the database named by DATABASE_URL is dropped and created again (psql); `serve
# --demo` on a fresh data directory, `demo seed --patients $PATIENTS --seed 17`, then two `serve
# --demo` on that data directory and database (PORT_A, PORT_B) and HAProxy on PORT (`mode http`,
# `balance roundrobin`, keep-alive: each request goes to the next process). Checks, each of
# which fails the run: the balancer alternates; a receptionist's session signed in through it
# answers 20 times from each process; a patient registered through A is read and found through B
# at once; a sign-out through A is refused by A at once and by B within 1.2 s. Then, in $ROUNDS
# rounds of $DURATION s, wrk (`-t2`, keep-alive) at each of $CONNECTIONS drives:
#   baseline@C        the bare axum server, GET
#   read-one@C        GET /api/v1/patients/{id} as Dr. Smith, process A directly
#   read-pair@C       the same through the balancer
#   register-one@C    POST /api/v1/patients as the receptionist, process A directly
#   register-pair@C   the same through the balancer
# It prints the medians, their ratio to the baseline and of pair to one, and each process's
# resident memory. Needs: PostgreSQL, psql, haproxy, wrk, curl, python3. Only loopback is used.
set -euo pipefail

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/cv_pair}
PATIENTS=${PATIENTS:-20000}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-"16 64"}
PORT=${PORT:-8396}
PORT_A=${PORT_A:-8397}
PORT_B=${PORT_B:-8398}
BASE_PORT=${BASE_PORT:-8399}
HAPROXY=${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}
name=bench-pair
data=

[[ -x $HAPROXY ]] || { echo "$name: haproxy is needed (apt-get install haproxy)" >&2; exit 2; }
command -v psql >/dev/null || { echo "$name: psql is needed" >&2; exit 2; }
[[ $DATABASE_URL =~ ^postgres(ql)?://([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])(:[0-9]+)?/([A-Za-z0-9_]+)$ ]] ||
    { echo "$name: DATABASE_URL must be postgres://[user@]127.0.0.1[:port]/NAME" >&2; exit 2; }
db=${BASH_REMATCH[5]}
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

PGOPTIONS=--client-min-messages=warning psql "${DATABASE_URL%/*}/postgres" -v ON_ERROR_STOP=1 -q -c "DROP DATABASE IF EXISTS \"$db\"" -c "CREATE DATABASE \"$db\""
a_url=http://127.0.0.1:$PORT_A
b_url=http://127.0.0.1:$PORT_B
serve_on() { local PORT=$1 url=http://127.0.0.1:$1; serve --demo; } # bench-lib's serve on PORT
fail() { echo "$name: check failed: $*" >&2; exit 1; }
status() { curl -s -o /dev/null -w '%{http_code}' -X "$1" "$2" -H "authorization: Bearer $3" || true; } # method url token
now_ms() { echo $((${EPOCHREALTIME/[.,]/} / 1000)); }

serve_on "$PORT_A"
stop_server
start=$(date +%s.%N)
"$bin" demo seed --patients "$PATIENTS" --seed 17 >/dev/null
echo "seeded $PATIENTS patients in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
serve_on "$PORT_A"
pid_a=${pids[-1]}
serve_on "$PORT_B"
pid_b=${pids[-1]}

cat >"$work/haproxy.cfg" <<EOF
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend pair
    bind 127.0.0.1:$PORT
    default_backend carevault
backend carevault
    balance roundrobin
    http-response set-header x-served-by %[srv_name]
    server a 127.0.0.1:$PORT_A
    server b 127.0.0.1:$PORT_B
EOF
"$HAPROXY" -c -f "$work/haproxy.cfg" >/dev/null
"$HAPROXY" -f "$work/haproxy.cfg" -db >>"$work/haproxy.log" 2>&1 &
pids+=($!)
wait_ready

# Four requests in a row (one curl, keep-alive) through the balancer go to a, b, a, b (or b, a, …).
served=$(curl -s -o /dev/null -D - "$url/readyz" "$url/readyz" "$url/readyz" "$url/readyz" |
    tr -d '\r' | sed -n 's/^x-served-by: //ip' | paste -sd ' ')
[[ $served == "a b a b" || $served == "b a b a" ]] || fail "the balancer sent four requests in a row to: $served"
echo "check: the balancer alternates per request ($served): ok"

reception=$(token reception staff123) || fail "the receptionist cannot sign in through the balancer"
doctor=$(token drsmith doctor123) || fail "Dr. Smith cannot sign in through the balancer"
for target in "$a_url" "$b_url"; do
    for _ in $(seq 1 20); do
        code=$(status GET "$target/api/v1/auth/me" "$reception")
        [[ $code == 200 ]] || fail "GET $target/api/v1/auth/me answered $code"
    done
done
echo "check: session from either process (20 + 20 x /auth/me): ok"

patient=$(curl -sf -X POST "$a_url/api/v1/patients" -H "authorization: Bearer $reception" \
    -H 'content-type: application/json' \
    -d '{"given_name":"Pairread","family_name":"Pairqz","date_of_birth":"1970-01-02","sex":"female","phone":"0161 496 0100","register_anyway":true}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])') || fail "registration through A"
given=$(curl -sf "$b_url/api/v1/patients/$patient" -H "authorization: Bearer $reception" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["given_name"])') || given="(no 200)"
[[ $given == Pairread ]] || fail "B read patient $patient registered through A as: $given"
echo "check: a patient registered through A read through B at once: ok"
total=$(curl -sf "$b_url/api/v1/patients?q=Pairqz" -H "authorization: Bearer $reception" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') || total="(no 200)"
[[ $total =~ ^[0-9]+$ && $total -ge 1 ]] || fail "search through B for Pairqz found: $total"
echo "check: that patient found through B's search at once ($total): ok"

# B reads the session afresh (its cached entry from above is past the bound after 1.1 s) and
# caches it just before the sign-out through A: the delay measured is then the worst case.
sleep 1.1
[[ $(status GET "$b_url/api/v1/auth/me" "$reception") == 200 ]] || fail "B refused the session before the sign-out"
signed_out=$(now_ms)
code=$(status POST "$a_url/api/v1/auth/logout" "$reception")
[[ $code == 204 ]] || fail "POST /api/v1/auth/logout through A answered $code"
code=$(status GET "$a_url/api/v1/auth/me" "$reception")
[[ $code == 401 ]] || fail "A answered $code for the signed-out token"
while code=$(status GET "$b_url/api/v1/auth/me" "$reception"); [[ $code == 200 ]]; do
    (($(now_ms) - signed_out <= 3000)) || break
    sleep 0.02
done
elapsed=$(($(now_ms) - signed_out))
[[ $code == 401 ]] || fail "B still answered $code for the signed-out token after $elapsed ms"
((elapsed <= 1200)) || fail "B refused the signed-out token only after $elapsed ms (bound 1200 ms)"
echo "check: signed out through A: 401 from A at once, from B after $elapsed ms (bound 1000 ms + 200): ok"

reception=$(token reception staff123)
start_baseline "$patient"

write_load_scripts

results=$work/results.txt
width=18
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round"
    for c in $CONNECTIONS; do
        run baseline "$c" "http://127.0.0.1:$BASE_PORT/api/v1/patients/$patient"
        run read-one "$c" "$a_url/api/v1/patients/$patient" "$work/read.lua"
        run read-pair "$c" "$url/api/v1/patients/$patient" "$work/read.lua"
        run register-one "$c" "$a_url" "$work/register.lua"
        run register-pair "$c" "$url" "$work/register.lua"
    done
done

echo
echo "medians over $ROUNDS round(s) of ${DURATION} s; ratio = the scenario's req/s / the baseline's at the same connections;"
echo "pair/one = req/s through the balancer / req/s of process A alone"
print_medians

echo
for process in "A $pid_a" "B $pid_b"; do
    read -r which pid <<<"$process"
    echo "process $which (pid $pid): $(awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 }
        END { print "VmRSS " r " kB, peak VmHWM " h " kB" }' "/proc/$pid/status")"
done
