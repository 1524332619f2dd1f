#!/bin/sh
# Installs the Debian packages nnc needs, if any is missing; where it cannot
# (not root, no apt-get), prints the exact command to run instead.
# NNC_DEPS replaces the list; set but empty (a package build, whose
# Build-Depends are already installed), it checks nothing.
set -eu
need=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in ${NNC_DEPS-make gcc perl flex bison pkg-config libopenblas-dev zlib1g-dev libcmocka-dev groff-base man-db bash-completion dataset-fashion-mnist gnuplot-nox python3-numpy gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm openmpi-bin libopenmpi-dev}; do
    have "$pkg" || need="$need $pkg"
done
[ -z "$need" ] && exit 0
echo "nnc: installing missing packages:$need"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $need
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    # shellcheck disable=SC2086
    sudo apt-get install -y --no-install-recommends $need
else
    echo "nnc: please run: apt-get install$need" >&2
    exit 1
fi
