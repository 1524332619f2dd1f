/* frontend.c: libFuzzer harness for the compiler's front end, checks and
 * emitter (make fuzz). Each input is a .model: it is parsed, its AST
 * printed, lowered and checked, and when it is accepted, summarised and
 * emitted into a temporary directory, as `nnc --summary` and
 * `nnc FILE -o OUT.c` would. ASan and UBSan catch memory errors and
 * undefined behaviour; whether the emitted C compiles is checked after
 * fuzzing by tests/fuzz/compile-accepted.sh, as gcc here would be too
 * slow. tests/fuzz/frontend/ holds the seed corpus (the repository's
 * models) and every input that once crashed or miscompiled. */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

#include "tmpdir.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *c_path, *h_path;
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *dir = fuzz_dir("frontend");
    if (!(devnull = fopen("/dev/null", "w"))) {
        perror("frontend fuzz setup");
        exit(1);
    }
    /* Malloc'd, not arena: the arena is freed after every input. */
    size_t n = strlen(dir) + sizeof "/fuzz.c";
    char *c = malloc(n), *h = malloc(n);
    snprintf(c, n, "%s/fuzz.c", dir);
    snprintf(h, n, "%s/fuzz.h", dir);
    c_path = c, h_path = h;
    /* The diagnostics of every input would fill the log: the compiler's
     * stderr goes to /dev/null. libFuzzer keeps its own copy of the
     * original stream, and the sanitizers write to fd 2 directly. */
    stderr = devnull;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16) /* the front end at scale is tests/11-robust.t's job */
        return 0;
    char *text = arena_alloc(size + 1);
    memcpy(text, data, size);
    Source src = {.path = "fuzz.model", .text = text, .len = (int)size};
    Stmt *stmts = parse_source(&src);
    dump_ast(devnull, stmts);
    Model *m = lower_program(&src, stmts);
    if (m) {
        fputs(format_summary(m), devnull);
        emit_model(m, c_path, h_path);
    }
    arena_free_all();
    diag_reset();
    return 0;
}
