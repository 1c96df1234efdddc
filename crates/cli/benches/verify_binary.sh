#!/usr/bin/env bash
# Times the real binary verifying the cached 1,000,000-event (or larger) audit log:
#   target/release/carevault --data-dir target/bench-data/audit-1m audit verify
# The database and the key file are made by the `audit_store` bench (its verify step);
# this script makes them first if they are missing. Uses hyperfine when installed
# (`apt-get install hyperfine`), else a plain timing loop. RUNS=n sets the number of runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

# CAREVAULT_BENCH_VERIFY_EVENTS=10000000 times a log of 10,000,000 events (audit-10m; about
# 10 minutes and 6 GB to generate once).
events=${CAREVAULT_BENCH_VERIFY_EVENTS:-1000000}
if ((events % 1000000 == 0)); then data=target/bench-data/audit-$((events / 1000000))m; else data=target/bench-data/audit-$events; fi
runs=${RUNS:-5}
if [[ ! -f $data/carevault.db || ! -f $data/keys/audit-signing.key ]]; then
    cargo bench -p carevault --bench audit_store -- --test verify
fi
cargo build --release -p carevault --bin carevault
command=(target/release/carevault --data-dir "$data" audit verify)
"${command[@]}"

if command -v hyperfine >/dev/null; then
    hyperfine --warmup 1 --runs "$runs" "${command[*]}"
else
    for ((i = 1; i <= runs; i++)); do
        start=$(date +%s.%N)
        "${command[@]}" >/dev/null
        end=$(date +%s.%N)
        echo "run $i: $(echo "$end - $start" | bc) s"
    done
fi
