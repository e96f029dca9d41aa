#!/usr/bin/env bash
# Webhooks against a real local HTTP server (tests/integration/
# webhook_sink.py): the JSON document with its HMAC signature and headers
# from the environment; Slack, Discord and Telegram shapes with hostile
# text made harmless; secrets never in the log; retries through 503s with
# Retry-After (delivered once); a 404 given up at once; a burst of 1,000+
# alerts grouped within the caps with nothing lost; config errors with
# file:line; and a SIGHUP that re-routes a running process.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
SINK=$(cd "$(dirname "$0")" && pwd)/webhook_sink.py
cd "$SCRATCH"
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl

SINK_PIDS=()
sink_start() {  # sink_start DIR [options]; sets SINK_PORT
    local dir=$1
    shift
    mkdir -p "$dir"
    rm -f "$dir/ready"
    "$PY" "$SINK" --dir "$dir" --exit-after 240 "$@" 2>>sink.log &
    SINK_PIDS+=($!)
    wait_for . "$dir/ready" 10 || fail "webhook sink did not start"
    SINK_PORT=$(cat "$dir/ready")
}
sinks_stop() {
    for p in "${SINK_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    SINK_PIDS=()
}
trap 'sinks_stop; [ -z "${CS_KEEP:-}" ] && rm -rf "$SCRATCH"' EXIT

no_sanitizer() {
    expect_no_grep "no sanitizer report ($1)" "runtime error|AddressSanitizer|LeakSanitizer" "$1"
}
metric() {  # metric FILE NAME
    sed -nE "s/^$2 ([0-9]+)$/\1/p" "$1"
}
# Python one-liners over the recorded requests.
q() { "$PY" - "$@"; }

mkdir -p rules
cp "$CS_SOURCE_DIR/rules/classic.lua" rules/
cat >rules/evil.lua <<'LUA'
return {
    name = "evil",
    window = "1h",
    cooldown = "24h",
    severity = "critical",
    condition = function(tick, w, firing)
        return true, '<!channel> @everyone "quoted"\r\nX-Evil: 1 <https://x|y>'
    end,
}
LUA

# ---- 1: four formats, one replay ----
sink_start s1
P1=$SINK_PORT
cat >c1.lua <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = {
        webhooks = {
            { name = "ops", url = "http://127.0.0.1:$P1/json", group_window_s = 0,
              max_per_hour = 1000, hmac_secret_env = "HOOK_SECRET",
              headers = { ["X-Api-Key"] = "k-123", Authorization = { env = "HOOK_AUTH" } } },
            { name = "chat", format = "slack", url_env = "SLACK_URL", group_window_s = 60 },
            { name = "dc", format = "discord", url = "http://127.0.0.1:$P1/discord",
              group_window_s = 60, severities = { "critical" } },
            { name = "tg", format = "telegram", api_url = "http://127.0.0.1:$P1/tg",
              bot_token_env = "TG_TOKEN", chat_id = "-100777", group_window_s = 60 },
        },
    },
}
LUA
"$CS_BIN" check -c c1.lua >c1.check 2>&1
expect_grep "check lists the routes" '^alert routes: webhook:ops \(json\), webhook:chat \(slack\), webhook:dc \(discord\), webhook:tg \(telegram\)$' c1.check
HOOK_SECRET=hmac-secret-value HOOK_AUTH="Bearer auth-secret-value" \
SLACK_URL="http://127.0.0.1:$P1/slack/T000/B000/slack-secret-path" \
TG_TOKEN="123:tg-secret-token" \
    "$CS_BIN" replay -c c1.lua --metrics-out m1.prom "$H" >/dev/null 2>r1.log
expect_eq "replay 1 exit" 0 $?
fired=$(grep -c 'alerts: FIRING' r1.log)
[ "$fired" -gt 20 ] && pass || fail "expected alerts to fire, got $fired"
q s1 "$fired" >q1.out <<'PY'
import glob, hashlib, hmac, json, sys
d, fired = sys.argv[1], int(sys.argv[2])
reqs = [json.load(open(f)) for f in glob.glob(d + "/req-*.json")]
by = lambda p: [r for r in reqs if r["path"].startswith(p)]
out = []
js = by("/json")
n = sum(json.loads(r["body"])["count"] for r in js)
out.append("json_alerts %d" % n)
out.append("json_messages %d" % len(js))
ok = 0
for r in js:
    h = {k.lower(): v for k, v in r["headers"].items()}
    mac = hmac.new(b"hmac-secret-value", (h["x-cryptosup-timestamp"] + "." + r["body"]).encode(), hashlib.sha256).hexdigest()
    ok += (h["x-cryptosup-signature"] == "sha256=" + mac and h["x-api-key"] == "k-123"
           and h["authorization"] == "Bearer auth-secret-value"
           and h["content-type"] == "application/json"
           and h["x-cryptosup-message-id"] == json.loads(r["body"])["id"])
out.append("json_signed %d" % ok)
doc = json.loads(js[0]["body"])
a = doc["alerts"][0]
out.append("json_fields %s" % ",".join(sorted(a.keys())))
out.append("json_doc %s %s %s" % (doc["source"], doc["route"], doc["kind"]))
ev = [x for r in js for x in json.loads(r["body"])["alerts"] if x["rule"] == "evil"]
out.append("json_evil_message %s" % json.dumps(ev[0]["message"]))
sl = by("/slack/T000/B000/slack-secret-path")
out.append("slack_messages %d" % len(sl))
t = json.loads(sl[0]["body"])["text"]
out.append("slack_lines %d" % (t.count("\n")))
out.append("slack_escaped %d" % ("&lt;!channel&gt;" in t and "<" not in t))
dc = by("/discord")
out.append("discord_messages %d" % len(dc))
b = json.loads(dc[0]["body"])
out.append("discord_mentions %s" % json.dumps(b["allowed_mentions"]))
out.append("discord_only_critical %d" % ("move_" not in b["content"] and "evil" in b["content"]))
tg = by("/tg/")
out.append("tg_path %s" % tg[0]["path"])
b = json.loads(tg[0]["body"])
out.append("tg_chat %s" % b["chat_id"])
out.append("tg_len_ok %d" % (len(b["text"]) <= 4096))
print("\n".join(out))
PY
cat q1.out >&2
expect_grep "every alert reached the JSON webhook" "^json_alerts $fired$" q1.out
expect_grep "one JSON message per alert (group_window_s = 0)" "^json_messages $fired$" q1.out
expect_grep "every JSON post signed, with its headers" "^json_signed $fired$" q1.out
expect_grep "JSON alert fields" '^json_fields change,exchange,id,message,price,raw_symbol,reference,rule,severity,state,symbol,ts,window$' q1.out
expect_grep "JSON document" '^json_doc cryptosup webhook:ops alerts$' q1.out
expect_grep "hostile message kept as data" '^json_evil_message "<!channel> @everyone \\"quoted\\"\\r\\nX-Evil: 1 <https://x\|y>"$' q1.out
expect_grep "slack: one grouped message" '^slack_messages 1$' q1.out
expect_grep "slack: title plus one line per alert" "^slack_lines $fired$" q1.out
expect_grep "slack: markup escaped" '^slack_escaped 1$' q1.out
expect_grep "discord: one message" '^discord_messages 1$' q1.out
expect_grep "discord: mentions disabled" '^discord_mentions \{"parse": \[\]\}$' q1.out
expect_grep "discord: severity filter" '^discord_only_critical 1$' q1.out
expect_grep "telegram: bot API path" '^tg_path /tg/bot123:tg-secret-token/sendMessage$' q1.out
expect_grep "telegram: chat id" '^tg_chat -100777$' q1.out
expect_grep "telegram: within 4096" '^tg_len_ok 1$' q1.out
for s in hmac-secret-value auth-secret-value slack-secret-path tg-secret-token; do
    expect_no_grep "secret $s not logged" "$s" r1.log
done
expect_grep "route named in logs" 'alerts.webhook: webhook:chat: sent message' r1.log
expect_eq "sent counted (json, slack, telegram: all; discord: 1)" $((3 * fired + 1)) "$(metric m1.prom cryptosup_alerts_sent_total)"
expect_eq "nothing failed" 0 "$(metric m1.prom cryptosup_alerts_failed_total)"
expect_eq "per route: ops" "$fired" "$(metric m1.prom 'cryptosup_route_alerts_sent_total\{route="webhook:ops"\}')"
expect_eq "per route: dc" 1 "$(metric m1.prom 'cryptosup_route_alerts_sent_total\{route="webhook:dc"\}')"
expect_eq "per route: tg failed" 0 "$(metric m1.prom 'cryptosup_route_alerts_failed_total\{route="webhook:tg"\}')"
no_sanitizer r1.log
sinks_stop

# ---- 2: 503 with Retry-After twice, then accepted: delivered once ----
sink_start s2 --fail 2 --retry-after 1
cat >c2.lua <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = { webhooks = { { name = "flaky", url = "http://127.0.0.1:$SINK_PORT/hook",
                              group_window_s = 60, retry_initial_ms = 100,
                              retry_max_ms = 200, drain_timeout_ms = 20000 } } },
}
LUA
"$CS_BIN" replay -c c2.lua --metrics-out m2.prom "$H" >/dev/null 2>r2.log
expect_eq "replay 2 exit" 0 $?
fired=$(grep -c 'alerts: FIRING' r2.log)
expect_eq "three attempts" 3 "$(ls s2/req-*.json | wc -l)"
expect_grep "Retry-After honoured over the 100 ms backoff" 'attempt 1 failed, retrying in 1000 ms' r2.log
expect_grep "the 503 logged with host, not path" 'webhook:flaky: message [0-9.]+ to 127\.0\.0\.1:[0-9]+: HTTP 503' r2.log
expect_eq "same message each attempt" 1 "$(q s2 <<'PY'
import glob, json, sys
print(len({json.loads(open(f).read())["body"] for f in glob.glob(sys.argv[1] + "/req-*.json")}))
PY
)"
expect_eq "sent once" "$fired" "$(metric m2.prom cryptosup_alerts_sent_total)"
expect_eq "not failed" 0 "$(metric m2.prom cryptosup_alerts_failed_total)"
no_sanitizer r2.log
sinks_stop

# ---- 3: a 404 is permanent: one attempt, counted failed ----
sink_start s3 --status /gone=404
cat >c3.lua <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = { webhooks = { { name = "gone", url = "http://127.0.0.1:$SINK_PORT/gone",
                              group_window_s = 60, retry_initial_ms = 100 } } },
}
LUA
"$CS_BIN" replay -c c3.lua --metrics-out m3.prom "$H" >/dev/null 2>r3.log
fired=$(grep -c 'alerts: FIRING' r3.log)
expect_eq "one attempt on 404" 1 "$(ls s3/req-*.json | wc -l)"
expect_grep "given up at once" 'webhook:gone: giving up on message [0-9.]+ \('"$fired"' alert\(s\)\) after 1 attempt' r3.log
expect_eq "failed counted" "$fired" "$(metric m3.prom cryptosup_alerts_failed_total)"
expect_eq "failed counted per route" "$fired" "$(metric m3.prom 'cryptosup_route_alerts_failed_total\{route="webhook:gone"\}')"
sinks_stop

# ---- 4: a burst of 4,320 alerts: grouped, capped, digest, none lost ----
mkdir -p brules
cat >brules/every.lua <<'LUA'
return { name = "every_tick", mode = "every", condition = function() return true end }
LUA
sink_start s4
cat >c4.lua <<LUA
return {
    rules = "brules",
    limits = { alert_queue_size = 100000 },
    alerts = { webhooks = { { name = "burst", url = "http://127.0.0.1:$SINK_PORT/b",
                              group_window_s = 3600, max_per_hour = 2 } } },
}
LUA
"$CS_BIN" replay -c c4.lua --metrics-out m4.prom "$H" >/dev/null 2>r4.log
expect_eq "replay 4 exit" 0 $?
fired=$(metric m4.prom 'cryptosup_alerts_total\{state="fired"\}')
[ "${fired:-0}" -ge 1000 ] && pass || fail "burst: only ${fired:-0} alerts"
q s4 >q4.out <<'PY'
import glob, json, sys
docs = [json.loads(json.load(open(f))["body"]) for f in glob.glob(sys.argv[1] + "/req-*.json")]
print("messages %d" % len([d for d in docs if d["kind"] == "alerts"]))
print("digests %d" % len([d for d in docs if d["kind"] == "digest"]))
print("total %d" % sum(d["count"] for d in docs))
print("max_group %d" % max(len(d["alerts"]) for d in docs))
PY
cat q4.out >&2
expect_grep "at most max_per_hour messages" '^messages 2$' q4.out
expect_grep "one digest for the rest" '^digests 1$' q4.out
expect_grep "every alert accounted for" "^total $fired$" q4.out
expect_grep "groups bounded" '^max_group 1000$' q4.out
expect_eq "burst sent" "$fired" "$(metric m4.prom cryptosup_alerts_sent_total)"
expect_eq "burst not dropped" 0 "$(metric m4.prom cryptosup_alert_queue_dropped_total)"
sinks_stop

# ---- 5: config errors name file:line and key ----
cat >bad.lua <<'LUA'
return {
    alerts = {
        webhooks = {
            { name = "a", url = "http://x/", url_env = "U" },
            { name = "b", format = "teams", url = "http://x/" },
            { name = "c", format = "telegram", chat_id = "1" },
            { name = "d", url = "ftp://x/", headers = { ["Bad Name"] = "v" } },
            { name = "a", url = "http://y/" },
        },
    },
}
LUA
"$CS_BIN" check -c bad.lua >bad.out 2>&1
expect_eq "check fails" 1 $?
expect_grep "url and url_env" 'bad\.lua:4: alerts\.webhooks\[1\]\.url: set exactly one of url and url_env' bad.out
expect_grep "unknown format" 'bad\.lua:5: alerts\.webhooks\[2\]\.format: expected "json", "slack", "discord" or "telegram", got "teams"' bad.out
expect_grep "telegram token" 'bad\.lua:[0-9]+: alerts\.webhooks\[3\]\.bot_token_env: required for telegram' bad.out
expect_grep "scheme" 'bad\.lua:[0-9]+: alerts\.webhooks\[4\]\.url: expected an http:// or https:// URL' bad.out
expect_grep "header name" 'alerts\.webhooks\[4\]\.headers: "Bad Name" is not a valid header name' bad.out
expect_grep "duplicate name" 'alerts\.webhooks: two routes are named "webhook:a"' bad.out

# ---- 5b: test-alert: one synthetic alert through every route ----
sink_start s5 --status /broken=404
cat >t5.lua <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = { webhooks = {
        { name = "good", url = "http://127.0.0.1:$SINK_PORT/good",
          rules = { "some_other_rule" }, severities = { "critical" } },
        { name = "broken", url = "http://127.0.0.1:$SINK_PORT/broken" },
    } },
}
LUA
"$CS_BIN" test-alert -c t5.lua >t5.out 2>t5.log
expect_eq "test-alert exit: one route failed" 1 $?
expect_grep "good route sent (filters do not apply to the test)" '^webhook:good: sent$' t5.out
expect_grep "broken route reported" '^webhook:broken: FAILED' t5.out
expect_grep "the 404 is in the log" 'webhook:broken: message [0-9.]+ to 127\.0\.0\.1:[0-9]+: HTTP 404' t5.log
q s5 >q5.out <<'PY'
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/req-*.json"):
    r = json.load(open(f))
    a = json.loads(r["body"])["alerts"][0]
    print(r["path"], a["rule"], a["symbol"], a["severity"])
PY
expect_grep "the test alert arrived" '^/good cryptosup_test TEST/USD info$' q5.out
cat >t5ok.lua <<LUA
return { rules = "rules", lua_path = "$CS_SOURCE_DIR/lua",
         alerts = { webhooks = { { name = "good", url = "http://127.0.0.1:$SINK_PORT/good" } } } }
LUA
"$CS_BIN" test-alert -c t5ok.lua >t5ok.out 2>&1
expect_eq "test-alert exit when all routes deliver" 0 $?
sinks_stop

# ---- 6: run + SIGHUP: the route is swapped without a restart ----
fx_start --speed 4 --retime || { finish; exit 1; }
sink_start s6
P6=$SINK_PORT
mkdir -p rrules
write_run() {  # write_run RULE PATH
    cat >rrules/r.lua <<LUA
return { name = "$1", mode = "edge", condition = function() return true end }
LUA
    cat >run.lua <<LUA
return {
    rules = "rrules",
    exchanges = { binance = { url = "ws://127.0.0.1:$FX_PORT/binance/ws",
                              symbols = { "BTC/USDT" }, channels = { "aggTrade" },
                              rest_url = "http://127.0.0.1:9" } },
    metrics = { listen = "127.0.0.1:0" },
    alerts = { webhooks = { { name = "live", url = "http://127.0.0.1:$P6$2",
                              group_window_s = 0 } } },
}
LUA
}
write_run first /before
"$CS_BIN" run -c run.lua >/dev/null 2>run.log &
pid=$!
wait_for 'webhook:live: sent message' run.log 20 && pass || fail "run: first alert not posted"
write_run second /after
kill -HUP $pid
wait_for 'reload: 1 alert route\(s\) active' run.log 10 && pass || fail "reload not applied"
wait_count_above 'webhook:live: sent message' run.log 1 20 && pass || fail "run: alert after reload not posted"
kill -TERM $pid
wait $pid; expect_eq "run exit" 0 $?
fx_stop
q s6 >q6.out <<'PY'
import glob, json, sys
for f in sorted(glob.glob(sys.argv[1] + "/req-*.json"), key=lambda f: int(f.split("-")[-1][:-5])):
    r = json.load(open(f))
    print(r["path"], json.loads(r["body"])["alerts"][0]["rule"])
PY
cat q6.out >&2
expect_grep "before the reload" '^/before first$' q6.out
expect_grep "after the reload: the new URL" '^/after second$' q6.out
expect_no_grep "old URL unused after the reload" '^/before second$' q6.out
no_sanitizer run.log
sinks_stop

finish
