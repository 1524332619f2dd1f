#!/usr/bin/env bash
# Editor support: the Vim syntax knows every statement and value of
# compiler/lower.c's table and highlights a model as expected (when vim is
# here); bash completes nnc's options and model files, and a trainer's
# commands and options, the same set its help lists.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
syntax=editor/vim/syntax/nnc.vim

words=$(sed -n 's/.*\.keyword = "\([a-z_0-9]*\)".*/\1/p; s/.*\.alias = "\([a-z_0-9]*\)".*/\1/p
               s/.*ACTIVATION("\([a-z_]*\)").*/\1/p' compiler/lower.c
        sed -n 's/^[a-z ]*char \*const [A-Z]*\[\] = {\(.*\), NULL};/\1/p' compiler/lower.c | tr -d '",')
miss=""
for w in $words; do grep -qE "^syn keyword nnc[A-Za-z]+ .*\<$w\>" $syntax || miss="$miss $w"; done
if [ -n "$words" ] && [ -z "$miss" ]; then pass "the Vim syntax has every statement and value of compiler/lower.c"
else fail "vim syntax lacks:${miss:- (no words found in lower.c)}"; fi

if command -v vim >/dev/null; then
    printf 'model m # c\ninput 28x28x1\nconv2d 8 3x3 relu padding=same\ndropout .5\noptimizer adam lr=1e-3\n' \
        >"$tmp/t.model"
    cat >"$tmp/t.vim" <<VIM
filetype on
syntax on
edit $tmp/t.model
let out = [&filetype]
for [l, c] in [[1,1],[1,9],[2,7],[3,8],[3,10],[3,14],[3,19],[3,27],[4,9],[5,11],[5,16],[5,19]]
  call add(out, synIDattr(synID(l, c, 1), 'name'))
endfor
call writefile(out, '$tmp/v.out')
qall!
VIM
    vim -Nu NONE -i NONE -es --cmd 'set rtp^=editor/vim' -S "$tmp/t.vim" </dev/null >/dev/null 2>&1
    want="nnc nncStatement nncComment nncDims nncNumber nncDims nncActivation nncOption nncValue"
    want="$want nncNumber nncValue nncOption nncNumber"
    got=$(tr '\n' ' ' <"$tmp/v.out" 2>/dev/null)
    if [ "$got" = "$want " ]; then pass "vim detects a .model and highlights statements, dims, numbers, options, values, comments"
    else fail "vim highlighting" "want: $want" "got:  $got"; fi
else
    echo "ok $((tap_n += 1)) - # skip vim is not installed"
fi

# comp FUNCTION WORDS...: what FUNCTION completes the last word to, in DIR
cat >"$tmp/comp.sh" <<SH
. /usr/share/bash-completion/bash_completion
. $PWD/editor/bash-completion/nnc
. $PWD/editor/bash-completion/nnc-trainer
SH
cat >>"$tmp/comp.sh" <<'SH'
f=$1; shift
COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=(); "$f" "$1" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
printf '%s\n' "${COMPREPLY[@]}" | sort -u
SH
comp() { (cd "${DIR:-.}" && bash "$tmp/comp.sh" "$@") 2>&1; }

got=$(comp _nnc nnc -- | tr '\n' ' ')
want=$(build/nnc --help | grep -o -- '--[a-z0-9-]*' | sort -u | tr '\n' ' ')
if [ "$got" = "$want" ]; then pass "nnc's completion offers the options nnc --help lists"
else fail "nnc completion" "want: $want" "got:  $got"; fi

got=$(DIR=models comp _nnc nnc "" | tr '\n' ' ')
want=$(cd models && ls *.model | tr '\n' ' ')
if [ "$got" = "$want" ]; then pass "nnc's completion offers .model files"
else fail "nnc completes models" "want: $want" "got:  $got"; fi

got=$(comp _nnc_trainer mlp "" | tr '\n' ' ')
if [ "$got" = "bench eval help predict summary train " ]; then pass "a trainer's completion offers its commands"
else fail "trainer commands" "got: $got"; fi

got=$({ for cmd in train eval predict bench; do comp _nnc_trainer mlp $cmd --; done; } | sort -u | tr '\n' ' ')
want=$(build/fashion_mlp help | grep -o -- '--[a-z-]*' | grep -vx -- --option | sort -u | tr '\n' ' ')
if [ "$got" = "$want" ]; then pass "a trainer's completion offers, over its commands, the options its help lists"
else fail "trainer options" "want: $want" "got:  $got"; fi

got=$(comp _nnc_trainer mlp eval -- | tr '\n' ' ')
if [ "$got" = "--batch --data --delimiter --header --label --load --target --test --test-split --threads --train " ]; then pass "eval completes only the options eval takes"
else fail "eval options" "got: $got"; fi
done_testing
