# tap.sh: TAP helpers (bash) for the shell tests that prove runs (sourced).
# Each check prints "ok N - NAME" or "not ok N - NAME" plus diagnostics.
tap_n=0
tap_failed=0

# pass NAME / fail NAME [DETAIL...]
pass() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
fail() {
    tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1))
    echo "not ok $tap_n - $1"; shift
    for line in "$@"; do printf '%s\n' "$line" | sed 's/^/# /'; done
}
# check NAME COMMAND...: passes when the command exits 0
check() {
    local what=$1 out; shift
    if out=$("$@" 2>&1); then pass "$what"; else fail "$what" "$out"; fi
}
done_testing() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
# usage TRAINER MESSAGE ARG...: `TRAINER ARG...` fails with exit status 2,
# printing exactly "NAME: error: MESSAGE" and the pointer to its help
usage() {
    local trainer=$1 msg=$2 name=${1##*/} out rc; shift 2
    out=$("$trainer" "$@" 2>&1); rc=$?
    if [ $rc = 2 ] && [ "$out" = "$(printf "%s: error: %s\ntry '%s help'" "$name" "$msg" "$name")" ]
    then pass "usage: $msg"
    else fail "usage: $*" "status $rc" "$out"; fi
}
