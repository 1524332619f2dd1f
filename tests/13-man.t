#!/usr/bin/env bash
# The man pages render without a warning, under groff -ww and man -l, and
# each names everything it documents: nnc.1 every option of nnc --help,
# nnc-trainer.1 every command and option of a trainer's help, nnc-model.5
# every statement of compiler/lower.c's table.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

for page in build/man/nnc.1 build/man/nnc-trainer.1 build/man/nnc-model.5; do
    name=$(basename "$page")
    if groff -ww -man -Tutf8 -z "$page" >"$tmp/err" 2>&1 && [ ! -s "$tmp/err" ]
    then pass "$name: groff -ww -man renders it without a warning"
    else fail "$name: groff -ww" "$(cat "$tmp/err")"; fi
    if MANWIDTH=80 man --warnings -l "$page" >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ] &&
       [ -s "$tmp/out" ] && ! grep -q '@[A-Z]*@' "$tmp/out"
    then pass "$name: man -l renders it without a warning, every @VARIABLE@ filled in"
    else fail "$name: man -l" "$(cat "$tmp/err")" "$(grep '@[A-Z]*@' "$tmp/out")"; fi
    MANWIDTH=200 man -l "$page" 2>/dev/null >"$tmp/$name.txt"
done

# missing PAGE WORD...: the words the rendered PAGE does not contain
missing() {
    local page=$1 w; shift
    for w in "$@"; do grep -qF -- "$w" "$tmp/$page.txt" || printf '%s ' "$w"; done
}

opts=$(build/nnc --help | grep -o -- '--[a-z0-9-]*' | sort -u)
miss=$(missing nnc.1 $opts -o)
if [ -z "$miss" ]; then pass "nnc.1 documents every option nnc --help lists"
else fail "nnc.1 lacks $miss"; fi

# (the help's "--option=VALUE" is the syntax, not an option)
opts=$(build/fashion_mlp help | grep -o -- '--[a-z-]*' | grep -vx -- --option | sort -u)
miss=$(missing nnc-trainer.1 $opts train eval predict summary bench help)
if [ -z "$miss" ]; then pass "nnc-trainer.1 documents every command and option of a trainer's help"
else fail "nnc-trainer.1 lacks $miss"; fi

# docs/trainer.md's option table (its "Command line" section): a row per
# option of the help, none twice, none the help lacks
rows=$(perl -ne '$in = /^## Command line/ .. /^## (?!Command)/; next unless $in && /^\| `--/;
    my $first = (split /\|/)[1]; print "$1\n" while $first =~ /`(--[a-z-]+)/g' docs/trainer.md | sort)
if [ -n "$rows" ] && [ "$rows" = "$opts" ]
then pass "docs/trainer.md's option table lists every option of a trainer's help, each once"
else fail "docs/trainer.md's option table against the help" "$(diff <(echo "$opts") <(echo "$rows"))"; fi

keywords=$(sed -n 's/.*\.keyword = "\([a-z_0-9]*\)".*/\1/p; s/.*ACTIVATION("\([a-z_]*\)").*/\1/p' compiler/lower.c)
miss=$(missing nnc-model.5 $keywords)
if [ -n "$keywords" ] && [ -z "$miss" ]; then pass "nnc-model.5 documents every statement of compiler/lower.c"
else fail "nnc-model.5 lacks ${miss:-the statements (none found in lower.c)}"; fi
done_testing
