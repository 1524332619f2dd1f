#!/usr/bin/env bash
# The data formats through a trainer: one Fashion-MNIST subset written as
# IDX files, as .npz archives (by NumPy: bytes, and floats x/255) and as
# CSV files trains to the same numbers, digit for digit: every reader hands
# the batches the same floats. Then a regression from .npy files given as
# X,Y with relative paths: its checkpoint records each path made absolute,
# so a resume from another directory continues the run.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
model=build/e2e/tiny_mlp

# without_timing FILE: the output minus the seconds and samples/s
without_timing() { sed 's/| [0-9.]*s [0-9]* samples\/s$//' "$1"; }

# 2000 training and 500 test examples in three forms
mkdir "$tmp/idx" "$tmp/csv"
/usr/bin/python3 - "$data" "$tmp" <<'PY'
import gzip, struct, sys
import numpy as np
data, tmp = sys.argv[1], sys.argv[2]
def idx(name, offset):
    return np.frombuffer(gzip.open('%s/%s.gz' % (data, name)).read(), np.uint8, offset=offset)
sets = {}
for split, prefix, n in (('train', 'train', 2000), ('test', 't10k', 500)):
    x = idx(prefix + '-images-idx3-ubyte', 16).reshape(-1, 28, 28)[:n]
    y = idx(prefix + '-labels-idx1-ubyte', 8)[:n]
    sets[split] = (x, y)
    open('%s/idx/%s-images-idx3-ubyte' % (tmp, prefix), 'wb').write(
        struct.pack('>IIII', 0x803, n, 28, 28) + x.tobytes())
    open('%s/idx/%s-labels-idx1-ubyte' % (tmp, prefix), 'wb').write(
        struct.pack('>II', 0x801, n) + y.tobytes())
    header = 'label,' + ','.join('pixel%d' % i for i in range(1, 785))
    np.savetxt('%s/csv/%s.csv' % (tmp, split), np.column_stack([y, x.reshape(n, -1)]),
               fmt='%d', delimiter=',', header=header, comments='')
np.savez_compressed('%s/fashion.npz' % tmp, x_train=sets['train'][0],
                    y_train=sets['train'][1].astype(np.int64), x_test=sets['test'][0],
                    y_test=sets['test'][1].astype(np.int32))
# floats are used as they are: x/255 in float32 (rounded from float64, which
# for a quotient gives the float division's result) is what the bytes become
np.savez('%s/floats.npz' % tmp, x_train=(sets['train'][0] / 255).astype(np.float32),
         y_train=sets['train'][1], x_test=(sets['test'][0] / 255).astype(np.float32)[..., None],
         y_test=sets['test'][1])
PY

if $model train --data "$tmp/idx" --epochs 1 --threads 1 >"$tmp/idx.out" 2>"$tmp/err" &&
   grep -q '^test: loss=' "$tmp/idx.out"
then pass "IDX files: the subset trains"
else fail "IDX files: the subset trains" "$(cat "$tmp/err")"; fi

for form in fashion.npz floats.npz csv; do
    if $model train --data "$tmp/$form" --epochs 1 --threads 1 >"$tmp/out" 2>"$tmp/err" &&
       diff <(without_timing "$tmp/idx.out") <(without_timing "$tmp/out") >"$tmp/diff"
    then pass "$form: the same numbers as the IDX files"
    else fail "$form: the same numbers as the IDX files" "$(cat "$tmp/diff" "$tmp/err")"; fi
done

# regression: float32 features, float64 targets y = 2 x1 - x2 + 0.5 x3
(cd "$tmp" && /usr/bin/python3 -c '
import numpy as np
r = np.random.default_rng(0)
for s, n in (("train", 160), ("test", 40)):
    x = r.uniform(-2, 2, (n, 3))
    np.save("x_%s.npy" % s, x.astype(np.float32)); np.save("y_%s.npy" % s, x @ [2.0, -1.0, 0.5])
') || fail "writing the .npy files"
reg=$PWD/build/e2e/regress
npy="--train x_train.npy,y_train.npy --test x_test.npy,y_test.npy --threads 1"
# shellcheck disable=SC2086
if (cd "$tmp" && $reg train $npy --epochs 1 --save 1.ckpt && $reg train $npy --epochs 2 --save 2.ckpt) >"$tmp/out" 2>&1 &&
   (cd / && $reg train --resume "$tmp/1.ckpt" --epochs 2 --threads 1) >>"$tmp/out" 2>&1 &&
   cmp -s "$tmp/1.ckpt" "$tmp/2.ckpt" && grep -q '^test: loss=[0-9.]* mae=[0-9.]* r2=' "$tmp/out"
then pass "X,Y .npy regression: resumed from another directory, the two-epoch checkpoint"
else fail "X,Y .npy resume" "$(cat "$tmp/out")"; fi

done_testing
