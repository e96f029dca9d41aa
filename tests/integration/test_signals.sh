#!/usr/bin/env bash
# Signals: SIGHUP reloads atomically (a broken reload keeps the running
# set), SIGTERM and SIGINT stop with exit 0, a second signal forces exit.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

mkdir -p rules
cat >config.lua <<'LUA'
-- Port 9 (discard) on loopback is closed: the connector keeps retrying,
-- which must not disturb reloads or shutdown. Nothing leaves the machine.
return {
    rules = "rules",
    exchanges = { binance = { symbols = { "BTC/USDT" }, url = "ws://127.0.0.1:9/ws" } },
    connect = { backoff_initial_ms = 50, backoff_max_ms = 200 },
}
LUA
cat >rules/a.lua <<'LUA'
return { name = "a", window = "1h", threshold_pct = 2 }
LUA

"$CS_BIN" run -c config.lua >run.out 2>run.log &
pid=$!
wait_for "running with config.lua: 1 rules" run.log 10 && pass || fail "run did not start"

cat >rules/b.lua <<'LUA'
return { name = "b", window = "24h", threshold_pct = 5 }
LUA
kill -HUP $pid
wait_for "reloaded: 2 rules" run.log 10 && pass || fail "reload not logged"

cat >rules/c.lua <<'LUA'
return { name = "c", window = "1h" threshold_pct = 5 }
LUA
kill -HUP $pid
wait_for "reload failed; keeping the running config and 2 rules" run.log 10 \
    && pass || fail "failed reload not reported"
expect_grep "file:line of the broken rule" "rules/c.lua:1:" run.log
kill -0 $pid 2>/dev/null && pass || fail "died after a failed reload"

kill -TERM $pid
wait $pid; expect_eq "SIGTERM exit code" 0 $?
expect_grep "stopping" "stopping" run.log

rm rules/c.lua
"$CS_BIN" run -c config.lua --metrics-out final.prom >/dev/null 2>run2.log &
pid=$!
wait_for "running with" run2.log 10
wait_for "attempt 2\)" run2.log 10
kill -INT $pid
wait $pid; expect_eq "SIGINT exit code" 0 $?
# The final metrics: every collector rendered; connection attempts to the
# closed port were counted.
expect_grep "connect failures counted" '^cryptosup_connect_failures_total\{exchange="binance"\} [1-9]' final.prom
expect_grep "reload status" '^cryptosup_config_last_reload_successful 1$' final.prom
expect_grep "histogram family" '^# TYPE api_latency_seconds histogram$' final.prom
expect_grep "alert delivery counters" '^cryptosup_alerts_sent_total 0$' final.prom
expect_grep "alert queue depth" '^cryptosup_alert_queue_depth 0$' final.prom

# A reload that changes what the store set up at start says it needs a
# restart (the database is unreachable here: the store keeps buffering).
cat >store.lua <<LUA
return {
    rules = "rules",
    exchanges = { binance = { symbols = { "BTC/USDT" }, url = "ws://127.0.0.1:9/ws" } },
    metrics = { listen = "127.0.0.1:0" },
    storage = { postgres = "host=127.0.0.1 port=9 dbname=none password=sekrit-pw connect_timeout=1",
                spill_dir = "$SCRATCH/spill" },
}
LUA
"$CS_BIN" run -c store.lua >/dev/null 2>store.log &
pid=$!
wait_for "running with store.lua" store.log 10 && pass || fail "run with storage did not start"
sed -i 's/port=9 dbname=none/port=10 dbname=none/' store.lua
kill -HUP $pid
wait_for "storage.postgres changed: applies after a restart" store.log 10 && pass || fail "no restart WARN for a DSN change"
expect_no_grep "password not logged" "sekrit-pw" store.log
kill -TERM $pid
wait $pid; expect_eq "run with storage exit" 0 $?

# A second signal forces exit even when the process is stuck: here it is
# blocked writing to a pipe nobody reads.
mkfifo stuck.fifo
exec 3<>stuck.fifo
"$CS_BIN" replay --emit ticks "$FIX"/exchanges/binance/ws_spot_combined_2021-04-17.jsonl \
    >stuck.fifo 2>stuck.log &
pid=$!
sleep 1
kill -TERM $pid; sleep 0.3; kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then
    fail "second signal did not force exit"; kill -KILL $pid
fi
wait $pid; expect_eq "forced exit code" 1 $?
exec 3>&-

finish
