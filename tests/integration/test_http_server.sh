#!/usr/bin/env bash
# The HTTP endpoint on 127.0.0.1 with a port the kernel picks, against the
# fake exchange: /metrics (Prometheus text, promtool when installed),
# /healthz, /api/prices and /api/alerts (valid JSON), 404 and 405, a bad
# metrics.listen rejected with file:line, and 100 connections that never
# send a byte not keeping /metrics from answering. Nothing leaves the
# machine.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

# A bad listen address is a config error naming file, line and key.
cat >bad.lua <<'LUA'
return {
    metrics = { listen = "127.0.0.1:99999" },
}
LUA
"$CS_BIN" check -c bad.lua >bad.out 2>&1
expect_eq "bad listen exits 1" 1 $?
expect_grep "bad listen names file:line:key" 'bad\.lua:2: metrics\.listen' bad.out
cat >bad2.lua <<'LUA'
return { metrics = { port = 8000 } }
LUA
"$CS_BIN" check -c bad2.lua >bad2.out 2>&1
expect_eq "unknown metrics key exits 1" 1 $?
expect_grep "unknown metrics key" 'metrics\.port: unknown key' bad2.out

fx_start --speed 4 --retime || { finish; exit 1; }
W="ws://127.0.0.1:$FX_PORT"

mkdir -p rules
cat >rules/any.lua <<'LUA'
return {
    name = "any_move", window = "1h", threshold_pct = 50,
}
LUA
cat >config.lua <<LUA
return {
    rules = "rules",
    windows = { "1h" },
    exchanges = {
        binance = { url = "$W/binance/ws", symbols = { "BTC/USDT", "ETH/USDT" },
                    channels = { "aggTrade", "bookTicker" } },
        coinbase = { url = "$W/coinbase", symbols = { "BTC/USD" } },
    },
    metrics = { listen = "127.0.0.1:0" },
}
LUA

"$CS_BIN" run -c config.lua >run.out 2>run.log &
pid=$!

if wait_for 'metrics.http: listening on http://127\.0\.0\.1:[0-9]+' run.log 10; then
    pass
else
    fail "no listening line"; cat run.log >&2; kill "$pid"; fx_stop; finish; exit 1
fi
PORT=$(sed -nE 's/.*metrics\.http: listening on http:\/\/127\.0\.0\.1:([0-9]+).*/\1/p' run.log | head -1)
[ "$PORT" -gt 0 ] 2>/dev/null && pass || fail "port 0 was not resolved: [$PORT]"
U="http://127.0.0.1:$PORT"

# /metrics once ticks have flowed from both exchanges.
ok=1
for i in $(seq 1 50); do
    curl -s -m 2 "$U/metrics" >metrics.txt
    if grep -q 'crypto_price{exchange="coinbase"' metrics.txt &&
       grep -q 'crypto_price{exchange="binance",symbol="BTC/USDT"' metrics.txt &&
       grep -q 'crypto_price{exchange="binance",symbol="ETH/USDT"' metrics.txt &&
       grep -qE 'cryptosup_ws_frames_total\{exchange="binance"\} [1-9]' metrics.txt; then
        ok=0; break
    fi
    sleep 0.2
done
expect_eq "/metrics has prices and frame counts" 0 $ok
curl -s -m 2 -o /dev/null -D metrics.hdr "$U/metrics"
expect_grep "/metrics content type" \
    '^content-type: text/plain; version=0\.0\.4; charset=utf-8' metrics.hdr
if command -v promtool >/dev/null 2>&1; then
    promtool check metrics <metrics.txt >promtool.out 2>&1
    expect_eq "promtool check metrics" 0 $?
else
    echo "skip: promtool not installed (Debian package prometheus); not linting /metrics"
fi

# /healthz: both exchanges have open connections.
code=000
for i in $(seq 1 50); do
    code=$(curl -s -m 2 -o healthz.txt -w '%{http_code}' "$U/healthz")
    [ "$code" = 200 ] && break
    sleep 0.2
done
expect_eq "/healthz status" 200 "$code"
expect_eq "/healthz body" "ok" "$(cat healthz.txt)"

json_ok() {  # json_ok FILE: 0 when FILE is one JSON document
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' <"$1"
    else
        grep -qE '^\[.*\]$' "$1"
    fi
}

code=$(curl -s -m 2 -o prices.json -D prices.hdr -w '%{http_code}' "$U/api/prices")
expect_eq "/api/prices status" 200 "$code"
expect_grep "/api/prices content type" '^content-type: application/json' prices.hdr
json_ok prices.json && pass || { fail "/api/prices is not JSON"; head -c 500 prices.json >&2; }
for s in 'BTC/USDT' 'ETH/USDT' 'BTC/USD"'; do
    expect_grep "/api/prices has $s" "\"symbol\":\"$s" prices.json
done
expect_grep "/api/prices windows" '"windows":\{"1h":\{"change":' prices.json
expect_grep "/api/prices prices are strings" '"price":"[0-9.]+"' prices.json

code=$(curl -s -m 2 -o alerts.json -w '%{http_code}' "$U/api/alerts")
expect_eq "/api/alerts status" 200 "$code"
json_ok alerts.json && pass || { fail "/api/alerts is not JSON"; head -c 500 alerts.json >&2; }

expect_eq "unknown path" 404 "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/nope")"
expect_eq "POST" 405 "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST -d x=1 "$U/metrics")"
expect_eq "DELETE" 405 "$(curl -s -m 2 -o /dev/null -w '%{http_code}' -X DELETE "$U/api/prices")"
# Oversized request headers (limit 4 KiB) are refused, logged at most
# once a minute, and harm nobody else.
big=$(head -c 6000 /dev/zero | tr '\0' a)
for i in 1 2 3; do
    curl -s -m 2 -o /dev/null -H "X-Big: $big" "$U/metrics"
done
expect_eq "oversized headers refused" 000 \
    "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/$big")"
expect_eq "header overflow logged once" 1 "$(count 'header data space' run.log)"
expect_eq "/healthz beside oversized headers" 200 \
    "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/healthz")"
# Keep-alive: two requests on one connection.
curl -s -m 2 -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
    "$U/healthz" "$U/api/alerts" >keepalive.txt
expect_eq "keep-alive" "200 1
200 0" "$(cat keepalive.txt)"

# 100 connections that never send: held 2 s, then dropped; /metrics must
# answer within 2 s afterwards.
(
    fds=()
    for i in $(seq 1 100); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || break
        fds+=("$fd")
    done
    echo "${#fds[@]}" >idle.count
    sleep 2
) &
idle=$!
sleep 1
# While they are held, the engine keeps working (ticks still flow).
frames1=$(grep -E '^cryptosup_ws_frames_total\{exchange="binance"\}' metrics.txt | awk '{print $2}')
wait "$idle"
expect_grep "idle connections opened" '^[1-9][0-9]*$' idle.count
code=$(curl -s -m 2 -o metrics2.txt -w '%{http_code}' "$U/metrics")
expect_eq "/metrics after idle connections" 200 "$code"
frames2=$(grep -E '^cryptosup_ws_frames_total\{exchange="binance"\}' metrics2.txt | awk '{print $2}')
[ "${frames2:-0}" -gt "${frames1:-0}" ] && pass || fail "frames did not advance ($frames1 -> $frames2)"

# A slow client that sends half a request line is cut off by the header
# timeout (5 s); meanwhile others are served.
exec {slow}<>"/dev/tcp/127.0.0.1/$PORT"
printf 'GET /metr' >&$slow
expect_eq "/healthz beside a slow client" 200 \
    "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/healthz")"
start=$(date +%s)
if timeout 9 cat <&$slow >/dev/null; then pass; else fail "slow client not cut off"; fi
expect_eq "slow client cut off within 7 s" 1 "$(( $(date +%s) - start <= 7 ))"
exec {slow}>&-

# A reload does not rebind: a changed listen address is a WARN.
sed -i 's/127\.0\.0\.1:0/127.0.0.1:1/' config.lua
kill -HUP "$pid"
wait_for 'WARN.*metrics\.listen changed to "127\.0\.0\.1:1": needs a restart' run.log 5 \
    && pass || fail "no restart warning for metrics.listen"
expect_eq "still serving after reload" 200 \
    "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$U/healthz")"

kill -INT "$pid"
wait "$pid"
expect_eq "clean exit" 0 $?
fx_stop
expect_no_grep "no sanitizer report" 'Sanitizer|runtime error' run.log
expect_no_grep "no errors" '\[ERROR\]' run.log
finish
