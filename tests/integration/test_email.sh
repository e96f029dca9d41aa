#!/usr/bin/env bash
# Email alerts against a real SMTP server (aiosmtpd, tests/integration/
# smtp_sink.py): headers and body of a replayed alert, no header injection
# from a Lua rule's message, grouping and the hourly cap, retries while the
# server is down (delivered exactly once), STARTTLS + AUTH without the
# password in the log, implicit TLS (smtps://) with a good and a wrong CA,
# resolved notifications, non-ASCII subjects and bodies decoded by Python's
# email parser, several named routes, and a SIGHUP under `run` that
# re-addresses the mail.
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
RUN_PID=
FX_PID=
trap '[ -n "$RUN_PID" ] && kill "$RUN_PID" 2>/dev/null; [ -n "$FX_PID" ] && fx_stop; sink_stop; [ -z "${CS_KEEP:-}" ] && rm -rf "$SCRATCH"' EXIT

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
    rules = "${RULES:-rules}",
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

# ---- 6: run: the route starts; a SIGHUP re-addresses the mail ----
# Like test_webhooks.sh section 6: the fake exchange feeds `run`, a Lua rule
# fires on the first tick. A first SIGHUP changes the recipient (the rule,
# unchanged, stays firing: no new alert); once the notifier thread has
# adopted it, a second SIGHUP renames the rule so that it fires again. The
# first message must have gone to the old address, the second to the new
# one, with To: matching the envelope. (Two reloads, because the notifier
# thread adopts a reload's routes only on its next flush: an alert that
# fires between the two is rendered with the old To: header but sent to
# the new envelope recipients.)
fx_start --speed 4 --retime || { finish; exit 1; }
P=$(free_port)
mkdir -p m6
sink_start "$P" m6
mkdir -p rrules
write_run() {  # write_run RULE RECIPIENT
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
    alerts = { email = { url = "smtp://127.0.0.1:$P", starttls = "off",
                         from = "a@example.com", to = { "$2" },
                         group_window_s = 0, timeout_ms = 5000,
                         retry_initial_ms = 300, retry_max_ms = 1000 } },
}
LUA
}
write_run first old@example.com
"$CS_BIN" run -c run.lua >/dev/null 2>run.log &
RUN_PID=$!
wait_for "email: email to 1 recipient" run.log 10 && pass || fail "run: email route not started"
wait_for 'alerts.smtp: email: sent message' run.log 20 && pass || fail "run: first alert not mailed"
write_run first new@example.com
kill -HUP $RUN_PID
wait_for "reload: 1 alert route\(s\) active" run.log 10 && pass || fail "reload not applied to the routes"
write_run second new@example.com
kill -HUP $RUN_PID
wait_count_above "reload: 1 alert route\(s\) active" run.log 1 10 && pass || fail "second reload not applied"
wait_count_above 'alerts.smtp: email: sent message' run.log 1 20 && pass || fail "run: alert after the reload not mailed"
kill -TERM $RUN_PID
wait $RUN_PID; expect_eq "run exit" 0 $?
RUN_PID=
fx_stop
FX_PID=
sink_stop
# One line per message: recipients and the rule named in the body.
"$PY" - m6 >q6.out <<'PY'
import glob, re, sys
for f in sorted(glob.glob(sys.argv[1] + "/msg-*.eml"), key=lambda f: int(f.split("-")[-1][:-4])):
    body = open(f, "rb").read().decode()
    rule = re.search(r"^\S+: (first|second) on binance", body, re.M)
    rcpt = [l[3:].strip() for l in open(f[:-4] + ".env") if l.startswith("to ")]
    to = re.search(r"^To: (.*?)\r?$", body, re.M)
    print(",".join(rcpt), rule.group(1) if rule else "?",
          "to-matches" if to and to.group(1) == ",".join(rcpt) else "to-differs")
PY
cat q6.out >&2
expect_grep "before the reload: the old recipient" '^old@example\.com first to-matches$' q6.out
expect_grep "after the reload: the new recipient" '^new@example\.com second to-matches$' q6.out
expect_eq "two messages, nothing else" 2 "$(wc -l <q6.out)"
expect_no_grep "To: header matches the envelope" 'to-differs' q6.out
no_sanitizer run.log

# ---- 7: smtps:// (implicit TLS), then a wrong CA: nothing delivered ----
P=$(free_port)
mkdir -p m7
sink_start "$P" m7 --smtps tls/cert.pem tls/key.pem
write_config c7.lua "smtps://127.0.0.1:$P" "ca_file = \"$SCRATCH/tls/cert.pem\", rules = { \"evil\" },"
"$CS_BIN" replay -c c7.lua "$H" >/dev/null 2>r7.log
expect_eq "replay 7 exit" 0 $?
sink_stop
expect_eq "smtps message" 1 "$(ls m7/*.eml 2>/dev/null | wc -l)"
expect_grep "smtps: over TLS" '^tls True$' m7/msg-1.env
expect_grep "smtps: body" 'evil on binance BTC/USDT' m7/msg-1.eml
expect_grep "smtps: sent logged" 'alerts.smtp: email: sent message' r7.log
no_sanitizer r7.log
# A second throwaway certificate as the CA: verification must fail.
bash "$CS_SOURCE_DIR/scripts/make-test-cert.sh" tls2
mkdir -p m7b
sink_start "$P" m7b --smtps tls/cert.pem tls/key.pem
write_config c7b.lua "smtps://127.0.0.1:$P" "ca_file = \"$SCRATCH/tls2/cert.pem\", rules = { \"evil\" }, retry_attempts = 2,"
"$CS_BIN" replay -c c7b.lua "$H" >/dev/null 2>r7b.log
sink_stop
expect_eq "wrong CA: nothing delivered" 0 "$(ls m7b/*.eml 2>/dev/null | wc -l)"
expect_grep "wrong CA: certificate error logged" 'alerts.smtp: email: message [^ ]+: .*(SSL certificate problem|peer certificate)' r7b.log
expect_grep "wrong CA: gave up" 'giving up on message' r7b.log
no_sanitizer r7b.log

# ---- 8: resolved notifications and non-ASCII, three routes, one replay ----
# A Lua rule above 26,000 fires and clears 5 times in the fixture; its
# message is non-ASCII. "res" mails the resolved ones, "nores" (the
# default send_resolved = false) does not, "utf8" uses a non-ASCII subject.
mkdir -p urules
cat >urules/up.lua <<'LUA'
return {
    name = "above26k",
    window = "1h",
    severity = "critical",
    notify_resolved = true,
    condition = function(tick)
        return tick.price > 26000, "Preis über 26 000 — Grüße 🚀"
    end,
}
LUA
P=$(free_port)
mkdir -p m8
sink_start "$P" m8
cat >c8.lua <<LUA
local function route(name, extra)
    local r = { name = name, url = "smtp://127.0.0.1:$P", starttls = "off",
                from = "cryptosup <alerts@example.com>",
                to = { name .. "@example.com" }, group_window_s = 0,
                timeout_ms = 5000, drain_timeout_ms = 20000 }
    for k, v in pairs(extra) do r[k] = v end
    return r
end
return {
    rules = "urules",
    alerts = { email = {
        route("res", { send_resolved = true }),
        route("nores", {}),
        route("utf8", { send_resolved = true,
                        subject = "Kurs {symbol} — Änderung {change_pct} 🚀 {message}" }),
    } },
}
LUA
"$CS_BIN" replay -c c8.lua --emit alerts "$H" >a8.jsonl 2>r8.log
expect_eq "replay 8 exit" 0 $?
sink_stop
nfire=$(grep -c '"state":"firing"' a8.jsonl)
nres=$(grep -c '"state":"resolved"' a8.jsonl)
if [ "$nfire" -ge 2 ] && [ "$nres" -ge 2 ]; then pass; else
    fail "fixture: expected the rule to fire and clear, got $nfire/$nres"; fi
# Each route's messages in the order received.
by_rcpt() {  # by_rcpt ADDR: the .eml files sent to ADDR, oldest first
    for f in $(ls m8/*.env | sort -t- -k2 -n); do
        grep -qx "to $1" "$f" && echo "${f%.env}.eml"
    done
}
by_rcpt res@example.com >res.list
by_rcpt nores@example.com >nores.list
by_rcpt utf8@example.com >utf8.list
expect_eq "res: firing and resolved mailed" $((nfire + nres)) "$(wc -l <res.list)"
expect_eq "nores: only firing mailed" "$nfire" "$(wc -l <nores.list)"
expect_eq "utf8: firing and resolved mailed" $((nfire + nres)) "$(wc -l <utf8.list)"
nrs=0
for f in $(cat res.list); do
    if grep -q '^Subject: RESOLVED: ' "$f"; then
        nrs=$((nrs + 1))
        sed -e 's/\r$//' "$f" | sed '1,/^$/d' >rb.txt
        expect_grep "RESOLVED body ($f)" '^RESOLVED$' rb.txt
        expect_grep "RESOLVED body names the rule ($f)" '^critical: above26k on binance BTC/USDT' rb.txt
    fi
done
expect_eq "res: one RESOLVED message per resolution" "$nres" "$nrs"
for f in $(cat nores.list); do
    expect_no_grep "nores: no RESOLVED subject ($f)" '^Subject: RESOLVED' "$f"
    expect_no_grep "nores: no RESOLVED body ($f)" '^RESOLVED' "$f"
done
# Non-ASCII: the raw Subject is ASCII encoded words only; Python decodes
# it to exactly the rendered template; the body is 8bit UTF-8.
"$PY" - a8.jsonl $(cat utf8.list) >q8.out 2>&1 <<'PY'
import json, re, sys
from email import policy
from email.parser import BytesParser
alerts = [json.loads(l) for l in open(sys.argv[1])]
files = sys.argv[2:]
def say(ok, what):
    print(("ok " if ok else "FAIL ") + what)
say(len(alerts) == len(files), "one message per alert (%d/%d)" % (len(files), len(alerts)))
MSG = "Preis über 26 000 — Grüße 🚀"
for a, f in zip(alerts, files):
    raw = open(f, "rb").read()
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    i = [n for n, l in enumerate(lines) if l.startswith(b"Subject:")]
    say(len(i) == 1, "%s: one Subject" % f)
    subj = [lines[i[0]]]
    for l in lines[i[0] + 1:]:
        if not l[:1] in (b" ", b"\t"):
            break
        subj.append(l)
    say(all(b < 0x80 for l in subj for b in l), "%s: raw Subject is ASCII" % f)
    value = b" ".join(l.strip() for l in subj)[len(b"Subject:"):].strip().decode("ascii", "replace")
    say(re.fullmatch(r"(=\?UTF-8\?B\?[A-Za-z0-9+/]+={0,2}\?=)( =\?UTF-8\?B\?[A-Za-z0-9+/]+={0,2}\?=)*", value) is not None,
        "%s: Subject is encoded words only: %r" % (f, value))
    say(all(len(l) <= 998 for l in subj), "%s: header lines within 998 octets" % f)
    m = BytesParser(policy=policy.default).parsebytes(raw)
    want = ("RESOLVED: " if a["state"] == "resolved" else "") + \
        "Kurs %s — Änderung %+.2f%% 🚀 %s" % (a["symbol"], a["change"] * 100, a["message"])
    say(a["message"] == MSG, "alert message as the rule returned it")
    say(str(m["Subject"]) == want, "%s: Subject decodes to %r (got %r)" % (f, want, str(m["Subject"])))
    say(m.get_content_type() == "text/plain" and m.get_content_charset() == "utf-8",
        "%s: text/plain; charset=UTF-8" % f)
    say(str(m["Content-Transfer-Encoding"]).lower() == "8bit", "%s: 8bit" % f)
    body = m.get_content()
    say(MSG in body, "%s: body holds the message" % f)
    say(MSG.encode() in raw.split(b"\r\n\r\n", 1)[1], "%s: body sent as raw UTF-8" % f)
    say((a["state"] == "resolved") == (re.search(r"^RESOLVED\r?$", body, re.M) is not None), "%s: RESOLVED in the body iff resolved" % f)
    say(m["To"] == "utf8@example.com", "%s: To" % f)
PY
expect_eq "utf8: every Python check passed" "" "$(grep -v '^ok ' q8.out)"
expect_grep "utf8: checks ran" '^ok .*Subject decodes' q8.out
expect_grep "route names logged" 'email:res: email to 1 recipient' r8.log
no_sanitizer r8.log

# ---- 9: several email routes: critical to both, warnings to "all" ----
P=$(free_port)
mkdir -p m9
sink_start "$P" m9
cat >c9.lua <<LUA
local function route(name, extra)
    local r = { name = name, url = "smtp://127.0.0.1:$P", starttls = "off",
                from = "cryptosup <alerts@example.com>",
                to = { name .. "@example.com" }, group_window_s = 0,
                max_per_hour = 100, timeout_ms = 5000, drain_timeout_ms = 20000 }
    for k, v in pairs(extra) do r[k] = v end
    return r
end
return {
    rules = "rules",
    alerts = { email = {
        route("pager", { severities = { "critical" } }),
        route("all", {}),
    } },
}
LUA
"$CS_BIN" replay -c c9.lua --emit alerts "$H" >a9.jsonl 2>r9.log
expect_eq "replay 9 exit" 0 $?
sink_stop
ncrit=$(grep '"state":"firing"' a9.jsonl | grep -c '"severity":"critical"')
nwarn=$(grep '"state":"firing"' a9.jsonl | grep -c '"severity":"warning"')
expect_eq "fixture: one critical alert (evil)" 1 "$ncrit"
if [ "$nwarn" -ge 1 ]; then pass; else fail "fixture: no warning alert"; fi
"$PY" - m9 >q9.out <<'PY'
import glob, re, sys
for f in sorted(glob.glob(sys.argv[1] + "/msg-*.eml"), key=lambda f: int(f.split("-")[-1][:-4])):
    body = open(f, "rb").read().decode()
    rules = re.findall(r"^\S+: (\S+) on binance BTC/USDT", body, re.M)
    rcpt = [l[3:].strip() for l in open(f[:-4] + ".env") if l.startswith("to ")]
    for r in rules:
        print(",".join(rcpt), r)
PY
expect_eq "pager: the critical alert only" "pager@example.com evil" "$(grep '^pager@' q9.out)"
expect_eq "all: the critical alert" 1 "$(grep -c '^all@example\.com evil$' q9.out)"
expect_eq "all: every warning" "$nwarn" "$(grep -c '^all@example\.com move_' q9.out)"
expect_no_grep "one recipient per message" ',' q9.out
expect_grep "route email:pager started" 'email:pager: email to 1 recipient' r9.log
expect_grep "route email:all started" 'email:all: email to 1 recipient' r9.log
expect_grep "route email:pager sent" 'alerts.smtp: email:pager: sent message' r9.log
expect_grep "route email:all sent" 'alerts.smtp: email:all: sent message' r9.log
no_sanitizer r9.log

finish
