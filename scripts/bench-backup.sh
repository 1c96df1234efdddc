#!/bin/bash
# Backup, verify and restore timings of the release binary (BENCHMARKS.md, "Backups").
# Needs `cargo build --release`, and PostgreSQL on 127.0.0.1:5432 (user postgres, trust) for the
# last step. Usage: N=20000 scripts/bench-backup.sh
set -e
B=${CAREVAULT_BIN:-target/release/carevault}
W=/tmp/cvbench; rm -rf $W; mkdir -p $W
N=${N:-5000}
/usr/bin/time -f "seed %e s" $B --data-dir $W/data demo seed --patients $N --seed 7 --allow-real-database > /dev/null
ls -la $W/data/carevault.db | awk '{print "db bytes", $5}'
/usr/bin/time -f "create %e s, max RSS %M KiB" $B --data-dir $W/data backup create --out $W/b.cvbak > $W/create.out
ls -la $W/b.cvbak | awk '{print "backup bytes", $5}'
/usr/bin/time -f "verify %e s, max RSS %M KiB" $B --data-dir $W/data backup verify $W/b.cvbak > /dev/null
mkdir -p $W/restored
/usr/bin/time -f "restore sqlite %e s, max RSS %M KiB" $B --data-dir $W/restored --key-dir $W/data/keys backup restore $W/b.cvbak > /dev/null
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS cvbench" -c "CREATE DATABASE cvbench"
/usr/bin/time -f "restore postgres %e s, max RSS %M KiB" $B --data-dir $W/pg --key-dir $W/data/keys --database-url postgres://postgres@127.0.0.1:5432/cvbench backup restore $W/b.cvbak > /dev/null
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS cvbench"
