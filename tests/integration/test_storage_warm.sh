#!/usr/bin/env bash
# warm start from storage: a file replayed into a throwaway PostgreSQL
# cluster, then `run` with the same storage and an exchange that never
# connects (closed port, no REST): the windows are restored from the
# database (1h and 24h complete, every row of the last 24h + 5 min fed,
# alert state held), and with the database down the warm start gives up
# within its deadline and the connectors still start. No sanitizer report.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
    echo "test_storage_warm: SKIP (needs root, the postgres user and $PGBIN)"
    exit 0
fi
PGDIR=$(mktemp -d /tmp/cs-pg-XXXXXX)
chown postgres "$PGDIR"
chmod 700 "$PGDIR"
RUNPID=
cleanup() {
    [ -n "$RUNPID" ] && kill -9 "$RUNPID" 2>/dev/null
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
        stop >/dev/null 2>&1)
    rm -rf "$PGDIR"
    [ -n "${CS_KEEP:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(freeport)
(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres \
    >"$PGDIR/initdb.log" 2>&1) || { fail "initdb"; cat "$PGDIR/initdb.log" >&2; finish; exit 1; }
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -w -t 20 start >/dev/null) ||
    { fail "pg start"; cat "$PGDIR/pg.log" >&2; finish; exit 1; }
psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE warm"
DSN="postgresql://postgres@127.0.0.1:$PORT/warm"
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl

# 1. History: the 72 hours of minute closes, stored by replay.
cat >replay.lua <<LUA
return { storage = { postgres = "$DSN", spill_dir = "$SCRATCH/spill-replay" } }
LUA
"$CS_BIN" replay -c replay.lua "$H" >/dev/null 2>replay.err
expect_eq "replay exit" 0 $?
expect_eq "history stored" 4320 "$(psql_ -d warm -c 'SELECT count(*) FROM prices')"
# What the warm start must read: the last 24 h + 5 min before the newest row.
WANT=$(psql_ -d warm -c "SELECT count(*) FROM prices WHERE ts >= (SELECT max(ts) FROM prices) - interval '86700 seconds'")
# The alerts replay ends with (the oracle for "alert state held").
"$CS_BIN" replay --emit alerts "$H" >alerts.jsonl 2>/dev/null

# 2. run: windows restored before any live data.
run_config() {  # run_config FILE DSN HTTP_PORT
    cat >"$1" <<LUA
return {
    exchanges = {
        binance = { url = "ws://127.0.0.1:9/ws", warmup = false,
                    symbols = { "BTC/USDT" } },
    },
    connect = { backoff_initial_ms = 100, backoff_max_ms = 500 },
    metrics = { listen = "127.0.0.1:$3" },
    storage = { postgres = "$2", spill_dir = "$SCRATCH/spill-$(basename "$1" .lua)" },
}
LUA
}
HP=$(freeport)
run_config run.lua "$DSN" "$HP"
"$CS_BIN" run -c run.lua --metrics-out run.prom 2>run.err &
RUNPID=$!
ok=0
for _ in $(seq 1 100); do
    curl -s -m 2 "http://127.0.0.1:$HP/api/prices" >prices.json 2>/dev/null
    if grep -q '"BTC/USDT"' prices.json 2>/dev/null; then ok=1; break; fi
    sleep 0.1
done
expect_eq "instrument restored" 1 "$ok"
sleep 0.3
curl -s -m 2 "http://127.0.0.1:$HP/api/prices" >prices.json
python3 - prices.json >windows.txt <<'PY'
import json, sys
p = [x for x in json.load(open(sys.argv[1])) if x["symbol"] == "BTC/USDT"][0]
print(p["windows"]["1h"]["complete"], p["windows"]["24h"]["complete"], p["ts"])
PY
expect_eq "1h and 24h windows complete" "True True 1678838399999" "$(cat windows.txt)"
curl -s -m 2 "http://127.0.0.1:$HP/metrics" >live.prom
expect_grep "restored rows counted" "^cryptosup_store_warmup_rows_total $WANT\$" live.prom
kill -TERM $RUNPID; wait $RUNPID
expect_eq "run exit" 0 $?
RUNPID=
expect_grep "log: rows restored" "warm start: $WANT rows restored" run.err
expect_grep "final metrics" "^cryptosup_store_warmup_rows_total $WANT\$" run.prom
expect_grep "restored ticks count as ticks" '^cryptosup_ticks_total' run.prom
expect_eq "nothing re-stored" 4320 "$(psql_ -d warm -c 'SELECT count(*) FROM prices')"

# 3. The database is down: the warm start gives up within its deadline,
# then the connectors start (healthz stops saying "warming up").
DEAD=$(freeport)
HP2=$(freeport)
run_config down.lua "postgresql://postgres@127.0.0.1:$DEAD/warm" "$HP2"
t0=$(date +%s)
"$CS_BIN" run -c down.lua 2>down.err &
RUNPID=$!
started=0
for _ in $(seq 1 150); do
    curl -s -m 2 "http://127.0.0.1:$HP2/healthz" >healthz.txt 2>/dev/null
    if grep -q "no open WebSocket" healthz.txt; then started=1; break; fi
    sleep 0.1
done
t1=$(date +%s)
expect_eq "connectors start after giving up" 1 "$started"
expect_eq "within the warm-up bound" 1 "$([ $((t1 - t0)) -le 15 ] && echo 1)"
kill -TERM $RUNPID; wait $RUNPID
expect_eq "down run exit" 0 $?
RUNPID=
expect_grep "gave up logged" "warm start (abandoned|: gave up)" down.err

for f in replay run down; do
    expect_no_grep "no sanitizer report ($f)" "runtime error|AddressSanitizer|LeakSanitizer" $f.err
done
finish
