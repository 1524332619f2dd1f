#!/usr/bin/env bash
# Initial parameters depend on the seed and on each layer's identity (its
# default name: dense, dense_1, ...), not on its position: models that
# differ only in dropout, activation or flatten statements start from the
# same bytes, and another seed gives other ones. tests/init_dump.c writes
# what a generated desc's init fills in.
. tests/tap.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
blas_cflags=$(pkg-config --cflags openblas); blas_libs=$(pkg-config --libs openblas)

# dump MODEL SEED: writes $tmp/STEM.SEED, the model's initial floats
dump() {
    local model=$1 seed=$2 stem
    stem=$(basename "$model" .model)
    if ! [ -x "$tmp/$stem" ]; then
        build/nnc "$model" -o "$tmp/$stem.c" || return 1
        local name
        name=$(sed -n 's/^const nn_model_desc \(.*\)_model = {$/\1/p' "$tmp/$stem.c")
        cc ${CFLAGS:--O1} -std=c11 -Wall -Wextra -Werror -pedantic -Ibuild/include $blas_cflags \
            -DMODEL_C="\"$tmp/$stem.c\"" -DDESC="${name}_model" -o "$tmp/$stem" \
            tests/init_dump.c build/libnnrt.a $blas_libs -lz -lm || return 1
    fi
    "$tmp/$stem" "$seed" "$tmp/$stem.$seed"
}

# same_init WHAT MODEL...: every model's seed-1 floats equal the first's,
# the first's seed-2 floats differ from its seed-1 ones
same_init() {
    local what=$1 first=$2 out
    shift
    for model in "$@"; do
        if ! out=$(dump "$model" 1 2>&1); then fail "$what: $model" "$out"; return; fi
    done
    local ref=$tmp/$(basename "$first" .model).1
    for model in "${@:2}"; do
        if cmp "$ref" "$tmp/$(basename "$model" .model).1" >"$tmp/cmp" 2>&1
        then pass "$what: $(basename "$model") starts from the same $(wc -c <"$ref") bytes as $(basename "$first")"
        else fail "$what: $(basename "$model") starts from the same bytes" "$(cat "$tmp/cmp")"; fi
    done
    if ! out=$(dump "$first" 2 2>&1); then fail "$what: seed 2" "$out"; return; fi
    if ! cmp -s "$ref" "$tmp/$(basename "$first" .model).2"
    then pass "$what: seed 2 gives other initial values than seed 1"
    else fail "$what: seed 2 gives other initial values than seed 1"; fi
}

same_init "mlp" models/fashion_mlp.model models/fashion_mlp_no_dropout.model \
    models/fashion_mlp_dropout_before.model models/fashion_mlp_dropout_both.model

# Batchnorm's parameters and running state too, with the activations
# dropped and dropouts added around it.
mkdir "$tmp/bn"
sed -e '/^relu$/d' -e 's/^avgpool 2x2$/dropout 0.2\navgpool 2x2\ndropout 0.1/' \
    tests/summary/batchnorm.model >"$tmp/bn/batchnorm_variant.model"
if grep -q '^dropout' "$tmp/bn/batchnorm_variant.model" && ! grep -q '^relu' "$tmp/bn/batchnorm_variant.model"
then pass "the batchnorm variant differs in its dropout and activation statements"
else fail "the batchnorm variant" "$(cat "$tmp/bn/batchnorm_variant.model")"; fi
same_init "batchnorm" tests/summary/batchnorm.model "$tmp/bn/batchnorm_variant.model"
done_testing
