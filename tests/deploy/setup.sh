# setup.sh: what tests/44-deploy.t and tests/45-int8.t share (sourced): the
# TAP helpers, a scratch directory, the compilers' flags, the Fashion-MNIST
# test images and labels as raw bytes, and the helpers that run a step and
# read the drivers' KEY=VALUE lines.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
cc=${CC:-cc}
c99="-std=c99 -Wall -Wextra -Werror -pedantic -Wshadow -Wmissing-prototypes"
# What links build/libnnrt.a takes make's CFLAGS: make sanitize's runtime is sanitized
rt_libs="build/libnnrt.a $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lz -lm -lpthread"

gunzip -c $data/t10k-images-idx3-ubyte.gz | tail -c +17 >"$tmp/images.u8"
gunzip -c $data/t10k-labels-idx1-ubyte.gz | tail -c +9 >"$tmp/labels.u8"

run() { "$@" >"$tmp/out" 2>"$tmp/err"; }
# field KEY FILE: the value of KEY=VALUE in FILE's first line
field() { head -n 1 "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
