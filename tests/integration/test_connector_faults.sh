#!/usr/bin/env bash
# The fault matrix: every fault on every venue at once, and each venue's
# ticks must flow again within the reconnect bound (backoff cap + idle
# bound + slack). Then the 24 h rotation compressed in time (max_lifetime_ms)
# must rotate make-before-break with no reconnect gap, and a reload that
# drops a symbol must unsubscribe it on the open connection while the
# others keep flowing. Loopback only; bounded in time.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

fx_start --speed 4 --retime --ping-interval-ms 400 --heartbeat-ms 200 || { finish; exit 1; }
W="ws://127.0.0.1:$FX_PORT"
RECOVERY_S=12   # backoff cap 0.8 s + idle bound 1.5 s + handshakes refused

mkdir -p rules
echo 'return { name = "m", window = "1h", threshold_pct = 50 }' >rules/m.lua
write_config() {  # write_config OKX_SYMBOLS
    cat >config.lua <<LUA
return {
    rules = "rules",
    exchanges = {
        binance = { url = "$W/binance/ws", symbols = { "BTC/USDT" },
                    channels = { "aggTrade", "bookTicker" }, idle_timeout_ms = 1500 },
        coinbase = { url = "$W/coinbase", symbols = { "BTC/USD" }, idle_timeout_ms = 1500 },
        ["coinbase-exchange"] = { url = "$W/coinbase-exchange", symbols = { "BTC/USD" },
                                  idle_timeout_ms = 1500 },
        kraken = { url = "$W/kraken/v2", symbols = { "BTC/USD" }, idle_timeout_ms = 1500 },
        okx = { url = "$W/okx/ws/v5/public", symbols = { $1 },
                idle_timeout_ms = 1500, ping_interval_ms = 500 },
        bybit = { url = "$W/bybit/v5/public/spot", symbols = { "BTC/USDT" },
                  idle_timeout_ms = 1500, ping_interval_ms = 500 },
        ["bybit-linear"] = { url = "$W/bybit/v5/public/linear", symbols = { "BTC/USDT" },
                             idle_timeout_ms = 1500, ping_interval_ms = 500 },
    },
    connect = { backoff_initial_ms = 100, backoff_max_ms = 800, healthy_after_ms = 1000,
                max_frame_kb = 1024 },
}
LUA
}
write_config '"BTC/USDT", "ETH/USDT"'

"$CS_BIN" run -c config.lua --emit ticks >live.jsonl 2>run.log &
pid=$!

VENUES="binance coinbase coinbase-exchange kraken okx bybit bybit-linear"
fx_name() {  # our exchange name -> the fake's venue name
    case $1 in bybit) echo bybit-spot ;; *) echo "$1" ;; esac
}
ticks_of() { count "\"type\":\"tick\",\"exchange\":\"$1\"" live.jsonl; }

for x in $VENUES; do
    wait_for "\"type\":\"tick\",\"exchange\":\"$x\"" live.jsonl 15 \
        && pass || fail "no ticks from $x"
done

FAULTS=(
    '"kind":"close_abrupt"'
    '"kind":"close_abrupt","rst":true'
    '"kind":"close_code","code":4001,"reason":"bye"'
    '"kind":"stall"'
    '"kind":"garbage"'
    '"kind":"truncated"'
    '"kind":"oversize","bytes":2097152'
    '"kind":"binary"'
    '"kind":"reject","scope":"next","count":2,"code":503'
)
for fault in "${FAULTS[@]}"; do
    declare -A before=()
    for x in $VENUES; do
        before[$x]=$(ticks_of "$x")
        fx_fault "{\"venue\":\"$(fx_name "$x")\",$fault}" >/dev/null
        # A refused handshake only matters when there is one: drop the line.
        case $fault in *reject*) fx_fault "{\"venue\":\"$(fx_name "$x")\",\"kind\":\"close_abrupt\"}" >/dev/null ;; esac
    done
    for x in $VENUES; do
        wait_count_above "\"type\":\"tick\",\"exchange\":\"$x\"" live.jsonl \
            "${before[$x]}" $RECOVERY_S \
            && pass || fail "$x: no ticks within ${RECOVERY_S}s after {$fault}"
    done
    fx_state >/dev/null && kill -0 $pid 2>/dev/null && pass || fail "died after {$fault}"
done
expect_grep "stale streams seen" "conn.kraken: no frame for .*stale" run.log
expect_grep "garbage logged" "venue.binance: (malformed|unknown)" run.log
expect_grep "oversize dropped" "conn.bybit-linear: frame of [0-9]+ bytes dropped" run.log
expect_grep "refused handshake retried" "conn.okx: cannot connect to" run.log

# A reload that drops ETH/USDT from okx: unsubscribed on the open
# connection, BTC/USDT keeps flowing, other exchanges untouched.
connects_before=$(grep -c "conn.binance: connected to" run.log)
write_config '"BTC/USDT"'
kill -HUP $pid
wait_for "conn.okx: subscriptions: 0 added, 1 removed" run.log 10 \
    && pass || fail "okx unsubscribe not applied"
for _ in $(seq 50); do
    fx_state "venue=okx&messages=1" >okx.json
    grep -q '\\"op\\":\\"unsubscribe\\",\\"args\\":\[{\\"channel\\":\\"tickers\\",\\"instId\\":\\"ETH-USDT\\"' okx.json && break
    sleep 0.1
done
expect_grep "okx unsubscribe message" '\\"op\\":\\"unsubscribe\\",\\"args\\":\[\{\\"channel\\":\\"tickers\\",\\"instId\\":\\"ETH-USDT\\"' okx.json
before_btc=$(count '"exchange":"okx","symbol":"BTC/USDT"' live.jsonl)
wait_count_above '"exchange":"okx","symbol":"BTC/USDT"' live.jsonl "$before_btc" 10 \
    && pass || fail "okx BTC/USDT stopped after the reload"
expect_eq "binance not reconnected by the reload" "$connects_before" \
    "$(grep -c "conn.binance: connected to" run.log)"

kill -TERM $pid
wait $pid; expect_eq "exit code" 0 $?
expect_no_grep "no sanitizer report" "runtime error|AddressSanitizer|LeakSanitizer" run.log

# The 24 h limit, compressed: rotate before the lifetime is up, opening the
# replacement first; no reconnect (no gap) is involved.
cat >rotate.lua <<LUA
return {
    rules = "rules",
    exchanges = {
        binance = { url = "$W/binance/ws", symbols = { "BTC/USDT" },
                    channels = { "aggTrade", "bookTicker" }, max_lifetime_ms = 2500 },
    },
}
LUA
"$CS_BIN" run -c rotate.lua --emit ticks >rot.jsonl 2>rot.log &
pid=$!
wait_for "conn.binance: connection reached its maximum lifetime" rot.log 10 \
    && pass || fail "no lifetime rotation"
wait_for "conn.binance: replacement connection is live; closing the old one" rot.log 10 \
    && pass || fail "replacement not made before the old connection closed"
wait_for "replacement connection is live" rot.log 10
n=$(count '"exchange":"binance"' rot.jsonl)
wait_count_above '"exchange":"binance"' rot.jsonl "$n" 10 && pass || fail "no ticks after rotation"
kill -TERM $pid
wait $pid; expect_eq "exit code after rotations" 0 $?
expect_no_grep "rotation is not a lost connection" "connection lost|windows marked gapped" rot.log
expect_grep "rotations counted" "binance: [0-9]+ frames, [0-9]+ connects, 0 reconnects, .* [1-9][0-9]* rotations" rot.log

fx_stop
finish
