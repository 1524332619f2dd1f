#!/usr/bin/env bash
# One version, from the VERSION file: nnc --version, the trainers' help,
# nnrt.pc and debian/changelog.
. tests/tap.sh
version=$(cat VERSION)

out=$(build/nnc --version)
if [ "$out" = "nnc $version" ]; then pass "nnc --version prints VERSION ($version)"
else fail "nnc --version" "got '$out', VERSION says $version"; fi

out=$(build/fashion_mlp help | head -n 1)
case $out in
*"libnnrt $version") pass "a trainer's help names the runtime's version" ;;
*) fail "trainer help version" "got '$out', VERSION says $version" ;;
esac
out=$(PKG_CONFIG_PATH=build pkg-config --modversion nnrt)
if [ "$out" = "$version" ]; then pass "nnrt.pc's version is VERSION"
else fail "nnrt.pc version" "got '$out', VERSION says $version"; fi
out=$(sed -n '1s/^nnc (\([^)]*\)).*/\1/p' debian/changelog)
if [ "$out" = "$version" ]; then pass "debian/changelog's latest version is VERSION"
else fail "debian/changelog version" "got '$out', VERSION says $version: add a changelog entry (dch -v $version)"; fi
done_testing
