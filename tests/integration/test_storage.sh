#!/usr/bin/env bash
# storage: a throwaway PostgreSQL cluster on 127.0.0.1 (random port,
# stopped in a trap). replay writes exactly the accepted ticks with exact
# price text; an original prices(id, symbol, price, ts) table is migrated;
# stopping the database mid-ingest loses no row; interval mode stores at
# most one row per instrument per interval; alerts land in their table;
# the DSN's password never reaches the log; no sanitizer report.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
    echo "test_storage: SKIP (needs root, the postgres user and $PGBIN)"
    exit 0
fi
PGDIR=$(mktemp -d /tmp/cs-pg-XXXXXX)
chown postgres "$PGDIR"
chmod 700 "$PGDIR"
cleanup() {
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate \
        stop >/dev/null 2>&1)
    rm -rf "$PGDIR"
    [ -n "${CS_KEEP:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres \
    >"$PGDIR/initdb.log" 2>&1) || { fail "initdb"; cat "$PGDIR/initdb.log" >&2; finish; exit 1; }
pg_start() {
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" \
        -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -w -t 20 start \
        >/dev/null)
}
pg_start || { fail "pg start"; cat "$PGDIR/pg.log" >&2; finish; exit 1; }
psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
for db in every migrated outage interval; do psql_ -d postgres -c "CREATE DATABASE $db"; done

SECRET=s3cretPW42
dsn() { echo "postgresql://postgres:$SECRET@127.0.0.1:$PORT/$1"; }
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl
config() {  # config FILE KEY=VALUE...
    local f=$1; shift
    { echo "return {"; echo "storage = {"; for kv in "$@"; do echo "  $kv,"; done
      echo "  spill_dir = \"$SCRATCH/spill-$(basename "$f" .lua)\","; echo "}"; echo "}"; } >"$f"
}

# Reference: the ticks the engine accepts, with their exact price text.
"$CS_BIN" replay --emit ticks "$H" >ticks.jsonl 2>ref.err
N=$(grep -c '"type":"tick"' ticks.jsonl)
expect_eq "fixture has ticks" 4320 "$N"
python3 - ticks.jsonl >expected.txt <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    print(f"{t['exchange']}|{t['symbol']}|{t['price']}")
PY
sort expected.txt >expected.sorted

# 1. every tick, DSN from the environment.
config every.lua 'postgres_env = "CS_PG_DSN"' 'batch_rows = 500'
CS_PG_DSN=$(dsn every) "$CS_BIN" replay -c every.lua --metrics-out every.prom \
    "$H" >/dev/null 2>every.err
expect_eq "replay exit" 0 $?
expect_eq "rows = ticks" "$N" "$(psql_ -d every -c 'SELECT count(*) FROM prices')"
psql_ -d every -F'|' -c "SELECT exchange, symbol, price::text FROM prices" | sort >got.sorted
if cmp -s expected.sorted got.sorted; then pass; else fail "exact prices differ"; diff expected.sorted got.sorted | head >&2; fi
expect_eq "ts as data time" "2023-03-12 00:00:59.999+00" \
    "$(psql_ -d every -c "SET TIME ZONE 'UTC'; SELECT min(ts) FROM prices")"
expect_grep "metrics: rows written" "^cryptosup_store_rows_written_total $N\$" every.prom
expect_grep "metrics: no drops" '^cryptosup_store_dropped_total 0$' every.prom
expect_grep "log names host and db" "host=127.0.0.1 port=$PORT dbname=every" every.err
expect_eq "alerts stored" 1 "$([ "$(psql_ -d every -c 'SELECT count(*) FROM alerts')" -gt 0 ] && echo 1)"
expect_eq "alert rows complete" 0 "$(psql_ -d every -c "SELECT count(*) FROM alerts WHERE rule = '' OR state NOT IN ('firing','resolved')")"

# 2. The original table, created by hand first, is migrated and filled.
psql_ -d migrated -c "CREATE TABLE prices (id SERIAL PRIMARY KEY, symbol TEXT, price NUMERIC, ts TIMESTAMPTZ); CREATE INDEX prices_ts ON prices (ts); INSERT INTO prices (symbol, price, ts) VALUES ('BTCUSDT', 1.5, now())"
config migrated.lua "postgres = \"$(dsn migrated)\""
"$CS_BIN" replay -c migrated.lua "$H" >/dev/null 2>migrated.err
expect_eq "migrated replay exit" 0 $?
expect_eq "migrated rows" "$((N + 1))" "$(psql_ -d migrated -c 'SELECT count(*) FROM prices')"
expect_eq "new columns filled" "$N" "$(psql_ -d migrated -c "SELECT count(*) FROM prices WHERE exchange = 'binance' AND recv_ts IS NULL")"
expect_eq "one ts index kept" 1 "$(psql_ -d migrated -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'prices' AND indexdef LIKE '%(ts)%'")"

# 3. The database stops mid-ingest and comes back: no row lost.
config outage.lua "postgres = \"$(dsn outage)\"" 'batch_rows = 50' 'queue_rows = 256'
"$CS_BIN" replay -c outage.lua --speed 30000 "$H" >/dev/null 2>outage.err &
pid=$!
sleep 2
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null)
mid=$(grep -c . outage.err)
sleep 2
pg_start || fail "pg restart"
wait $pid
expect_eq "outage replay exit" 0 $?
expect_eq "no row lost" "$N" "$(psql_ -d outage -c 'SELECT count(*) FROM prices')"
expect_eq "no duplicates" "$N" "$(psql_ -d outage -c 'SELECT count(DISTINCT ts) FROM prices')"
expect_grep "connection loss seen" "lost host=|cannot connect" outage.err
expect_eq "log lines during outage" 1 "$([ "$mid" -gt 0 ] && echo 1)"

# 4. Interval mode: at most one row per instrument per interval (1 h).
config interval.lua "postgres = \"$(dsn interval)\"" 'mode = "interval"' 'interval_ms = 3600000'
"$CS_BIN" replay -c interval.lua "$H" >/dev/null 2>interval.err
expect_eq "interval replay exit" 0 $?
expect_eq "max one row per hour" 1 "$(psql_ -d interval -c "SELECT max(c) FROM (SELECT count(*) c FROM prices GROUP BY exchange, symbol, date_trunc('hour', ts)) x")"
expect_eq "every hour stored" 72 "$(psql_ -d interval -c 'SELECT count(*) FROM prices')"
last=$(grep '"ts":1678838399999' ticks.jsonl | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["price"])')
expect_eq "last price of the last hour" "$last" "$(psql_ -d interval -c "SELECT price::text FROM prices ORDER BY ts DESC LIMIT 1")"

# 5. Bad config: file:line:key errors.
printf 'return {\nstorage = {\n  postgres = "x",\n  mode = "sometimes",\n}}\n' >bad.lua
"$CS_BIN" check -c bad.lua >bad.out 2>&1
expect_eq "bad config refused" 1 "$([ $? -ne 0 ] && echo 1)"
expect_grep "mode error with line" 'bad.lua:4: storage.mode' bad.out

for f in every migrated outage interval; do
    expect_no_grep "no secret in log ($f)" "$SECRET" $f.err
    expect_no_grep "no sanitizer report ($f)" "runtime error|AddressSanitizer|LeakSanitizer" $f.err
done
finish
