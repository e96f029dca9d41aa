#!/usr/bin/env bash
# Email alerts against a real SMTP server (aiosmtpd, tests/integration/
# smtp_sink.py): headers and body of a replayed alert, no header injection
# from a Lua rule's message, grouping and the hourly cap, retries while the
# server is down (delivered exactly once), STARTTLS + AUTH without the
# password in the log.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
    echo "test_email: python3-aiosmtpd missing (scripts/install-deps.sh)" >&2
    exit 1
fi
SINK=$(cd "$(dirname "$0")" && pwd)/smtp_sink.py
cd "$SCRATCH"
H=$FIX/synthetic/binance/btcusdt_2023-03-12_14_closes.jsonl

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

SINK_PID=
sink_start() {  # sink_start PORT DIR [--tls CERT KEY]
    rm -f "$2/ready"
    "$PY" "$SINK" "$@" 2>>sink.log &
    SINK_PID=$!
    local i=0
    while [ ! -e "$2/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$2/ready" ] || fail "smtp sink did not start"
}
sink_stop() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
    SINK_PID=
}
trap 'sink_stop; [ -z "${CS_KEEP:-}" ] && rm -rf "$SCRATCH"' EXIT

no_sanitizer() {
    expect_no_grep "no sanitizer report ($1)" "runtime error|AddressSanitizer|LeakSanitizer" "$1"
}

# Rules: the shipped classic ones plus a Lua rule whose message tries to
# inject a header (and starts a body line with a dot).
mkdir -p rules
cp "$CS_SOURCE_DIR/rules/classic.lua" rules/
cat >rules/evil.lua <<'LUA'
return {
    name = "evil",
    window = "1h",
    cooldown = "24h",
    severity = "critical",
    condition = function(tick, w, firing)
        return true, "boom\r\nBcc: evil@x\r\n.dotline\nX-Evil: 1"
    end,
}
LUA

write_config() {  # write_config FILE URL EXTRA...
    local file=$1 url=$2
    shift 2
    cat >"$file" <<LUA
return {
    rules = "rules",
    lua_path = "$CS_SOURCE_DIR/lua",
    alerts = {
        email = {
            url = "$url",
            from = "cryptosup <alerts@example.com>",
            to = { "a@example.com", "b@example.com" },
            retry_initial_ms = 300,
            retry_max_ms = 1000,
            drain_timeout_ms = 20000,
            timeout_ms = 5000,
            $*
        },
    },
}
LUA
}

# ---- 1: plain SMTP, one grouped message, headers, body, no injection ----
P=$(free_port)
mkdir -p m1
sink_start "$P" m1
write_config c1.lua "smtp://127.0.0.1:$P" 'starttls = "off", subject = "[cryptosup] {symbol} {change_pct} over {window} {message}",'
"$CS_BIN" replay -c c1.lua --emit alerts "$H" >a1.jsonl 2>r1.log
expect_eq "replay 1 exit" 0 $?
sink_stop
nalerts=$(grep -c '"state":"firing"' a1.jsonl)
nmsg=$(ls m1/*.eml 2>/dev/null | wc -l)
if [ "$nalerts" -ge 24 ]; then pass; else fail "expected 24+ alerts, got $nalerts"; fi
if [ "$nmsg" -ge 1 ] && [ "$nmsg" -lt "$nalerts" ]; then pass; else
    fail "grouping: $nmsg messages for $nalerts alerts"; fi
M=$(ls m1/*.eml | head -1)
# Headers: everything before the first empty line.
sed -e 's/\r$//' "$M" | sed '/^$/q' >h1.txt
sed -e 's/\r$//' "$M" | sed '1,/^$/d' >b1.txt
expect_grep "From" '^From: cryptosup <alerts@example\.com>$' h1.txt
expect_grep "To" '^To: a@example\.com,' h1.txt
expect_grep "To 2" 'b@example\.com$' h1.txt
expect_grep "Subject" '^Subject: \[cryptosup\] BTC/USDT (n/a|[+-][0-9]+\.[0-9]{2}%) over 1h .*\(\+[0-9]+ more\)$' h1.txt
expect_grep "Date" '^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \+0000$' h1.txt
expect_grep "Message-ID" '^Message-ID: <[^<>@ ]+@[A-Za-z0-9.-]+>$' h1.txt
expect_grep "MIME" '^MIME-Version: 1\.0$' h1.txt
expect_grep "Content-Type" '^Content-Type: text/plain; charset=UTF-8$' h1.txt
expect_grep "body rule" 'move_1h_2pct on binance BTC/USDT' b1.txt
expect_grep "body 24h rule" 'move_24h_5pct on binance BTC/USDT' b1.txt
expect_grep "body change" '^change [+-][0-9]+\.[0-9]{2}% over (1h|24h)$' b1.txt
expect_grep "body price" '^price [0-9]+\.[0-9]+ \(reference [0-9]+\.[0-9]+\)$' b1.txt
expect_grep "body time" '^time 2023-03-1[234] [0-9:]{8} UTC$' b1.txt
for f in m1/*.eml; do
    sed -e 's/\r$//' "$f" | sed '/^$/q' >hh.txt
    expect_no_grep "no injected Bcc ($f)" '^(Bcc|X-Evil):' hh.txt
    expect_eq "one Subject ($f)" 1 "$(grep -c '^Subject:' hh.txt)"
done
for f in m1/*.env; do
    expect_no_grep "no evil recipient" 'evil' "$f"
    expect_eq "two recipients" 2 "$(grep -c '^to ' "$f")"
done
expect_grep "injection stays in the body" '^\.dotline$' b1.txt
expect_grep "sent logged" 'alerts.smtp: email: sent message' r1.log
no_sanitizer r1.log

# ---- 2: the hourly cap: one message per alert, at most max_per_hour ----
P=$(free_port)
mkdir -p m2
sink_start "$P" m2
write_config c2.lua "smtp://127.0.0.1:$P" 'starttls = "off", group_window_s = 0, max_per_hour = 3, rules = { "move_1h_2pct", "move_24h_5pct" },'
"$CS_BIN" replay -c c2.lua "$H" >/dev/null 2>r2.log
expect_eq "replay 2 exit" 0 $?
sink_stop
# Three messages under the cap, then (the replay ends within the hour)
# one digest carrying every held alert: nothing is lost.
expect_eq "capped at max_per_hour, plus the digest" 4 "$(ls m2/*.eml 2>/dev/null | wc -l)"
expect_grep "held logged" 'max_per_hour \(3\) reached' r2.log
total=$(grep -c 'FIRING move_' r2.log)
expect_eq "three single messages" 3 "$(grep -L '^Subject: \[cryptosup\] digest' m2/*.eml | wc -l)"
dig=$(grep -l '^Subject: \[cryptosup\] digest' m2/*.eml)
expect_grep "digest counts the rest" "^Subject: \[cryptosup\] digest: $((total - 3)) alert\(s\) held" "$dig"
expect_eq "digest lists each held alert" $((total - 3)) "$(grep -c 'move_(1h_2pct|24h_5pct)  binance BTC/USDT' -E "$dig")"
expect_no_grep "rules filter" 'evil' m2/msg-1.eml
no_sanitizer r2.log

# ---- 3: server down, then up: retried, delivered exactly once ----
P=$(free_port)
mkdir -p m3
write_config c3.lua "smtp://127.0.0.1:$P" 'starttls = "off", severities = { "warning" },'
"$CS_BIN" replay -c c3.lua "$H" >/dev/null 2>r3.log &
RPID=$!
sleep 3
sink_start "$P" m3
wait $RPID
expect_eq "replay 3 exit" 0 $?
sleep 0.5
sink_stop
expect_grep "retry logged" 'attempt 1 failed, retrying' r3.log
expect_eq "delivered exactly once" 1 "$(ls m3/*.eml 2>/dev/null | wc -l)"
expect_no_grep "severity filter" 'evil' m3/msg-1.eml
no_sanitizer r3.log

# ---- 4: STARTTLS + AUTH; the password never logged ----
bash "$CS_SOURCE_DIR/scripts/make-test-cert.sh" tls
export CS_SMTP_TEST_USER=alice CS_SMTP_TEST_PASSWORD='s3cret-Pa55word'
export CS_SMTP_PASSWORD=$CS_SMTP_TEST_PASSWORD
P=$(free_port)
mkdir -p m4
sink_start "$P" m4 --tls tls/cert.pem tls/key.pem
write_config c4.lua "smtp://127.0.0.1:$P" "ca_file = \"$SCRATCH/tls/cert.pem\", username = \"alice\", password_env = \"CS_SMTP_PASSWORD\","
"$CS_BIN" replay -c c4.lua --log-level debug "$H" >/dev/null 2>r4.log
expect_eq "replay 4 exit" 0 $?
sink_stop
expect_eq "TLS message" 1 "$(ls m4/*.eml 2>/dev/null | wc -l)"
expect_grep "authenticated" '^auth True$' m4/msg-1.env
expect_grep "over TLS" '^tls True$' m4/msg-1.env
expect_no_grep "password not logged" 's3cret-Pa55word' r4.log
no_sanitizer r4.log
# Wrong password: refused, retried, given up, still never logged.
export CS_SMTP_PASSWORD=wrong-pass-xyz
mkdir -p m5
sink_start "$P" m5 --tls tls/cert.pem tls/key.pem
write_config c5.lua "smtp://127.0.0.1:$P" "ca_file = \"$SCRATCH/tls/cert.pem\", username = \"alice\", password_env = \"CS_SMTP_PASSWORD\", retry_attempts = 2,"
"$CS_BIN" replay -c c5.lua "$H" >/dev/null 2>r5.log
sink_stop
expect_eq "bad password: nothing delivered" 0 "$(ls m5/*.eml 2>/dev/null | wc -l)"
expect_grep "gave up" 'giving up on message' r5.log
expect_no_grep "wrong password not logged" 'wrong-pass-xyz' r5.log
no_sanitizer r5.log

# ---- 5: config validation ----
write_config c6.lua "smtp://mail.example.com:25" 'starttls = "off", to = { "x@y.z", "bad\r\nBcc: e@x" }, max_per_hour = 0,'
"$CS_BIN" check -c c6.lua >check.out 2>&1
expect_eq "check fails" 1 $?
expect_grep "starttls off refused" 'c6\.lua:[0-9]+: alerts\.email\.starttls: "off" is only allowed' check.out
expect_grep "bad recipient" 'c6\.lua:[0-9]+: alerts\.email\.to: ' check.out
expect_grep "max_per_hour range" 'c6\.lua:[0-9]+: alerts\.email\.max_per_hour' check.out

# ---- 6: run: the route starts; a reload swaps its settings in place ----
mkdir -p rrules
echo 'return { name = "a", window = "1h", threshold_pct = 2 }' >rrules/a.lua
cat >run.lua <<LUA
return {
    rules = "rrules",
    exchanges = { binance = { symbols = { "BTC/USDT" }, url = "ws://127.0.0.1:9/ws", rest_url = "http://127.0.0.1:9" } },
    metrics = { listen = "127.0.0.1:0" },
    alerts = { email = { url = "smtp://127.0.0.1:9", starttls = "off",
                         from = "a@example.com", to = { "b@example.com" } } },
}
LUA
"$CS_BIN" run -c run.lua >/dev/null 2>run.log &
pid=$!
wait_for "email: email to 1 recipient" run.log 10 && pass || fail "run: email route not started"
sed -i 's/b@example.com/c@example.com/' run.lua
kill -HUP $pid
wait_for "reload: 1 alert route\(s\) active" run.log 10 && pass || fail "reload not applied to the routes"
kill -TERM $pid
wait $pid; expect_eq "run exit" 0 $?
no_sanitizer run.log

finish
