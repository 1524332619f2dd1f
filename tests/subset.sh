# subset.sh: a smaller Fashion-MNIST in IDX form, for tests that need real
# images but not all of them (sourced): fashion_subset DIR NTRAIN NTEST
# writes DIR/{train,t10k}-{images,labels}-idx*-ubyte with the first N
# examples of each set.
fashion_src=/usr/share/datasets/fashion-mnist

# be32 N: N as 4 big-endian bytes
be32() { printf "\\$(printf '%03o' $(($1 >> 24 & 255)))\\$(printf '%03o' $(($1 >> 16 & 255)))\\$(printf '%03o' $(($1 >> 8 & 255)))\\$(printf '%03o' $(($1 & 255)))"; }

# idx_head SRC.gz DST N HEADER ITEM: the first N items of ITEM bytes after a
# HEADER-byte header, with the count (bytes 4..7) set to N
idx_head() {
    { gzip -dc "$1" | head -c 4; be32 "$3"; gzip -dc "$1" | tail -c +9 | head -c $(($4 - 8 + $3 * $5)); } >"$2"
}

fashion_subset() {
    mkdir -p "$1"
    for set in train:$2 t10k:$3; do
        name=${set%%:*} n=${set##*:}
        idx_head "$fashion_src/$name-images-idx3-ubyte.gz" "$1/$name-images-idx3-ubyte" "$n" 16 784
        idx_head "$fashion_src/$name-labels-idx1-ubyte.gz" "$1/$name-labels-idx1-ubyte" "$n" 8 1
    done
}
