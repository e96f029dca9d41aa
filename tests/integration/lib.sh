# Shared helpers for the integration tests: a scratch directory removed on
# exit, and assertions that count passes and failures and print the
# closing "N passed, N failed" line.
set -u
: "${CS_BIN:?CS_BIN must name the cryptosup binary}"
: "${CS_SOURCE_DIR:?}"
: "${CS_TEST_FIXTURES:?}"
FIX=$CS_TEST_FIXTURES
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cs-it-XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
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
