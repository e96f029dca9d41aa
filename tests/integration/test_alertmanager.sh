#!/usr/bin/env bash
# Alertmanager (API v2) against the real one (Debian's prometheus-alertmanager,
# loopback only, clustering off), with a webhook receiver that records what
# Alertmanager notified. Proves: a replay's alerts reach Alertmanager with our
# labels and annotations, resolutions end them, filters apply, alerts still
# firing at shutdown are not resolved, sent/failed metrics are right, no
# secret is logged; and, live against the fake exchange, that an alert posted
# while Alertmanager is down arrives once it starts, that refresh keeps it
# active past 4 * refresh_s, and that it resolves when the condition clears.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
AM_BIN=${CS_ALERTMANAGER:-/usr/bin/prometheus-alertmanager}
if [ ! -x "$AM_BIN" ]; then
    echo "test_alertmanager: $AM_BIN missing (apt-get install prometheus-alertmanager)" >&2
    exit 1
fi
cd "$SCRATCH"
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- the webhook sink: each POST body saved as hooks/<n>.json ----
cat >sink.py <<'PY'
import http.server, os, sys
port, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
n = [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        n[0] += 1
        with open(os.path.join(out, "%d.json.tmp" % n[0]), "wb") as f:
            f.write(body)
        os.rename(os.path.join(out, "%d.json.tmp" % n[0]),
                  os.path.join(out, "%d.json" % n[0]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", port), H)
open(os.path.join(out, "ready"), "w").close()
s.serve_forever()
PY

# amq FILE CHECK...: query an /api/v2/alerts answer (or a webhook body):
# prints how many alerts match every label=value / @annotation=value /
# +field=value / !label (absent) check.
cat >amq.py <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
alerts = doc["alerts"] if isinstance(doc, dict) else doc
def ok(a, c):
    if c.startswith("!"):
        return c[1:] not in a["labels"]
    k, v = c.split("=", 1)
    if k.startswith("@"):
        return a.get("annotations", {}).get(k[1:]) == v
    if k.startswith("+"):
        for part in k[1:].split("."):
            a = a.get(part, {}) if isinstance(a, dict) else {}
        return a == v
    return a["labels"].get(k) == v
print(sum(all(ok(a, c) for c in sys.argv[2:]) for a in alerts))
PY

# hook_count CHECK...: matching alerts over every webhook body so far.
hook_count() {
    local n=0 f
    for f in hooks/*.json; do
        [ -e "$f" ] || continue
        n=$((n + $("$PY" amq.py "$f" "$@")))
    done
    echo "$n"
}

SINK_PID=
sink_start() {  # sink_start PORT DIR
    rm -f "$2/ready"
    "$PY" sink.py "$1" "$2" 2>>sink.log &
    SINK_PID=$!
    wait_for . "$2/ready" 10 || [ -e "$2/ready" ] || fail "webhook sink did not start"
}

AM_PID=
am_start() {  # am_start PORT HOOK_PORT DIR
    cat >"$3.yml" <<YML
route:
  receiver: sink
  group_by: [alertname, exchange, symbol]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: http://127.0.0.1:$2/hook
        send_resolved: true
YML
    "$AM_BIN" --config.file="$3.yml" --storage.path="$SCRATCH/$3" \
        --web.listen-address="127.0.0.1:$1" --cluster.listen-address= \
        --log.level=warn >>"$3.log" 2>&1 &
    AM_PID=$!
    local i=0
    while [ $i -lt 100 ]; do
        curl -sf -m 1 "http://127.0.0.1:$1/-/ready" >/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    fail "alertmanager did not become ready"
    return 1
}
am_stop() {
    [ -n "$AM_PID" ] && kill "$AM_PID" 2>/dev/null && wait "$AM_PID" 2>/dev/null
    AM_PID=
}
am_get() {  # am_get PORT QUERY OUT
    curl -s -m 5 "http://127.0.0.1:$1/api/v2/alerts?$2" >"$3"
}
CS_PID=
cleanup() {
    [ -n "$CS_PID" ] && kill "$CS_PID" 2>/dev/null && wait "$CS_PID" 2>/dev/null
    am_stop
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    [ -n "${FX_PID:-}" ] && fx_stop
    [ -z "${CS_KEEP:-}" ] && rm -rf "$SCRATCH"
}
trap cleanup EXIT

no_sanitizer() {
    expect_no_grep "no sanitizer report ($1)" "runtime error|AddressSanitizer|LeakSanitizer" "$1"
}
metric() {  # metric FILE NAME
    sed -nE "s/^$2 ([0-9]+)(\.0+)?\$/\1/p" "$1"
}

# ---- 1: replay: labels, annotations, filters, resolution, counting ----
mkdir -p rules
# notify_resolved so the emitted alert lines are exactly the notifier's
# events (the notifier gets resolutions either way).
cat >rules/move.lua <<'LUA'
return {
    name = "move_1h_2pct", window = "1h", threshold_pct = 2,
    rearm_pct = 1.5, cooldown = "15m", severity = "warning",
    notify_resolved = true,
}
LUA
cat >rules/always.lua <<'LUA'
return {
    name = "always", window = "1h", severity = "critical",
    cooldown = "24h", notify_resolved = true,
    condition = function(tick, w, firing)
        return true, "say \"hi\"\r\nX-Evil: 1"
    end,
}
LUA
cat >rules/quiet.lua <<'LUA'
return {
    name = "quiet", window = "1h", severity = "info", notify_resolved = true,
    condition = function(tick, w, firing) return true end,
}
LUA
AMP=$(free_port)
HOOKP=$(free_port)
sink_start "$HOOKP" hooks
am_start "$AMP" "$HOOKP" am1
export CS_AM_TOKEN='tok-S3cret-xyz'
cat >c1.lua <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = {
        alertmanager = {
            urls = { "http://127.0.0.1:$AMP/" },
            refresh_s = 60,
            labels = { team = "trading" },
            generator_url = "http://cryptosup.example/",
            bearer_token_env = "CS_AM_TOKEN",
            severities = { "warning", "critical" },
            retry_initial_ms = 200, retry_max_ms = 1000, timeout_ms = 5000,
        },
    },
}
LUA
"$CS_BIN" replay -c c1.lua --emit alerts --metrics-out m1.prom "$H" >a1.jsonl 2>r1.log
expect_eq "replay 1 exit" 0 $?
am_get "$AMP" "active=true" active1.json
expect_eq "always firing in Alertmanager" 1 "$("$PY" amq.py active1.json alertname=always \
    severity=critical exchange=binance symbol=BTC/USDT window=1h source=cryptosup \
    team=trading '@message=say "hi"'$'\r\n''X-Evil: 1' +generatorURL=http://cryptosup.example/ \
    +status.state=active)"
expect_eq "summary annotation" 1 "$("$PY" amq.py active1.json alertname=always \
    '@summary=BTC/USDT n/a over 1h on binance')"
expect_eq "severity filter" 0 "$("$PY" amq.py active1.json alertname=quiet)"
# Each (rule, symbol) is active in Alertmanager exactly when its last
# notified event was a firing one.
"$PY" - a1.jsonl active1.json >states1.txt <<'PY'
import json, sys
last = {}
for line in open(sys.argv[1]):
    a = json.loads(line)
    if a.get("type") == "alert" and a["severity"] in ("warning", "critical"):
        last[(a["rule"], a["symbol"])] = a["state"]
active = {(x["labels"]["alertname"], x["labels"]["symbol"])
          for x in json.load(open(sys.argv[2]))}
for k, state in sorted(last.items()):
    print(k[0], state, "active" if k in active else "absent")
PY
expect_grep "a resolution seen" '^move_1h_2pct resolved absent$' states1.txt
expect_no_grep "active exactly when firing" ' (firing absent|resolved active)$' states1.txt
events1=$(grep '"type":"alert"' a1.jsonl | grep -cE '"severity":"(warning|critical)"')
# replay's --metrics-out has no delivery counters yet (the notifier thread
# is gone when it is written); checked when present, and in part 2 (run).
if grep -q '^cryptosup_alerts_sent_total ' m1.prom; then
    expect_eq "sent = accepted events" "$events1" "$(metric m1.prom cryptosup_alerts_sent_total)"
    expect_eq "nothing failed" 0 "$(metric m1.prom cryptosup_alerts_failed_total)"
fi
expect_no_grep "token not logged" 'tok-S3cret' r1.log
expect_no_grep "no post failed" 'alerts.alertmanager: .*failed' r1.log
no_sanitizer r1.log
# Alertmanager notified the webhook with our labels.
i=0; while [ $i -lt 50 ] && [ "$(hook_count alertname=always)" = 0 ]; do
    sleep 0.1; i=$((i + 1)); done
[ "$(hook_count alertname=always team=trading exchange=binance symbol=BTC/USDT \
     +status=firing)" -ge 1 ] && pass || fail "Alertmanager did not notify the webhook"

# A missing token: an ERROR naming the variable, nothing delivered, all
# counted failed, bounded by drain_timeout_ms.
unset CS_AM_TOKEN
sed -e 's/refresh_s = 60,/refresh_s = 60, drain_timeout_ms = 1000,/' c1.lua >c2.lua
"$CS_BIN" replay -c c2.lua --emit alerts --metrics-out m2.prom "$H" >a2.jsonl 2>r2.log
expect_eq "replay 2 exit" 0 $?
expect_grep "missing variable named" 'ERROR\] alerts.alertmanager: environment variable CS_AM_TOKEN .* is not set' r2.log
expect_grep "shutdown: the firing one not posted" 'alerts.alertmanager: shutdown: always binance BTC/USDT \(firing\) not posted' r2.log
expect_no_grep "nothing posted" 'posting again' r2.log
if grep -q '^cryptosup_alerts_sent_total ' m2.prom; then
    expect_eq "none sent" 0 "$(metric m2.prom cryptosup_alerts_sent_total)"
    expect_eq "all failed" "$events1" "$(metric m2.prom cryptosup_alerts_failed_total)"
fi
no_sanitizer r2.log
am_stop

# ---- 2: live: Alertmanager down at first, refresh, resolution ----
fx_start --retime || { finish; exit 1; }
mkdir -p rules2
# Fires on the first tick and clears once data time passes T (the fake
# exchange's Kraken feed is stamped with the current time).
T=$(( $(date +%s) + 20 ))
cat >rules2/timed.lua <<LUA
return {
    name = "timed", window = "1h", severity = "critical",
    condition = function(tick, w, firing)
        return cs.now() < $T, "until $T"
    end,
}
LUA
AMP=$(free_port)
cat >c3.lua <<LUA
return {
    rules = "rules2",
    lua_path = "$CS_SOURCE_DIR/lua",
    windows = { "1h" },
    exchanges = {
        kraken = { url = "ws://127.0.0.1:$FX_PORT/kraken/v2", symbols = { "BTC/USD" },
                   warmup = false },
    },
    metrics = { listen = "127.0.0.1:0" },
    alerts = {
        alertmanager = {
            urls = { "http://127.0.0.1:$AMP" },
            refresh_s = 1,
            labels = { team = "trading" },
            retry_initial_ms = 200, retry_max_ms = 1000, timeout_ms = 2000,
            retry_attempts = 100,
        },
    },
}
LUA
"$CS_BIN" run -c c3.lua --metrics-out m3.prom >/dev/null 2>r3.log &
CS_PID=$!
wait_for 'alerts.alertmanager: 127\.0\.0\.1:[0-9]+: post of 1 alert\(s\) failed' r3.log 15 \
    && pass || fail "no failed post while Alertmanager is down"
am_start "$AMP" "$HOOKP" am2
seen=
i=0
while [ $i -lt 100 ]; do
    am_get "$AMP" "active=true" active2.json
    if [ "$("$PY" amq.py active2.json alertname=timed exchange=kraken symbol=BTC/USD team=trading)" = 1 ]; then
        seen=$(date +%s); break
    fi
    sleep 0.1; i=$((i + 1))
done
[ -n "$seen" ] && pass || fail "the alert did not reach Alertmanager after it started"
expect_grep "recovery logged" 'alerts.alertmanager: 127\.0\.0\.1:[0-9]+: posting again after' r3.log
# endsAt is at most ~4 * refresh_s ahead: only refresh keeps it active.
"$PY" - active2.json >ends.txt <<'PY'
import json, sys, datetime
a = [x for x in json.load(open(sys.argv[1])) if x["labels"]["alertname"] == "timed"][0]
end = datetime.datetime.strptime(a["endsAt"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
left = (end - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
print("ok" if 0 < left <= 6 else "bad %s" % left)
PY
expect_eq "endsAt = now + 4 * refresh_s" ok "$(cat ends.txt)"
sleep 6
am_get "$AMP" "active=true" active3.json
expect_eq "still active after 6 s (refreshed)" 1 "$("$PY" amq.py active3.json alertname=timed)"
# The condition clears at T: resolved in Alertmanager.
gone=
i=0
while [ $i -lt 150 ]; do
    am_get "$AMP" "active=true" active4.json
    if [ "$("$PY" amq.py active4.json alertname=timed)" = 0 ] && [ "$(date +%s)" -ge "$T" ]; then
        gone=1; break
    fi
    sleep 0.1; i=$((i + 1))
done
[ -n "$gone" ] && pass || fail "the alert was not resolved in Alertmanager"
[ "$(date +%s)" -ge "$T" ] && pass || fail "resolved before the condition cleared"
# The webhook saw it firing and then resolved.
i=0; while [ $i -lt 50 ] && [ "$(hook_count alertname=timed +status=resolved)" = 0 ]; do
    sleep 0.1; i=$((i + 1)); done
[ "$(hook_count alertname=timed +status=firing team=trading)" -ge 1 ] && pass \
    || fail "webhook: no firing notification for timed"
[ "$(hook_count alertname=timed +status=resolved team=trading)" -ge 1 ] && pass \
    || fail "webhook: no resolved notification for timed"
kill -TERM "$CS_PID"
wait "$CS_PID"; expect_eq "run exit" 0 $?
CS_PID=
expect_eq "run: fired and resolved, both sent" 2 "$(metric m3.prom cryptosup_alerts_sent_total)"
expect_eq "run: nothing failed" 0 "$(metric m3.prom cryptosup_alerts_failed_total)"
no_sanitizer r3.log
am_stop
fx_stop
FX_PID=

finish
