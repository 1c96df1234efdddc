# Shared by scripts/bench-*.sh (sourced, not run): checks the tools, builds or takes the
# binaries, makes a work directory that goes away at exit with every server started, and
# starts, waits for and stops `carevault serve`.
#
# Before sourcing, set: name (for messages), PORT, and data (the data directory, or empty
# for one inside the work directory). After it: repo, bin, base, work, url, pids, and the
# functions serve [args…], stop_server, token USER PASSWORD, report (set $results first)
# and start_baseline PATIENT (set $reception and $doctor first).

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}

for tool in wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "$name: $tool is needed" >&2; exit 2; }
done

# BIN and BASE_BIN name binaries built before (to compare two builds); else build them now.
if [[ -z ${BIN:-} || -z ${BASE_BIN:-} ]]; then
    (cd "$repo" && cargo build --quiet --release -p carevault --bin carevault --example bare_axum)
fi
bin=${BIN:-$target/release/carevault}
base=${BASE_BIN:-$target/release/examples/bare_axum}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

export CAREVAULT_DATA_DIR=${data:-$work/data} CAREVAULT_LOG=warn
if [[ -n ${DATABASE_URL:-} ]]; then export CAREVAULT_DATABASE_URL=$DATABASE_URL; fi
url=http://127.0.0.1:$PORT

wait_ready() {
    for _ in $(seq 1 1200); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/readyz") == 200 ]] && return 0
        sleep 0.5
    done
    echo "$name: the server did not become ready" >&2
    exit 1
}

serve() {
    "$bin" serve "$@" --bind "127.0.0.1:$PORT" >>"$work/serve.log" 2>&1 &
    pids+=($!)
    wait_ready
}

stop_server() {
    kill "${pids[-1]}"
    wait "${pids[-1]}" 2>/dev/null || true
    unset 'pids[-1]'
}

token() {
    curl -sf -X POST "$url/api/v1/auth/login" -H 'content-type: application/json' \
        -d "{\"username\":\"$1\",\"password\":\"$2\"}" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# Checks a wrk output file (every answer 2xx, or the run fails) and appends one line to
# $results: NAME, requests per second, p50 and p99 in ms. WIDTH pads the name.
report() { # name wrk-output width
    local name=$1 out=$2 width=$3
    if grep -q 'Non-2xx' "$out"; then
        echo "$name: answers that were not 2xx:" >&2
        cat "$out" >&2
        exit 1
    fi
    python3 - "$name" "$out" "$width" <<'EOF' | tee -a "$results"
import re, sys
name, path, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
text = open(path).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(p):
    m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
print(f"{name:{width}} {rps:10.0f} req/s  p50 {ms(50):8.2f} ms  p99 {ms(99):8.2f} ms")
EOF
}

# Puts Dr. Smith on PATIENT's care team (as the receptionist, token $reception), saves the
# record as he reads it (token $doctor) and serves that JSON from the bare axum baseline on
# $BASE_PORT.
start_baseline() { # patient-id
    curl -sf -o /dev/null -X POST "$url/api/v1/patients/$1/care-team" \
        -H "authorization: Bearer $reception" -H 'content-type: application/json' \
        -d '{"username":"drsmith"}'
    curl -sf "$url/api/v1/patients/$1" -H "authorization: Bearer $doctor" >"$work/patient.json"
    "$base" "127.0.0.1:$BASE_PORT" "$work/patient.json" &
    pids+=($!)
    sleep 0.5
}
