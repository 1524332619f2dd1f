#!/usr/bin/env bash
# make install-test: nnc installed the ways users get it, then used from an
# empty directory outside the checkout, the way users use it.
#
#   1. make install DESTDIR=stage (PREFIX /usr/local): with only the stage's
#      bin on PATH and its pkgconfig on PKG_CONFIG_PATH, and a clean
#      environment, a model is built with nnc --build and with the
#      pkg-config recipe, and each trainer trains a short epoch. The stage
#      is not at its PREFIX: nnc --build finds its own installation's
#      nnrt.pc, which finds the rest from where it is (${pcfiledir}).
#      Then make uninstall leaves no file.
#   2. dpkg-buildpackage -us -uc -b in a copy of the tree (tests included),
#      lintian on the result (errors fail).
#   3. As root, when no nnc package is installed already: dpkg -i, the same
#      outside build against /usr, nnc --version, man nnc; dpkg -r leaves
#      none of the packages' files.
. tests/tap.sh
version=$(cat VERSION)
checkout=$PWD
tmp=$(mktemp -d /tmp/nnc-install-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# in_clean_env PATH PKG_CONFIG_PATH CMD...: CMD with nothing else inherited
in_clean_env() {
    local path=$1 pc=$2; shift 2
    env -i HOME="$tmp" TMPDIR="$tmp" LANG=C.UTF-8 PATH="$path" ${pc:+PKG_CONFIG_PATH="$pc"} "$@"
}

# outside_build WHERE PATH PKG_CONFIG_PATH MODELS: in a new empty directory,
# both ways of building a trainer, each trained for one short epoch
outside_build() {
    local where=$1 path=$2 pc=$3 models=$4 dir=$tmp/work-$1
    mkdir "$dir" && cp "$models/fashion_mlp.model" "$dir/"
    cat >"$dir/build.sh" <<'SH'
set -e
nnc --build fashion_mlp.model -o one
./one train --limit 500 --epochs 1 >one.out
nnc fashion_mlp.model -o two.c
flags=$(pkg-config --cflags --libs nnrt)
echo "$flags" >flags
cc two.c $flags -o two
./two train --limit 500 --epochs 1 >two.out
SH
    if (cd "$dir" && in_clean_env "$path" "$pc" sh build.sh) >"$tmp/log" 2>&1 &&
       tail -n 1 "$dir/one.out" | grep -q '^test: loss=[0-9.]* accuracy=[0-9.]*$' &&
       tail -n 1 "$dir/two.out" | grep -q '^test: loss=[0-9.]* accuracy=[0-9.]*$'
    then pass "$where: nnc --build and the pkg-config recipe build trainers that train ($(tail -n 1 "$dir/one.out"))"
    else fail "$where: outside build" "$(cat "$tmp/log")"; fi
    if ! grep -q "$checkout" "$dir/flags"
    then pass "$where: the flags name nothing in the checkout ($(cat "$dir/flags"))"
    else fail "$where: the checkout leaks in" "$(cat "$dir/flags")"; fi
}

# renders PAGE...: man renders each without a warning
renders() {
    local out
    if out=$(MANWIDTH=80 man --warnings "$@" 2>&1 >/dev/null) && [ -z "$out" ]; then return 0; fi
    echo "$out"; return 1
}

# --- 1. a staged make install
stage=$tmp/stage prefix=$tmp/stage/usr/local
if make -s install DESTDIR="$stage" >"$tmp/log" 2>&1; then pass "make install DESTDIR=stage"
else fail "make install" "$(cat "$tmp/log")"; fi
missing=""
for f in bin/nnc lib/libnnrt.a include/nnc/nnrt.h lib/pkgconfig/nnrt.pc share/man/man1/nnc.1 \
         share/man/man1/nnc-trainer.1 share/man/man5/nnc-model.5 share/nnc/models/fashion_mlp.model \
         share/doc/nnc/README.md share/doc/nnc/docs/language.md share/vim/vimfiles/syntax/nnc.vim \
         share/vim/vimfiles/ftdetect/nnc.vim share/bash-completion/completions/nnc \
         share/bash-completion/completions/nnc-trainer; do
    [ -f "$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then pass "it installs the compiler, runtime, header, nnrt.pc, man pages, models, docs, editor files"
else fail "installed files missing:$missing"; fi
out=$(in_clean_env "$prefix/bin:/usr/bin:/bin" "" nnc --version)
if [ "$out" = "nnc $version" ]; then pass "stage: nnc --version: $out"; else fail "stage: --version" "$out"; fi
if out=$(renders -l "$prefix"/share/man/man*/*); then pass "stage: the installed man pages render without a warning"
else fail "stage: man pages" "$out"; fi
outside_build stage "$prefix/bin:/usr/bin:/bin" "$prefix/lib/pkgconfig" "$prefix/share/nnc/models"

make -s uninstall DESTDIR="$stage" >"$tmp/log" 2>&1
left=$(find "$stage" ! -type d; find "$stage" -type d -name 'nnc*')
if [ -z "$left" ]; then pass "make uninstall DESTDIR=stage leaves no file"
else fail "uninstall leaves" "$left"; fi

# --- 2. the Debian packages, built from a copy of the tree
deb=$tmp/deb src=$tmp/deb/nnc-$version
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$src"
start=$(date +%s)
# DEB_BUILD_OPTIONS=nocheck (CI, which has just run make test on the same
# tree) builds the packages without running the suite a second time
case " ${DEB_BUILD_OPTIONS:-} " in
*" nocheck "*) tested="make test skipped (DEB_BUILD_OPTIONS=nocheck)" ;;
*) tested= ;;
esac
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 &&
   { [ -n "$tested" ] || grep -q '^Result: PASS' "$tmp/build.log"; } &&
   [ -f "$deb/nnc_${version}_amd64.deb" ] && [ -f "$deb/libnnrt-dev_${version}_amd64.deb" ]
then pass "dpkg-buildpackage -us -uc -b builds nnc and libnnrt-dev $version; ${tested:-make test passed in it: $(grep '^Files=' "$tmp/build.log" | cut -d, -f1-2)} ($(($(date +%s) - start)) s)"
else fail "dpkg-buildpackage" "$(tail -n 40 "$tmp/build.log")"; fi
if lintian --fail-on error "$deb"/*.changes >"$tmp/lintian" 2>&1
then pass "lintian finds no error"
else fail "lintian" "$(cat "$tmp/lintian")"; fi
grep -v 'running with root privileges' "$tmp/lintian" | sed 's/^/# lintian: /'

# --- 3. installed by dpkg, used against /usr, removed
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
if [ "$(id -u)" != 0 ]; then
    echo "ok $((tap_n += 1)) - # skip dpkg -i: not root"
elif installed nnc || installed libnnrt-dev; then
    echo "ok $((tap_n += 1)) - # skip dpkg -i: an nnc package is installed already, left alone"
else
    if dpkg -i "$deb/libnnrt-dev_${version}_amd64.deb" "$deb/nnc_${version}_amd64.deb" >"$tmp/log" 2>&1
    then pass "dpkg -i nnc libnnrt-dev: every dependency is met"
    else fail "dpkg -i" "$(cat "$tmp/log")"; fi
    files=$(dpkg -L nnc libnnrt-dev | while read -r f; do [ -d "$f" ] || echo "$f"; done)
    out=$(in_clean_env /usr/bin:/bin "" nnc --version)
    if [ "$out" = "nnc $version" ]; then pass "/usr: nnc --version: $out"; else fail "/usr: --version" "$out"; fi
    if out=$(renders nnc nnc-trainer 5 nnc-model) && MANWIDTH=80 man nnc | tr -s ' ' | grep -q '^ nnc - compile'
    then pass "/usr: man nnc, man nnc-trainer, man 5 nnc-model render"
    else fail "/usr: man" "$out"; fi
    outside_build usr /usr/bin:/bin "" /usr/share/nnc/models
    dpkg -r nnc libnnrt-dev >"$tmp/log" 2>&1
    left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done; true)
    if ! installed nnc && ! installed libnnrt-dev && [ -n "$files" ] && [ -z "$left" ]
    then pass "dpkg -r nnc libnnrt-dev leaves none of their $(echo "$files" | wc -l) files"
    else fail "dpkg -r" "$(cat "$tmp/log")" "$left"; fi
fi
done_testing
