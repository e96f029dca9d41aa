#!/usr/bin/env bash
# storage under `run` (live connectors, not replay): a throwaway PostgreSQL
# cluster on 127.0.0.1 and the fake exchange. `run` with storage
# (postgres_env, every_tick) stores the ticks of the configured symbols
# while it runs, promptly (the writer is woken, not polling), with sane
# values (configured exchange and symbols, positive prices, data and
# receive times around now); after SIGTERM the table holds exactly the
# rows the final metrics report as queued and written (the shutdown
# flushed everything: queue empty, nothing dropped, spilled or rejected,
# one row per accepted tick). No sanitizer report.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
    echo "test_storage_run: SKIP (needs root, the postgres user and $PGBIN)"
    exit 0
fi
PGDIR=$(mktemp -d /tmp/cs-pg-XXXXXX)
chown postgres "$PGDIR"
chmod 700 "$PGDIR"
RUNPID=
FX_PID=
cleanup() {
    [ -n "$RUNPID" ] && kill -9 "$RUNPID" 2>/dev/null
    [ -n "$FX_PID" ] && kill "$FX_PID" 2>/dev/null
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
        stop >/dev/null 2>&1)
    rm -rf "$PGDIR"
    [ -n "${CS_KEEP:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres \
    >"$PGDIR/initdb.log" 2>&1) || { fail "initdb"; cat "$PGDIR/initdb.log" >&2; finish; exit 1; }
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -w -t 20 start >/dev/null) ||
    { fail "pg start"; cat "$PGDIR/pg.log" >&2; finish; exit 1; }
psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE live"
rows() { psql_ -d live -c 'SELECT count(*) FROM prices' 2>/dev/null || echo 0; }
metric() {  # metric NAME FILE: the unlabelled sample's value
    sed -n "s/^$1 //p" "$2"
}

fx_start --speed 10 --retime || { finish; exit 1; }
cat >run.lua <<LUA
return {
    exchanges = { binance = { url = "ws://127.0.0.1:$FX_PORT/binance/ws",
                              symbols = { "BTC/USDT", "ETH/USDT" },
                              channels = { "bookTicker" },
                              warmup = false, rest_url = "http://127.0.0.1:9" } },
    metrics = { listen = "127.0.0.1:0" },
    storage = { postgres_env = "CS_PG_DSN", mode = "every_tick",
                batch_rows = 500, spill_dir = "$SCRATCH/spill" },
}
LUA
T0=$(date +%s)
CS_PG_DSN="postgresql://postgres@127.0.0.1:$PORT/live" \
    "$CS_BIN" run -c run.lua --metrics-out run.prom >/dev/null 2>run.log &
RUNPID=$!

# Rows arrive while it runs: within 10 s of the start, then keep coming.
ok=0
for _ in $(seq 1 100); do
    [ "$(rows)" -gt 0 ] && { ok=1; break; }
    sleep 0.1
done
expect_eq "rows stored while running" 1 "$ok"
sleep 3
mid=$(rows)
expect_eq "ticks keep flowing into prices" 1 "$([ "$mid" -gt 20 ] && echo 1)"
# Prompt: the newest stored tick was received well under a second ago.
lag=$(psql_ -d live -c "SELECT extract(epoch FROM now() - max(recv_ts)) FROM prices")
expect_eq "stored within a second of receipt (lag ${lag}s)" 1 \
    "$(python3 -c "print(1 if 0 <= float('$lag') < 1.0 else 0)")"

kill -TERM $RUNPID
wait $RUNPID
expect_eq "run exit after SIGTERM" 0 $?
RUNPID=
T1=$(date +%s)
fx_stop
FX_PID=

# Everything queued was flushed at shutdown.
N=$(rows)
expect_eq "rows = rows written (metric)" "$N" "$(metric cryptosup_store_rows_written_total run.prom)"
expect_eq "rows = rows queued (metric)" "$N" "$(metric cryptosup_store_rows_queued_total run.prom)"
# Quotes only (bookTicker): every accepted tick is a stored price.
expect_eq "rows = accepted binance ticks" "$N" \
    "$(sed -n 's/^cryptosup_ticks_total{exchange="binance"} //p' run.prom)"
expect_eq "no tick dropped by the engine" 0 \
    "$(sed -n 's/^cryptosup_ticks_dropped_total{[^}]*} //p' run.prom | awk '{s += $1} END {print s + 0}')"
expect_eq "queue empty at exit" 0 "$(metric cryptosup_store_queue_depth run.prom)"
expect_eq "nothing dropped" 0 "$(metric cryptosup_store_dropped_total run.prom)"
expect_eq "nothing spilled" 0 "$(metric cryptosup_store_spilled_rows_total run.prom)"
expect_eq "nothing rejected" 0 "$(metric cryptosup_store_rows_rejected_total run.prom)"
expect_eq "no write error" 0 "$(metric cryptosup_store_write_errors_total run.prom)"
expect_eq "more rows than mid-run" 1 "$([ "$N" -ge "$mid" ] && echo 1)"
expect_grep "stop line" "store: stopped: $N rows written, 0 alerts, 0 dropped, 0 spilled" run.log

# Sane values.
expect_eq "only the configured instruments" "binance BTC/USDT binance ETH/USDT" \
    "$(psql_ -d live -c "SELECT string_agg(exchange || ' ' || symbol, ' ' ORDER BY symbol) FROM (SELECT DISTINCT exchange, symbol FROM prices) x")"
expect_eq "prices positive" 0 "$(psql_ -d live -c 'SELECT count(*) FROM prices WHERE price IS NULL OR price <= 0')"
expect_eq "data time around the run" 0 "$(psql_ -d live -c \
    "SELECT count(*) FROM prices WHERE ts < to_timestamp($T0 - 120) OR ts > to_timestamp($T1 + 120)")"
expect_eq "receive time during the run" 0 "$(psql_ -d live -c \
    "SELECT count(*) FROM prices WHERE recv_ts IS NULL OR recv_ts < to_timestamp($T0 - 1) OR recv_ts > to_timestamp($T1 + 1)")"
expect_no_grep "no sanitizer report" "runtime error|AddressSanitizer|LeakSanitizer" run.log
expect_no_grep "DSN not logged" "postgresql://" run.log
finish
