#!/usr/bin/env bash
# storage, poison rows: a throwaway PostgreSQL cluster on 127.0.0.1 whose
# prices table gets CHECK (price < 1000000). A replay with one absurd price
# in the middle of a batch: the server refuses that row (SQLSTATE 23514),
# the writer bisects the batch, every other row is stored exactly once, the
# bad row is logged once (table, SQLSTATE, message, exchange/symbol/time)
# and counted in cryptosup_store_rows_rejected_total, and ingestion goes on
# without a reconnect or a spill. Then a spill file from an earlier run
# holding a malformed line (22P04) and an absurd price is replayed: its
# good lines are stored, the two bad ones rejected, the spill emptied.
# No sanitizer report.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 ||
   [ "$(id -u)" -ne 0 ]; then
    echo "test_storage_poison: SKIP (needs root, the postgres user and $PGBIN)"
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
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -w -t 20 start >/dev/null) ||
    { fail "pg start"; cat "$PGDIR/pg.log" >&2; finish; exit 1; }
psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
for db in poison spill; do psql_ -d postgres -c "CREATE DATABASE $db"; done
dsn() { echo "postgresql://postgres@127.0.0.1:$PORT/$1"; }

# Binance trades, two symbols, one a second each; trade 301 (BTCUSDT, in
# the middle of a 50-row batch) has a price no market has: 5000000.00.
N=600
BAD=301
python3 - "$N" "$BAD" >trades.jsonl <<'PY'
import sys
n, bad = int(sys.argv[1]), int(sys.argv[2])
base = 1678579200000
for i in range(n):
    sym = ("BTCUSDT", "ETHUSDT")[i % 2]
    ts = base + (i // 2) * 1000 + i % 2
    whole = 1500 + i % 30 if i % 2 else 20000 + i % 50
    price = "5000000.00" if i == bad else "%d.%02d" % (whole, i % 100)
    if i == bad:
        sym = "BTCUSDT"
    sys.stdout.write('{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"0.01",'
                     '"T":%d,"m":false,"M":true}\n' % (ts, sym, i + 1, price, ts))
PY
BAD_TS=$(python3 -c "print(1678579200000 + ($BAD // 2) * 1000 + $BAD % 2)")
BAD_TIME=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp($BAD_TS / 1000, datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S'))")

config() {  # config FILE DB SPILL_DIR
    cat >"$1" <<LUA
return { storage = { postgres = "$(dsn "$2")", batch_rows = 50,
                     spill_dir = "$3" } }
LUA
}

# 0. The schema exists (one clean row), then the operator's constraint.
head -n 1 trades.jsonl >first.jsonl
config poison.lua poison "$SCRATCH/spill-poison"
"$CS_BIN" replay -c poison.lua --exchange binance first.jsonl >/dev/null 2>first.err
expect_eq "schema replay exit" 0 $?
psql_ -d poison -c "TRUNCATE prices" \
    -c "ALTER TABLE prices ADD CONSTRAINT price_sane CHECK (price < 1000000)"

# The reference: what the engine accepts (absurd price included).
"$CS_BIN" replay --exchange binance --emit ticks trades.jsonl >ticks.jsonl 2>/dev/null
ACCEPTED=$(grep -c '"type":"tick"' ticks.jsonl)
expect_eq "engine accepts every trade" "$N" "$ACCEPTED"
expect_eq "the absurd tick reaches the store" 1 "$(grep -c '"price":"5000000.00"' ticks.jsonl)"
python3 - ticks.jsonl >expected.txt <<'PY'
import json, sys
for line in open(sys.argv[1]):
    t = json.loads(line)
    if t.get("type") == "tick" and t["price"] != "5000000.00":
        print(f"{t['exchange']}|{t['symbol']}|{t['price']}|{t['ts']}")
PY
sort expected.txt >expected.sorted

# 1. Replay: one bad row among 600, in the middle of a batch.
"$CS_BIN" replay -c poison.lua --exchange binance --metrics-out poison.prom \
    trades.jsonl >/dev/null 2>poison.err
expect_eq "replay exit" 0 $?
expect_eq "every other row stored" "$((N - 1))" "$(psql_ -d poison -c 'SELECT count(*) FROM prices')"
expect_eq "no duplicates" "$((N - 1))" "$(psql_ -d poison -c 'SELECT count(DISTINCT (symbol, ts)) FROM prices')"
psql_ -d poison -F'|' -c "SELECT exchange, symbol, price::text, (extract(epoch FROM ts) * 1000)::int8 FROM prices" |
    sort >got.sorted
if cmp -s expected.sorted got.sorted; then pass; else fail "stored rows differ"; diff expected.sorted got.sorted | head >&2; fi
expect_eq "rows after the bad one stored" "$((N - 1 - BAD))" \
    "$(psql_ -d poison -c "SELECT count(*) FROM prices WHERE ts > to_timestamp($BAD_TS / 1000.0)")"
expect_eq "bad row logged once" 1 "$(count 'prices row rejected' poison.err)"
expect_grep "log: table, SQLSTATE, message" \
    'store: prices row rejected by the server, not stored \(SQLSTATE 23514: new row for relation "prices" violates check constraint "price_sane"\)' poison.err
expect_grep "log: exchange, symbol, time, price" \
    "exchange=binance symbol=BTC/USDT ts=$BAD_TIME\\.[0-9]+\\+00 price=5000000\\.00" poison.err
expect_grep "metric: one row rejected" '^cryptosup_store_rows_rejected_total 1$' poison.prom
expect_grep "metric: rows written" "^cryptosup_store_rows_written_total $((N - 1))\$" poison.prom
expect_grep "metric: no write error" '^cryptosup_store_write_errors_total 0$' poison.prom
expect_grep "metric: nothing spilled" '^cryptosup_store_spilled_rows_total 0$' poison.prom
expect_grep "metric: no reconnect" '^cryptosup_store_reconnects_total 0$' poison.prom
expect_grep "metric: nothing dropped" '^cryptosup_store_dropped_total 0$' poison.prom
expect_no_grep "not treated as an outage" 'lost host=|spilling' poison.err

# 2. Ingestion goes on: a second replay after the rejection is stored whole.
sed -n '2,40p' trades.jsonl | sed 's/"E":1678579/"E":1678665/; s/"T":1678579/"T":1678665/' >later.jsonl
"$CS_BIN" replay -c poison.lua --exchange binance later.jsonl >/dev/null 2>later.err
expect_eq "later replay exit" 0 $?
expect_eq "later rows stored" "$((N - 1 + 39))" "$(psql_ -d poison -c 'SELECT count(*) FROM prices')"

# 3. A spill file from an earlier run with a malformed line (too few
# columns: 22P04) and an absurd price: good lines replayed, bad ones
# rejected once each, the spill emptied.
config spill0.lua spill "$SCRATCH/spill-schema"
"$CS_BIN" replay -c spill0.lua --exchange binance first.jsonl >/dev/null 2>spill0.err
psql_ -d spill -c "TRUNCATE prices" \
    -c "ALTER TABLE prices ADD CONSTRAINT price_sane CHECK (price < 1000000)"
mkdir -p spill-old
printf '%s\n' \
    $'binance\tBTC/USDT\t20001.50\t2023-03-12 00:00:01.000000+00\t\\N' \
    $'binance\tBTC/USDT\t19999.99' \
    $'binance\tETH/USDT\t1501.25\t2023-03-12 00:00:02.000000+00\t\\N' \
    $'binance\tETH/USDT\t9999999\t2023-03-12 00:00:03.000000+00\t\\N' \
    $'binance\tBTC/USDT\t20002.75\t2023-03-12 00:00:04.000000+00\t\\N' \
    >spill-old/prices.copy
config spill.lua spill "$SCRATCH/spill-old"
"$CS_BIN" replay -c spill.lua --exchange binance --metrics-out spill.prom \
    first.jsonl >/dev/null 2>spill.err
expect_eq "spill replay exit" 0 $?
expect_eq "good spilled lines + the new row stored" 4 "$(psql_ -d spill -c 'SELECT count(*) FROM prices')"
expect_eq "spilled prices exact" "1501.25 20001.50 20002.75" \
    "$(psql_ -d spill -c "SELECT string_agg(price::text, ' ' ORDER BY price) FROM prices WHERE ts > '2023-03-12 00:00:00.5+00'")"
expect_eq "two spilled lines rejected" 2 "$(count 'prices row rejected' spill.err)"
expect_grep "malformed line: 22P04" 'SQLSTATE 22P04: missing data for column "ts"\): exchange=binance symbol=BTC/USDT ts=\? price=19999\.99' spill.err
expect_grep "absurd price: 23514" 'SQLSTATE 23514: .*symbol=ETH/USDT ts=2023-03-12 00:00:03.000000\+00 price=9999999' spill.err
expect_grep "metric: two rejected" '^cryptosup_store_rows_rejected_total 2$' spill.prom
expect_eq "spill emptied" 0 "$(stat -c %s spill-old/prices.copy)"

for f in first poison later spill0 spill; do
    expect_no_grep "no sanitizer report ($f)" "runtime error|AddressSanitizer|LeakSanitizer" $f.err
done
finish
