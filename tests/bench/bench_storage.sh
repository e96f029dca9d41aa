#!/usr/bin/env bash
# Ingest benchmark (prints figures; not a test): rows/s stored by
# cryptosup (replay, storage every_tick, wall time until the last COPY is
# committed) against rows/s of a raw psql \copy of the same rows into the
# same table, on a throwaway PostgreSQL cluster on 127.0.0.1.
#
#   tests/bench/bench_storage.sh [CRYPTOSUP_BIN] [ROWS]
#
# Needs root, the postgres user and PostgreSQL binaries in $PGBIN
# (default /usr/lib/postgresql/15/bin).
set -eu
BIN=$(realpath "${1:-build-rel/cryptosup}")
ROWS=${2:-1000000}
BATCH=${CS_BENCH_BATCH_ROWS:-5000}
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "bench_storage: needs root, the postgres user and $PGBIN" >&2
    exit 2
fi
WORK=$(mktemp -d /tmp/cs-bench-XXXXXX)
PGDIR=$(mktemp -d /tmp/cs-bench-pg-XXXXXX)
chown postgres "$PGDIR"
chmod 700 "$PGDIR"
cleanup() {
    (cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1) || true
    rm -rf "$WORK" "$PGDIR"
}
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd / && runuser -u postgres -- "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1) ||
    { cat "$WORK/initdb.log" >&2; exit 1; }
(cd / && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1" -w -t 30 start >/dev/null)
psql_() { psql -X -q -A -t -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE bench"

# ROWS Binance trade frames over 10 symbols, one a second per symbol,
# prices with their own exact text.
python3 - "$ROWS" >"$WORK/trades.jsonl" <<'PY'
import sys
n = int(sys.argv[1])
syms = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT", "ADAUSDT",
        "DOGEUSDT", "AVAXUSDT", "DOTUSDT", "LINKUSDT"]
base = 1678579200000
out = sys.stdout
for i in range(n):
    s = i % 10
    ts = base + (i // 10) * 1000 + s
    price = "%d.%02d" % (1000 * (s + 1) + (i * 7919) % 500, i % 100)
    out.write('{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"0.01",'
              '"T":%d,"m":false,"M":true}\n' % (ts, syms[s], i // 10 + 1, price, ts))
PY
cat >"$WORK/bench.lua" <<LUA
return { storage = { postgres = "postgresql://postgres@127.0.0.1:$PORT/bench",
                     mode = "every_tick", batch_rows = $BATCH,
                     queue_rows = 100000, buffer_rows = $((ROWS * 2)),
                     spill_dir = "$WORK/spill" } }
LUA

# 1. cryptosup: the process ends once every row is committed.
t0=$(date +%s.%N)
"$BIN" replay -c "$WORK/bench.lua" --exchange binance --as-fast-as-possible \
    --metrics-out "$WORK/bench.prom" "$WORK/trades.jsonl" >/dev/null 2>"$WORK/cs.err"
t1=$(date +%s.%N)
stored=$(psql_ -d bench -c "SELECT count(*) FROM prices")
dropped=$(sed -n 's/^cryptosup_store_dropped_total //p' "$WORK/bench.prom")
[ "$stored" = "$ROWS" ] || { echo "bench_storage: $stored of $ROWS rows stored (dropped $dropped)" >&2; exit 1; }

# 2. Raw COPY of the same rows into the same (emptied) table and index.
psql_ -d bench -c "\\copy (SELECT exchange, symbol, price, ts, recv_ts FROM prices ORDER BY id) TO '$WORK/rows.copy'"
psql_ -d bench -c "TRUNCATE prices" -c "VACUUM ANALYZE prices" -c "CHECKPOINT"
t2=$(date +%s.%N)
psql_ -d bench -c "\\copy prices (exchange, symbol, price, ts, recv_ts) FROM '$WORK/rows.copy'"
t3=$(date +%s.%N)
[ "$(psql_ -d bench -c 'SELECT count(*) FROM prices')" = "$ROWS" ]

python3 - "$ROWS" "$t0" "$t1" "$t2" "$t3" "$BATCH" <<'PY'
import sys
n = int(sys.argv[1]); t0, t1, t2, t3 = map(float, sys.argv[2:6])
cs, raw = n / (t1 - t0), n / (t3 - t2)
print(f"rows: {n:,} (batch_rows {sys.argv[6]})")
print(f"cryptosup replay + store: {t1 - t0:6.2f} s  {cs:10,.0f} rows/s")
print(f"raw psql \\copy:           {t3 - t2:6.2f} s  {raw:10,.0f} rows/s")
print(f"ratio: {100 * cs / raw:.0f} % of raw COPY (design target: 80 %)")
PY
