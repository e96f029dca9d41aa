# Shared helpers for the integration tests: a scratch directory removed on
# exit, and assertions that count passes and failures and print the
# closing "N passed, N failed" line.
set -u
: "${CS_BIN:?CS_BIN must name the cryptosup binary}"
: "${CS_SOURCE_DIR:?}"
: "${CS_TEST_FIXTURES:?}"
FIX=$CS_TEST_FIXTURES
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cs-it-XXXXXX")
# CS_KEEP=1 keeps the scratch directory for a post-mortem.
if [ -z "${CS_KEEP:-}" ]; then trap 'rm -rf "$SCRATCH"' EXIT; else echo "scratch: $SCRATCH" >&2; fi
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass; else fail "$1: expected [$2], got [$3]"; fi
}

expect_grep() {  # expect_grep WHAT PATTERN FILE
    if grep -qE -- "$2" "$3"; then pass; else
        fail "$1: /$2/ not in $3:"; head -c 2000 "$3" >&2; echo >&2
    fi
}

expect_no_grep() {
    if grep -qE -- "$2" "$3"; then fail "$1: /$2/ found in $3"; else pass; fi
}

finish() {
    echo "$(basename "$0" .sh): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# Wait until FILE contains PATTERN (at most SECONDS); 0 when it did.
wait_for() {
    local pattern=$1 file=$2 seconds=${3:-10} i=0
    while [ $i -lt $((seconds * 10)) ]; do
        grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}

# ---- the fake exchange (tests/fake_exchange) ----

# Start it with extra options; sets FX_PORT, FX_CTL, FX_PID.
fx_start() {
    : "${CS_FAKE:?CS_FAKE must name the fake_exchange binary}"
    rm -f "$SCRATCH/fx.ready"
    "$CS_FAKE" --port 0 --control-port 0 --fixtures "$FIX/exchanges" \
        --ready-file "$SCRATCH/fx.ready" --exit-after 240 "$@" \
        2>>"$SCRATCH/fx.log" >/dev/null &
    FX_PID=$!
    wait_for '"port"' "$SCRATCH/fx.ready" 10 || { fail "fake exchange did not start"; return 1; }
    FX_PORT=$(sed -E 's/.*"port":([0-9]+).*/\1/' "$SCRATCH/fx.ready")
    FX_CTL=$(sed -E 's/.*"control_port":([0-9]+).*/\1/' "$SCRATCH/fx.ready")
}

fx_stop() {
    kill "$FX_PID" 2>/dev/null
    wait "$FX_PID" 2>/dev/null
}

fx_fault() {  # fx_fault JSON
    curl -s -m 5 -X POST "127.0.0.1:$FX_CTL/fault" -d "$1"
}

fx_state() {  # fx_state [QUERY]
    curl -s -m 5 "127.0.0.1:$FX_CTL/state${1:+?$1}"
}

# Count of lines matching PATTERN in FILE (0 when none).
count() {
    grep -cE -- "$1" "$2" 2>/dev/null || true
}

# Wait until FILE has more than N lines matching PATTERN.
wait_count_above() {  # wait_count_above PATTERN FILE N SECONDS
    local i=0
    while [ $i -lt $(($4 * 10)) ]; do
        [ "$(count "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
