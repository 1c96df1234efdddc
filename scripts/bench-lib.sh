# Shared by scripts/bench-*.sh (sourced, not run): checks the tools, builds or takes the
# binaries, makes a work directory that goes away at exit with every server started, and
# starts, waits for and stops `carevault serve`.
#
# Before sourcing, set: name (for messages), PORT, and data (the data directory, or empty
# for one inside the work directory). After it: repo, bin, base, work, url, pids, and the
# functions serve [args…], stop_server, token USER PASSWORD, report (set $results first),
# start_baseline PATIENT and write_load_scripts (set $reception and $doctor first), run and
# print_medians (set $results, $width and DURATION first).

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

# The wrk scripts of the load scenarios, in $work: read.lua (Dr. Smith's token, $doctor),
# register.lua (the receptionist's, $reception; a new name and phone on every request, given
# the run's number as wrk's argument) and first_failure.lua, which both use: each wrk thread
# prints the first answer that is not 2xx it sees (the run then fails).
write_load_scripts() {
cat >"$work/first_failure.lua" <<'EOF'
local told = false
function response(status, headers, body)
    if status >= 300 and not told then
        told = true
        io.write("first answer that is not 2xx: ", status, " ", body, "\n")
    end
end
EOF
cat >"$work/read.lua" <<EOF
wrk.headers["authorization"] = "Bearer $doctor"
dofile("$work/first_failure.lua")
EOF
cat >"$work/register.lua" <<EOF
dofile("$work/first_failure.lua")
local threads = 0
function setup(thread)
    threads = threads + 1
    thread:set("tid", threads)
end
local n = 0
local run = 0
function init(args)
    run = tonumber(args[1])
end
local function letters(i)
    local s = ""
    repeat
        s = string.char(97 + i % 26) .. s
        i = math.floor(i / 26)
    until i == 0
    return s
end
function request()
    n = n + 1
    local id = (run * 8 + tid) * 10000000 + n
    local body = string.format(
        '{"given_name":"Load","family_name":"Bench%s","date_of_birth":"1975-05-05","sex":"male","phone":"07%012d"}',
        letters(id), id)
    return wrk.format("POST", "/api/v1/patients", {
        ["authorization"] = "Bearer $reception",
        ["content-type"] = "application/json",
    }, body)
end
EOF

}

# One wrk run of $DURATION s (`-t2`, or `-t1` at one connection), reported into $results with
# the name NAME@C padded to $width.
runs=0
run() { # name connections url [lua]
    local name=$1 c=$2 target_url=$3 script=${4:-}
    local out=$work/wrk.out
    local threads=$((c < 2 ? 1 : 2))
    runs=$((runs + 1))
    wrk -t"$threads" -c"$c" -d"${DURATION}s" --latency ${script:+-s "$script"} "$target_url" -- "$runs" >"$out"
    report "$name@$c" "$out" "$width"
}

# The median of each scenario over the rounds in $results, its ratio to the baseline at the
# same connection count and, for a NAME-pair scenario, to NAME-one.
print_medians() {
    python3 - "$results" "$width" <<'EOF'
import re, statistics, sys
width = int(sys.argv[2])
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)@(\d+)\s+(\d+) req/s\s+p50\s+([\d.]+) ms\s+p99\s+([\d.]+) ms", line)
    if m:
        runs.setdefault((m.group(1), int(m.group(2))), []).append(tuple(map(float, m.group(3, 4, 5))))
for (name, c), values in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0] != "baseline", kv[0][0])):
    rps = statistics.median(v[0] for v in values)
    p50 = statistics.median(v[1] for v in values)
    p99 = statistics.median(v[2] for v in values)
    base = runs.get(("baseline", c))
    ratio = "" if name == "baseline" or not base else f"  ratio {rps / statistics.median(v[0] for v in base):.3f}"
    one = runs.get((name.replace("-pair", "-one"), c)) if name.endswith("-pair") else None
    if one:
        ratio += f"  pair/one {rps / statistics.median(v[0] for v in one):.3f}"
    print(f"{name + '@' + str(c):{width}} {rps:10.0f} req/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms{ratio}")
EOF
}
