#!/usr/bin/env bash
# HTTP load figures for BENCHMARKS.md ("Audited reads and registrations over HTTP"), each with
# its ceiling measured in the same run: a bare axum server answering the same JSON with no
# session, database, encryption or audit (crates/cli/examples/bare_axum.rs).
#
#   scripts/bench-http.sh                      # SQLite in a temp dir, 50,000 patients
#   PATIENTS=1000 DURATION=3 ROUNDS=1 scripts/bench-http.sh   # a quick look
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/cv_bench scripts/bench-http.sh
#   BIN=/tmp/a/carevault BASE_BIN=/tmp/a/bare_axum scripts/bench-http.sh   # no build
#
# What runs: a release build of `carevault` and of the example; `serve --demo` on a fresh data
# directory (demo accounts), `demo seed --patients $PATIENTS`, then `serve` again. The
# receptionist registers one patient and puts Dr. Smith on its care team; then, in $ROUNDS
# alternating rounds of $DURATION seconds each, wrk (`-t2`, keep-alive) drives:
#   baseline@C   the bare axum server, GET, C connections
#   read@C       GET /api/v1/patients/{id} as Dr. Smith (session, care relation, decrypt, audit)
#   register@C   POST /api/v1/patients as the receptionist, a new name and phone each time
#                (duplicate check, sealed fields, blind indexes, audit, durable before the 201)
# It prints one line per run and, at the end, the median of each scenario and its ratio to
# the baseline at the same connection count. Every response must be 2xx, or the run fails.
# Needs: wrk, curl, python3. Only loopback addresses are used.
set -euo pipefail

PATIENTS=${PATIENTS:-50000}
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-"1 16 64"}
SCENARIOS=${SCENARIOS:-"read register"}
PORT=${PORT:-8197}
BASE_PORT=${BASE_PORT:-8198}
name=bench-http
data=
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

serve --demo
stop_server
start=$(date +%s.%N)
"$bin" demo seed --patients "$PATIENTS" --seed 17 >/dev/null
echo "seeded $PATIENTS patients in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
serve --demo

doctor=$(token drsmith doctor123)
reception=$(token reception staff123)
patient=$(curl -sf -X POST "$url/api/v1/patients" -H "authorization: Bearer $reception" \
    -H 'content-type: application/json' \
    -d '{"given_name":"Bench","family_name":"Readqz","date_of_birth":"1970-01-02","sex":"female","phone":"0161 496 0100"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
start_baseline "$patient"

write_load_scripts

results=$work/results.txt
width=14
for round in $(seq 1 "$ROUNDS"); do
    echo "round $round"
    for c in $CONNECTIONS; do
        run baseline "$c" "http://127.0.0.1:$BASE_PORT/api/v1/patients/$patient"
        for scenario in $SCENARIOS; do
            case $scenario in
            read) run read "$c" "$url/api/v1/patients/$patient" "$work/read.lua" ;;
            register) run register "$c" "$url" "$work/register.lua" ;;
            esac
        done
    done
done

echo
echo "medians over $ROUNDS round(s) of ${DURATION} s; ratio = the scenario's req/s / the baseline's at the same connections"
print_medians
