#!/usr/bin/env bash
# A real Prometheus (Debian package prometheus) scrapes `cryptosup run`
# against the fake exchange every second, on 127.0.0.1 ports: within 30 s
# its HTTP API answers the query crypto_price with series carrying the
# exchange and symbol labels, and up{job="cryptosup"} is 1. Everything is
# stopped on exit. Nothing leaves the machine.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

if ! command -v prometheus >/dev/null 2>&1; then
    echo "skip: prometheus not installed (Debian package prometheus)"
    finish
    exit 0
fi

PROM_PID=
ENGINE_PID=
FX_PID=
cleanup() {
    for p in $PROM_PID $ENGINE_PID $FX_PID; do kill "$p" 2>/dev/null; done
    for p in $PROM_PID $ENGINE_PID $FX_PID; do wait "$p" 2>/dev/null; done
    if [ -z "${CS_KEEP:-}" ]; then rm -rf "$SCRATCH"; fi
}
trap cleanup EXIT

fx_start --speed 4 --retime || { finish; exit 1; }
mkdir -p rules
cat >rules/any.lua <<'LUA'
return { name = "any_move", window = "1h", threshold_pct = 50 }
LUA
cat >config.lua <<LUA
return {
    rules = "rules",
    windows = { "1h" },
    exchanges = {
        binance = { url = "ws://127.0.0.1:$FX_PORT/binance/ws", symbols = { "BTC/USDT", "ETH/USDT" } },
        coinbase = { url = "ws://127.0.0.1:$FX_PORT/coinbase", symbols = { "BTC/USD" } },
    },
    metrics = { listen = "127.0.0.1:0" },
}
LUA
"$CS_BIN" run -c config.lua >run.out 2>run.log &
ENGINE_PID=$!
if ! wait_for 'metrics.http: listening on http://127\.0\.0\.1:[0-9]+' run.log 10; then
    fail "no listening line"; cat run.log >&2; finish; exit 1
fi
CS_PORT=$(sed -nE 's/.*metrics\.http: listening on http:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' run.log | head -1)

cat >prometheus.yml <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cryptosup
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs:
      - targets: ["127.0.0.1:$CS_PORT"]
YML

port_free() {  # nothing accepts on 127.0.0.1:$1
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A free port: a few random tries, each checked, and Prometheus restarted
# on another one if it could not bind after all.
PROM_PORT=
for attempt in 1 2 3 4 5; do
    p=$((20000 + RANDOM % 40000))
    port_free "$p" || continue
    mkdir -p "tsdb$attempt"
    prometheus --config.file=prometheus.yml --storage.tsdb.path="tsdb$attempt" \
        --web.listen-address="127.0.0.1:$p" >"prom$attempt.log" 2>&1 &
    PROM_PID=$!
    for i in $(seq 1 100); do
        if curl -s -m 1 -o /dev/null "http://127.0.0.1:$p/-/ready"; then PROM_PORT=$p; break; fi
        kill -0 "$PROM_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$PROM_PORT" ] && break
    kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; PROM_PID=
done
if [ -z "$PROM_PORT" ]; then
    fail "prometheus did not start"; cat prom*.log >&2; finish; exit 1
fi
pass
P="http://127.0.0.1:$PROM_PORT"

# Bounded: 30 s for a non-empty crypto_price result.
ok=1
for i in $(seq 1 60); do
    curl -s -m 2 "$P/api/v1/query?query=crypto_price" >q.json
    if grep -q '"status":"success"' q.json && grep -q '"__name__":"crypto_price"' q.json; then
        ok=0; break
    fi
    sleep 0.5
done
expect_eq "Prometheus has crypto_price within 30 s" 0 $ok
[ $ok = 0 ] || { cat q.json >&2; tail -20 prom*.log >&2; }
expect_grep "crypto_price has the exchange label" '"exchange":"(binance|coinbase)"' q.json
expect_grep "crypto_price has the symbol label" '"symbol":"[A-Z]+/[A-Z]+"' q.json
expect_grep "crypto_price is scraped from our job" '"job":"cryptosup"' q.json
curl -s -m 2 --data-urlencode 'query=up{job="cryptosup"}' "$P/api/v1/query" >up.json
expect_grep "up{job=\"cryptosup\"} is 1" '"value":\[[0-9.]+,"1"\]' up.json

# The engine stops cleanly under a scraper.
kill -INT "$ENGINE_PID"
wait "$ENGINE_PID"
expect_eq "engine clean exit" 0 $?
ENGINE_PID=
expect_no_grep "no sanitizer report" 'Sanitizer|runtime error' run.log
expect_no_grep "no errors" '\[ERROR\]' run.log
finish
