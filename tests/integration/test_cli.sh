#!/usr/bin/env bash
# The command line: version, check (valid and invalid, every error listed),
# usage errors and their exit codes.
. "$(dirname "$0")/lib.sh"
cd "$SCRATCH"

out=$("$CS_BIN" version); expect_eq "version exit" 0 $?
case "$out" in "cryptosup "*"Lua 5.4"*) pass ;; *) fail "version: $out" ;; esac

"$CS_BIN" check -c "$CS_SOURCE_DIR/config/config.lua" >check.out 2>check.err
expect_eq "check shipped config" 0 $?
expect_grep "check summary" "ok: 2 rules" check.out

"$CS_BIN" check -c "$CS_SOURCE_DIR/examples/config.lua" >ex.out 2>ex.err
expect_eq "check examples" 0 $?
expect_grep "example rules" "ok: 5 rules" ex.out

# Several errors in config and rules: all listed, exit 1, file:line.
mkdir -p bad/rules
cat >bad/config.lua <<'LUA'
return {
    rules = "rules",
    colour = "red",
    limits = { lua_memory_mb = "lots" },
}
LUA
"$CS_BIN" check -c bad/config.lua >bad.out 2>bad.err
expect_eq "check invalid config" 1 $?
expect_grep "unknown key" "bad/config.lua:3: colour: unknown key" bad.out
expect_grep "wrong type" "bad/config.lua:4: limits.lua_memory_mb: expected a number" bad.out
expect_grep "logged too" "\[ERROR\] config.load: bad/config.lua:3" bad.err

cat >bad/config.lua <<'LUA'
return { rules = "rules" }
LUA
cat >bad/rules/a.lua <<'LUA'
return {
    name = "a",
    window = "1h",
    threshold_pct = "two",
}
LUA
cat >bad/rules/b.lua <<'LUA'
return { name = "b", window = "1h", threshold_pct = 2, colour = 1 }
LUA
cat >bad/rules/c.lua <<'LUA'
local x = = 1
LUA
cat >bad/rules/d.lua <<'LUA'
return { name = "d", condition = function() end, threshold_pct = 1, window = "1x" }
LUA
cat >bad/rules/e.lua <<'LUA'
return { name = "e", window = "1h", threshold_pct = 2,
         severity = "x\r\nBcc: evil@x" }
LUA
"$CS_BIN" check -c bad/config.lua >rules.out 2>rules.err
expect_eq "check invalid rules" 1 $?
expect_grep "rule e severity" "rules/e.lua:2: e.severity: expected 1-15 letters" rules.out
expect_grep "rule a" "rules/a.lua:4: a.threshold_pct: expected a finite number" rules.out
expect_grep "rule b" "rules/b.lua:1: b.colour: unknown key" rules.out
expect_grep "rule c syntax" "rules/c.lua:1:" rules.out
expect_grep "rule d window" "rules/d.lua:1: d.window: bad duration" rules.out

"$CS_BIN" frobnicate >/dev/null 2>&1; expect_eq "unknown command" 2 $?
"$CS_BIN" replay >/dev/null 2>&1; expect_eq "replay without files" 2 $?
"$CS_BIN" replay --speed -1 x >/dev/null 2>&1; expect_eq "bad speed" 2 $?
"$CS_BIN" replay --emit bogus x >/dev/null 2>&1; expect_eq "bad emit" 2 $?
"$CS_BIN" run --speed 2 >/dev/null 2>&1; expect_eq "speed on run" 2 $?
"$CS_BIN" replay --exchange nowhere x.jsonl >/dev/null 2>&1
expect_eq "unknown exchange" 2 $?
"$CS_BIN" replay no/such/file.jsonl >/dev/null 2>miss.err
expect_eq "missing replay file" 1 $?

finish
