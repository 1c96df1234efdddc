#!/usr/bin/env bash
# Figures at the scale of a large hospital for BENCHMARKS.md ("At 1,000,000 patients"): the
# time to seed the registry, patient search, pages and API lists, and the server's resident
# memory — each search with the bare-axum ceiling measured in the same run.
#
#   scripts/bench-scale.sh                           # SQLite in a temp dir, 1,000,000 patients
#   PATIENTS=20000 DURATION=3 scripts/bench-scale.sh # a quick look
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/cv_scale scripts/bench-scale.sh
#   BIN=/tmp/a/carevault BASE_BIN=/tmp/a/bare_axum scripts/bench-scale.sh   # no build
#   KEEP=/tmp/scale scripts/bench-scale.sh           # keep (or reuse) the seeded data directory
#
# What runs: a release build of `carevault` and of the bare-axum example (unless BIN and
# BASE_BIN are given); `serve --demo` on a fresh data directory (the demo accounts and their
# records), then `demo seed --patients $PATIENTS --seed 17` (timed), then `serve --demo`
# again. Then, with wrk (keep-alive; `-t1` at one connection, `-t2` above):
#   search-name@C      GET /api/v1/patients?q=<family name> as the receptionist
#   search-name-dob@C  q=<family name> <date of birth>
#   search-mrn@C       q=<MRN>
#   search-soundalike@C q=<a family name spelled another way> (sound-alike match)
#   baseline@C         the bare axum server answering a fixed patient JSON
# each for $DURATION s at 1 and 16 connections; then each page and API list in PAGES below
# for $PAGE_DURATION s at one connection (p50 and p99), signed in as the role that uses it.
# Last, the server's resident memory (VmRSS and its peak VmHWM from /proc). Every answer must
# be 2xx, or the run fails. Needs: wrk, curl, python3. Only loopback addresses are used.
set -euo pipefail

PATIENTS=${PATIENTS:-1000000}
DURATION=${DURATION:-8}
PAGE_DURATION=${PAGE_DURATION:-4}
CONNECTIONS=${CONNECTIONS:-"1 16"}
PORT=${PORT:-8297}
BASE_PORT=${BASE_PORT:-8298}
name=bench-scale
data=${KEEP:-}
# shellcheck source=scripts/bench-lib.sh
source "$(dirname "$0")/bench-lib.sh"

if [[ -n ${KEEP:-} && -e $KEEP/.seeded ]]; then
    echo "reusing the $(cat "$KEEP/.seeded") patients seeded in $KEEP"
else
    serve --demo
    stop_server
    start=$(date +%s.%N)
    "$bin" demo seed --patients "$PATIENTS" --seed 17 >/dev/null
    echo "seeded $PATIENTS patients in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
    if [[ -n ${KEEP:-} ]]; then echo "$PATIENTS" >"$KEEP/.seeded"; fi
fi
serve --demo
server_pid=${pids[-1]}

# A signed-in browser session's Cookie header (the sign-in form, as a browser posts it).
cookie() {
    python3 - "$url" "$1" "$2" <<'EOF'
import http.client, re, sys, urllib.parse
base, user, password = sys.argv[1:4]
host = urllib.parse.urlsplit(base).netloc
conn = http.client.HTTPConnection(host)
conn.request("GET", "/login")
r = conn.getresponse()
page = r.read().decode()
jar = {}
def keep(resp):
    for name, value in resp.getheaders():
        if name.lower() == "set-cookie":
            k, v = value.split(";", 1)[0].split("=", 1)
            jar[k] = v
keep(r)
nonce = re.search(r'name="nonce" value="([^"]*)"', page).group(1)
body = urllib.parse.urlencode({"nonce": nonce, "next": "/", "username": user, "password": password})
conn.request("POST", "/login", body, {
    "content-type": "application/x-www-form-urlencoded", "origin": base,
    "cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
r = conn.getresponse(); r.read(); keep(r)
assert r.status in (302, 303), r.status
print("; ".join(f"{k}={v}" for k, v in jar.items() if v))
EOF
}
doctor=$(token drsmith doctor123)
reception=$(token reception staff123)
auditor=$(token auditor audit123)

# A patient of the seed (newest first) gives the search terms; Dr. Smith joins its care team.
curl -sf "$url/api/v1/patients?sort=oldest&per_page=1&q=Smith" -H "authorization: Bearer $reception" >"$work/one.json"
read -r patient family dob mrn < <(python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))["items"][0]
print(p["id"], p["family_name"], p["date_of_birth"], p["mrn"])' "$work/one.json")
start_baseline "$patient"

admin_cookie=$(cookie admin admin123)
doctor_cookie=$(cookie drsmith doctor123)
reception_cookie=$(cookie reception staff123)
auditor_cookie=$(cookie auditor audit123)

results=$work/results.txt
measure() { # name threads connections duration url header
    local name=$1 t=$2 c=$3 d=$4 target_url=$5 header=$6 out=$work/wrk.out
    wrk -t"$t" -c"$c" -d"${d}s" --latency -H "$header" "$target_url" >"$out"
    report "$name" "$out" 34
}
q() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1"; }

# The sound-alike: the same family name with its vowels changed (Smith → Smyth, …).
soundalike=$(python3 -c '
import sys
name = sys.argv[1]
swap = {"a": "e", "e": "a", "i": "y", "o": "u", "u": "o", "y": "i"}
print(name[0] + "".join(swap.get(c, c) for c in name[1:]))' "$family")
echo "searching for $family, \"$family $dob\", $mrn and $soundalike among $PATIENTS patients"

for c in $CONNECTIONS; do
    t=$((c < 2 ? 1 : 2))
    measure "baseline@$c" "$t" "$c" "$DURATION" "http://127.0.0.1:$BASE_PORT/api/v1/patients/$patient" "x-bench: 1"
    measure "search-name@$c" "$t" "$c" "$DURATION" "$url/api/v1/patients?q=$(q "$family")" "authorization: Bearer $reception"
    measure "search-name-dob@$c" "$t" "$c" "$DURATION" "$url/api/v1/patients?q=$(q "$family $dob")" "authorization: Bearer $reception"
    measure "search-mrn@$c" "$t" "$c" "$DURATION" "$url/api/v1/patients?q=$(q "$mrn")" "authorization: Bearer $reception"
    measure "search-soundalike@$c" "$t" "$c" "$DURATION" "$url/api/v1/patients?q=$(q "$soundalike")" "authorization: Bearer $reception"
done

# A doctor's day of 80 appointments: Dr. Smith's calendar on a weekday four weeks ahead (his
# hours are 08:00–12:00 and 13:00–17:00, 96 slots of 5 minutes), booked by the receptionist
# for 80 seeded patients in the first free slots.
read -r smith day < <(curl -sf "$url/api/v1/auth/me" -H "authorization: Bearer $doctor" | python3 -c '
import datetime, json, sys
day = datetime.date.today() + datetime.timedelta(days=28)
while day.weekday() >= 5:
    day += datetime.timedelta(days=1)
print(json.load(sys.stdin)["id"], day)')
curl -sf "$url/api/v1/patients?per_page=100" -H "authorization: Bearer $reception" >"$work/day-patients.json"
python3 - "$url" "$reception" "$smith" "$day" "$work/day-patients.json" <<'PY'
import datetime, json, sys, urllib.error, urllib.request
url, token, smith, day, patients = sys.argv[1:6]
ids = [p["id"] for p in json.load(open(patients))["items"]]
def call(method, path, body=None):
    request = urllib.request.Request(url + path, body and json.dumps(body).encode(), method=method,
        headers={"authorization": "Bearer " + token, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(request))
# A kept data directory has them already.
booked = len(call("GET", f"/api/v1/appointments?clinician={smith}&date={day}")["items"])
slot = datetime.datetime.fromisoformat(day + "T08:00:00+00:00")
while booked < 80 and ids:
    if slot.hour == 12:
        slot = slot.replace(hour=13)
    if slot.hour >= 17:
        sys.exit(f"only {booked} appointments booked on {day}")
    try:
        call("POST", "/api/v1/appointments", {"patient_id": ids[-1], "clinician_id": smith,
             "start": slot.isoformat(), "duration_minutes": 5, "reason": "Review"})
        booked += 1
        ids.pop()
    except urllib.error.HTTPError as e:
        if e.code != 409:
            sys.exit(f"booking at {slot} answered {e.code}: {e.read().decode()}")
    slot += datetime.timedelta(minutes=5)
print(f"Dr. Smith's day {day}: {booked} appointments")
PY

# name | path | who (a cookie for pages, a bearer token for the API)
PAGES=(
    "page doctor's day (80)|/schedule?clinician=$smith&date=$day|cookie:$doctor_cookie"
    "api doctor's day (80)|/api/v1/appointments?clinician=$smith&date=$day|authorization: Bearer $doctor"
    "page /dashboard (admin)|/dashboard|cookie:$admin_cookie"
    "page /dashboard (doctor)|/dashboard|cookie:$doctor_cookie"
    "page /desk (reception)|/desk|cookie:$reception_cookie"
    "page /patients (list)|/patients|cookie:$reception_cookie"
    "page /patients?q= (search)|/patients?q=$(q "$family")|cookie:$reception_cookie"
    "page /patients/{id} (doctor)|/patients/$patient|cookie:$doctor_cookie"
    "page /patients/{id}/clinical|/patients/$patient/clinical|cookie:$doctor_cookie"
    "page /my/day (doctor)|/my/day|cookie:$doctor_cookie"
    "page /schedule (reception)|/schedule|cookie:$reception_cookie"
    "page /audit (auditor)|/audit|cookie:$auditor_cookie"
    "page /admin/status|/admin/status|cookie:$admin_cookie"
    "page /reports/diagnoses|/reports/diagnoses|cookie:$admin_cookie"
    "api /api/v1/patients (list)|/api/v1/patients|authorization: Bearer $reception"
    "api /api/v1/patients/{id}|/api/v1/patients/$patient|authorization: Bearer $doctor"
    "api /api/v1/audit/events|/api/v1/audit/events|authorization: Bearer $auditor"
)
for entry in "${PAGES[@]}"; do
    IFS='|' read -r label path who <<<"$entry"
    case $who in cookie:*) header="cookie: ${who#cookie:}" ;; *) header=$who ;; esac
    measure "$label" 1 1 "$PAGE_DURATION" "$url$path" "$header"
done

grep -E '^(VmRSS|VmHWM)' "/proc/$server_pid/status" | tee -a "$results"
