#!/usr/bin/env bash
# replay: every fixture file runs clean (also fed to the wrong parser),
# output is byte-identical across runs, tick counts match the recordings,
# the real-price history crosses the classic thresholds where it should,
# and --speed paces.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"
EX=$FIX/exchanges

# Every recorded file, as its own venue and as each of the others: bad
# input is counted and logged, never fatal.
for f in "$EX"/*/*.jsonl; do
    for venue in binance coinbase; do
        "$CS_BIN" replay --exchange $venue --emit ticks,alerts "$f" \
            >out.jsonl 2>err.log
        rc=$?
        if [ $rc -ne 0 ]; then
            fail "replay $f as $venue exited $rc"; tail -5 err.log >&2
        else
            pass
        fi
        expect_no_grep "no sanitizer report ($f)" "runtime error|AddressSanitizer" err.log
    done
done

# Ticks per recording (Binance bookTicker + aggTrade; Coinbase ticker and
# trades): the parser tests pin the same numbers frame by frame.
"$CS_BIN" replay --emit ticks "$EX/binance/ws_spot_combined_2021-04-17.jsonl" \
    >b1.jsonl 2>b1.err
expect_eq "binance 2021-04-17 ticks" 594 "$(grep -c '"type":"tick"' b1.jsonl)"
expect_eq "bookTicker quotes" 570 "$(grep -c '"kind":"quote"' b1.jsonl)"
expect_grep "aggTrade as trade" '"symbol":"AAVEUP/USDT","raw_symbol":"AAVEUPUSDT","kind":"trade"' b1.jsonl
expect_grep "recv_ts from companion file" '"recv_ts":1618677372' b1.jsonl
expect_grep "summary logged" "frames 1228 " b1.err

# Byte-identical output for the same input.
for i in 1 2; do
    "$CS_BIN" replay --emit ticks,alerts "$EX"/binance/*.jsonl \
        "$EX"/coinbase/*.jsonl >run$i.jsonl 2>/dev/null
done
if cmp -s run1.jsonl run2.jsonl; then pass; else fail "replay not deterministic"; fi
expect_eq "nonempty output" 1 "$([ -s run1.jsonl ] && echo 1)"

# --metrics-out: the engine's counters after the replay, Prometheus text.
"$CS_BIN" replay --metrics-out m.prom "$EX/binance/ws_spot_combined_2021-04-17.jsonl" 2>/dev/null
expect_grep "metrics: ticks" '^cryptosup_ticks_total\{exchange="binance"\} 594$' m.prom
expect_grep "metrics: frames" '^cryptosup_frames_total\{class="ignored"\} 634$' m.prom
expect_grep "metrics: price" '^crypto_price\{exchange="binance",symbol="AAVEUP/USDT"\} ' m.prom

# Without the companion file, receive times are unknown.
mkdir -p solo/binance
cp "$EX/binance/ws_spot_combined_2021-10-12.jsonl" solo/binance/x.jsonl
"$CS_BIN" replay --emit ticks solo/binance/x.jsonl >solo.jsonl 2>/dev/null
expect_grep "recv_ts null" '"recv_ts":null' solo.jsonl
expect_no_grep "no recv_ts values" '"recv_ts":[0-9]' solo.jsonl

# Real prices of 12-14 March 2023 through the shipped rules (1 h and 24 h
# windows). The expected alerts were computed independently from the CSV by
# the definition in README "Windows" (see tests/fixtures/synthetic/).
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl
"$CS_BIN" replay --emit alerts "$H" >alerts.jsonl 2>alerts.err
expect_eq "history replay exit" 0 $?
diff -u "$FIX/synthetic/expected_alerts_btcusdt_2023-03-12_14.jsonl" alerts.jsonl \
    >alerts.diff && pass || { fail "alerts differ"; head -40 alerts.diff >&2; }
# When python3 is around, check again against the oracle itself.
if command -v python3 >/dev/null 2>&1; then
    python3 "$(dirname "$0")/oracle_classic_alerts.py" "$H" >oracle.txt
    python3 -c '
import json, sys
from decimal import Decimal
for line in open(sys.argv[1]):
    a = json.loads(line)
    w = {"1h": 3600, "24h": 86400}[a["window"]]
    print(a["ts"], a["rule"], w, "%.6f" % a["change"], a["price"],
          Decimal(a["reference"]).normalize())' alerts.jsonl >ours.txt
    diff -u oracle.txt ours.txt >oracle.diff && pass || {
        fail "engine and oracle disagree"; head -20 oracle.diff >&2; }
fi
expect_grep "alert logged" "\[INFO\] alerts: FIRING move_24h_5pct binance BTC/USDT: \+" alerts.err

# --speed paces by the recorded receive times: 30 s of data at 100x takes
# at least 0.25 s (a lower bound only; speed itself is not tested here).
start=$(date +%s%N)
"$CS_BIN" replay --speed 100 "$EX/binance/ws_spot_combined_2021-10-12.jsonl" \
    >/dev/null 2>&1
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ "$elapsed_ms" -ge 250 ]; then pass; else fail "--speed 100 took ${elapsed_ms} ms"; fi

# A capture that lost frames (the recorder's ring was full) says so with a
# record_gap event: replay gaps every instrument of the exchange, and a
# rule's on_gap sees kind "record".
mkdir -p gaprules capture/binance
cat >gaprules/g.lua <<'LUA'
return {
    name = "gaps", window = "1h", threshold_pct = 50,
    on_gap = function(ev) print("gap " .. ev.kind .. " " .. ev.symbol) end,
}
LUA
cat >gap.lua <<'LUA'
return { rules = "gaprules" }
LUA
head -n 100 "$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl" >capture/binance/live.jsonl
echo '#cs-event {"kind":"record_gap","frames":3,"events":0,"bytes":360}' >>capture/binance/live.jsonl
sed -n '104,200p' "$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl" >>capture/binance/live.jsonl
"$CS_BIN" replay -c gap.lua capture/binance/live.jsonl >/dev/null 2>gap.err
expect_eq "replay with a record gap" 0 $?
expect_grep "record gap reaches on_gap" "gap record BTC/USDT" gap.err
expect_no_grep "not an unknown event" "unknown capture event" gap.err

finish
