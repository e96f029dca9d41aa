#!/usr/bin/env bash
# REST against the fake exchange on 127.0.0.1: warm-up fills the 1 h window
# from klines before the WebSocket starts (a rule fires on the warm data
# right after start; candles come out before any live tick); a reload warms
# up only the symbol it adds before subscribing it; polling runs at its
# interval; a 429 with Retry-After stops every request for that long; HTTP
# errors and unusable bodies are counted; https is verified against
# connect.ca_file. Every run exits 0 (no sanitizer report, no leak).
# Nothing leaves the machine.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

fx_start --retime || { finish; exit 1; }
H="http://127.0.0.1:$FX_PORT"
W="ws://127.0.0.1:$FX_PORT"

# The fake's REST log for one venue as "t_ms status uri" lines, oldest
# first.
rest_log() {
    fx_state "venue=$1&messages=0" \
        | grep -oE '"t_ms":[0-9]+,"venue":"[a-z-]+","method":"GET","uri":"[^"]*","status":[0-9]+' \
        | sed -E 's/"t_ms":([0-9]+),"venue":"[a-z-]+","method":"GET","uri":"([^"]*)","status":([0-9]+)/\1 \3 \2/'
}

sanitizer_clean() {  # sanitizer_clean LOG
    expect_no_grep "no sanitizer report in $1" 'AddressSanitizer|LeakSanitizer|runtime error:' "$1"
}

mkdir -p rules
cat >rules/warm.lua <<'LUA'
return { name = "warm_1h", window = "1h", threshold_pct = 0.01 }
LUA

# ---- 1. warm-up first, then the WebSocket; a reload warms what it adds ----

cat >config.lua <<LUA
return {
    rules = "rules",
    windows = { "1h" },
    exchanges = {
        binance = { url = "$W/binance/ws", rest_url = "$H/binance",
                    symbols = { "BTC/USDT" } },
    },
    connect = { backoff_initial_ms = 100, backoff_max_ms = 500 },
}
LUA
"$CS_BIN" check -c config.lua >check.out 2>&1
expect_eq "config checks" 0 $?

"$CS_BIN" run -c config.lua --emit ticks,alerts >out1.jsonl 2>run1.log &
pid=$!
wait_for '"type":"alert","state":"firing","rule":"warm_1h"' out1.jsonl 15 \
    && pass || fail "no alert on warm data"
wait_for "connected to $W/binance/ws" run1.log 15 && pass || fail "no WebSocket"
wait_for '"qty":"' out1.jsonl 15 && pass || fail "no live tick"

# The 1 h window was complete on warm data: the alert has a change and a
# reference from an hour back.
expect_grep "alert over 1h with a change" \
    '"rule":"warm_1h".*"window":"1h","change":-?[0-9]' out1.jsonl
# 1 h + 5 min of closed 1-minute candles, as trade ticks without qty.
expect_eq "warm-up candles" 65 "$(count '"kind":"trade",.*"qty":null' out1.jsonl)"
# All of them before the first live tick, and the warm-up log line before
# the WebSocket connected.
last_candle=$(grep -nE '"kind":"trade",.*"qty":null' out1.jsonl | tail -1 | cut -d: -f1)
first_live=$(grep -nE '"qty":"' out1.jsonl | head -1 | cut -d: -f1)
[ -n "$last_candle" ] && [ -n "$first_live" ] && [ "$last_candle" -lt "$first_live" ] \
    && pass || fail "candles not before live ticks ($last_candle, $first_live)"
warm_line=$(grep -n "warm-up done" run1.log | head -1 | cut -d: -f1)
conn_line=$(grep -n "connected to" run1.log | head -1 | cut -d: -f1)
[ -n "$warm_line" ] && [ -n "$conn_line" ] && [ "$warm_line" -lt "$conn_line" ] \
    && pass || fail "WebSocket connected before the warm-up was done"
rest_log binance >log1.txt
expect_eq "one klines page" 1 "$(count 'klines\?symbol=BTCUSDT&interval=1m' log1.txt)"

# Reload adding ETH/USDT: only ETH is warmed up, and only then subscribed.
sed -i 's/symbols = { "BTC\/USDT" }/symbols = { "BTC\/USDT", "ETH\/USDT" }/' config.lua
kill -HUP $pid
wait_count_above "subscriptions: 1 added" run1.log 1 15 && pass || fail "ETH not subscribed"
expect_grep "reload warms one symbol" "warming up 1 symbols" run1.log
rest_log binance >log1.txt
expect_eq "ETH klines" 1 "$(count 'klines\?symbol=ETHUSDT' log1.txt)"
expect_eq "BTC not warmed again" 1 "$(count 'klines\?symbol=BTCUSDT' log1.txt)"
warm_line=$(grep -n "warm-up done" run1.log | sed -n 2p | cut -d: -f1)
sub_line=$(grep -n "subscriptions: 1 added" run1.log | sed -n 2p | cut -d: -f1)
[ -n "$warm_line" ] && [ -n "$sub_line" ] && [ "$warm_line" -lt "$sub_line" ] \
    && pass || fail "ETH subscribed before its warm-up"

kill -TERM $pid
wait $pid; expect_eq "run 1 exit code" 0 $?
expect_grep "REST stats at exit" "binance REST: 2 requests \(2 ok, 0 rate limited" run1.log
sanitizer_clean run1.log

# ---- 2. polling, 429 with Retry-After, errors ----

curl -s -m 5 -X POST "127.0.0.1:$FX_CTL/reset" >/dev/null
cat >config.lua <<LUA
return {
    rules = "rules",
    windows = { "1h" },
    exchanges = {
        binance = { rest_url = "$H/binance", transport = "rest",
                    poll_interval_ms = 200, warmup = false,
                    symbols = { "BTC/USDT" } },
    },
}
LUA
"$CS_BIN" run -c config.lua --emit ticks >out2.jsonl 2>run2.log &
pid=$!
wait_count_above '"kind":"ticker"' out2.jsonl 7 10 && pass || fail "no polled ticks"
expect_no_grep "no WebSocket for transport rest" "connected to" run2.log

fx_fault '{"venue":"binance","kind":"http_status","status":429,"retry_after_s":3}' >/dev/null
for _ in $(seq 50); do rest_log binance | grep -q ' 429 ' && break; sleep 0.1; done
sleep 4    # the 3 s pause, then polling again
fx_fault '{"venue":"binance","kind":"http_status","status":500,"count":2}' >/dev/null
sleep 2
fx_fault '{"venue":"binance","kind":"rest_garbage"}' >/dev/null
sleep 2
kill -TERM $pid
wait $pid; expect_eq "run 2 exit code" 0 $?
sanitizer_clean run2.log

rest_log binance >log2.txt
t429=$(awk '$2 == 429 { print $1; exit }' log2.txt)
[ -n "$t429" ] && pass || fail "the fake never answered 429"
# Not one request while Retry-After ran, and polling resumed after it.
expect_eq "requests during Retry-After" 0 \
    "$(awk -v t="$t429" '$1 > t && $1 < t + 3000' log2.txt | wc -l)"
[ "$(awk -v t="$t429" '$1 >= t + 3000' log2.txt | wc -l)" -gt 3 ] \
    && pass || fail "polling did not resume after the pause"
# Before the 429: one request per interval, neither faster nor much
# slower (bounded by counts over the span, not by single gaps).
awk -v t="$t429" '$1 < t { n++; if (!f) f = $1; l = $1 }
    END { gap = (l - f) / (n - 1); exit !(n >= 8 && gap >= 180 && gap <= 400) }' log2.txt \
    && pass || fail "polls not at the 200 ms interval: $(awk -v t="$t429" '$1 < t' log2.txt | wc -l) before the 429"
awk 'NR > 1 && $1 - p < 150 && s == 200 { bad++ } { p = $1; s = $2 }
     END { exit bad > 0 }' log2.txt && pass || fail "a poll came early"
# Counted by kind; the fake saw exactly the requests we counted.
n500=$(awk '$2 == 500' log2.txt | wc -l)
expect_eq "two 500s served" 2 "$n500"
nreq=$(wc -l <log2.txt)
expect_grep "stats by kind" "binance REST: $nreq requests \([0-9]+ ok, 1 rate limited, 2 HTTP errors, 0 failed, 1 unusable\)" run2.log
nok=$(awk '$2 == 200' log2.txt | wc -l)
expect_eq "one tick per good poll" "$((nok - 1))" "$(count '"kind":"ticker"' out2.jsonl)"
expect_grep "polled price" '"raw_symbol":"BTCUSDT","kind":"ticker","ts":[0-9]+,"price":"60740.00000000"' out2.jsonl
expect_grep "429 logged" 'HTTP 429 \(rate limited\): pausing every request to binance for 3.0s \(Retry-After\)' run2.log
fx_stop

# ---- 3. https, verified against connect.ca_file ----

if command -v openssl >/dev/null 2>&1 && bash "$CS_SOURCE_DIR/scripts/make-test-cert.sh" tls >/dev/null 2>&1; then
    fx_start --tls --cert tls/cert.pem --key tls/key.pem || { finish; exit 1; }
    for ca in with without; do
        cat >config.lua <<LUA
return {
    rules = "rules",
    windows = { "1h" },
    exchanges = {
        binance = { rest_url = "https://127.0.0.1:$FX_PORT/binance", transport = "rest",
                    poll_interval_ms = 200, symbols = { "BTC/USDT" } },
    },
    $([ $ca = with ] && echo 'connect = { ca_file = "tls/cert.pem" },')
}
LUA
        "$CS_BIN" run -c config.lua --emit ticks >out3.jsonl 2>run3.log &
        pid=$!
        if [ $ca = with ]; then
            wait_count_above '"kind":"ticker"' out3.jsonl 2 10 && pass \
                || fail "no ticks over https with the CA file"
            wait_for "warm-up done" run3.log 10 && pass || fail "no warm-up over https"
        else
            wait_for "request failed \(tls\)" run3.log 10 && pass \
                || fail "an unknown certificate was accepted"
        fi
        kill -TERM $pid
        wait $pid; expect_eq "https run ($ca CA) exit code" 0 $?
        sanitizer_clean run3.log
        if [ $ca = without ]; then
            expect_eq "no ticks from an unverified peer" 0 "$(count '"type":"tick"' out3.jsonl)"
            expect_grep "TLS failures counted" "binance REST: [1-9][0-9]* requests \(0 ok, 0 rate limited, 0 HTTP errors, [1-9][0-9]* failed" run3.log
        fi
    done
    fx_stop
else
    echo "openssl not found: https part skipped"
fi

finish
