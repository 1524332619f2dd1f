# variants.sh: runs a cmocka test binary once under each of the runtime's
# kernel variants this CPU supports (NNRT_ISA, runtime/isa.c), as one TAP
# stream: every result is named with its variant, so a machine with AVX-512
# also tests the AVX2 and generic paths other machines take. Sourced by
# the .t files: run_variants BINARY.

# The variants the CPU runs, as runtime/isa.c decides: x86-64-v4's AVX-512
# subsets, then AVX2, then the baseline everyone has.
supported_isas() {
    flags=$(grep -m 1 '^flags' /proc/cpuinfo 2>/dev/null)
    has() { case " $flags " in *" $1 "*) return 0 ;; esac; return 1; }
    if has avx512f && has avx512bw && has avx512dq && has avx512vl; then echo avx512; fi
    if has avx2; then echo avx2; fi
    echo generic
}

run_variants() {
    bin=$1 n=0 failed=0
    for isa in $(supported_isas); do
        out=$(NNRT_ISA=$isa CMOCKA_MESSAGE_OUTPUT=TAP "$bin" 2>&1) || failed=1
        while IFS= read -r line; do
            case $line in
            "ok "*" - "* | "not ok "*" - "*)
                n=$((n + 1))
                status=${line%% [0-9]* - *}
                echo "$status $n - ${line#* - } [$isa]" ;;
            1..*) ;;
            *) printf '%s\n' "$line" ;;
            esac
        done <<TAP
$out
TAP
    done
    echo "1..$n"
    return $failed
}
