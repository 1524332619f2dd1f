/* main.c: the nnc driver.
 *
 * Consumes the command line; runs the pipeline (source -> parse -> lower)
 * and then one action: write NAME.c and NAME.h (emit.c), or with
 * --emit=deploy the inference C with a checkpoint's weights inside
 * (emit_deploy.c; with --int8, quantised: emit_int8.c), print the summary,
 * print the AST, or only check. Exit status: 0 success (warnings allowed),
 * 1 errors in the model or a failed read or write, 2 a usage error. No
 * output file is written when the model has any error.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

typedef enum { EMIT, CHECK, SUMMARY, DUMP_AST } Mode;

static void usage(FILE *out) {
    fprintf(out,
            "usage: nnc FILE.model [-o OUT.c]   write OUT.c and OUT.h (default: NAME.c, NAME.h)\n"
            "       nnc --build FILE.model -o PROG  build the trainer PROG (installed runtime)\n"
            "       nnc --emit=deploy --weights CKPT FILE.model [-o OUT.c]\n"
            "       nnc --emit=deploy --int8 --weights CKPT [--data DIR] [--calibrate N]\n"
            "           FILE.model [-o OUT.c]\n"
            "                                   inference C with the weights inside, no library\n"
            "                                   (default: NAME_deploy.c, NAME_deploy.h)\n"
            "       nnc --summary FILE.model    print the layers, parameters and memory\n"
            "       nnc --check FILE.model      only check the model\n"
            "       nnc --dump-ast FILE.model   print the statements as parsed\n"
            "       nnc --help | --version\n"
            "FILE.model '-' reads standard input. The language: nnc-model(5), docs/language.md.\n");
}

static _Noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnc: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(nnc --help for usage)\n");
    va_end(ap);
    exit(2);
}

static bool ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* The file name fits '#include "NAME"': C leaves ', \, " and // undefined
 * there, a newline ends it, and ?? could start a trigraph. */
static bool includable(const char *name) {
    for (const char *p = name; *p; p++)
        if (strchr("'\\\"", *p) || (unsigned char)*p < ' ' || *p == 0x7f ||
            (p[0] == '?' && p[1] == '?'))
            return false;
    return true;
}

int main(int argc, char **argv) {
    Mode mode = EMIT;
    const char *in = NULL, *out = NULL, *weights = NULL, *data = NULL, *calib = NULL;
    bool deploy = false, int8 = false;
    static const char *const modes[] = {"--check", "--summary", "--dump-ast"};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--build") == 0)
            return build_main(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        Mode picked = EMIT;
        for (int k = 0; k < 3; k++)
            if (strcmp(a, modes[k]) == 0)
                picked = (Mode)(CHECK + k);
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("nnc %s\n", NNC_VERSION);
            return 0;
        } else if (picked != EMIT) {
            if (mode != EMIT && mode != picked)
                usage_error("%s cannot be combined with another mode", a);
            mode = picked;
        } else if (strncmp(a, "--emit=", 7) == 0) {
            if (strcmp(a + 7, "deploy") != 0 && strcmp(a + 7, "trainer") != 0)
                usage_error("--emit takes 'trainer' or 'deploy', got '%s'", a + 7);
            deploy = strcmp(a + 7, "deploy") == 0;
        } else if (strcmp(a, "--int8") == 0) {
            int8 = true;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--weights") == 0 ||
                   strcmp(a, "--data") == 0 || strcmp(a, "--calibrate") == 0) {
            const char **value = a[1] == 'o' ? &out : a[2] == 'w' ? &weights : a[2] == 'd' ? &data
                                                                                    : &calib;
            if (i + 1 == argc)
                usage_error("%s needs a file name", a);
            if (*value)
                usage_error("%s given twice", a);
            *value = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            usage_error("unknown option '%s'", a);
        } else if (in) {
            usage_error("one model at a time; '%s' is one too many", a);
        } else {
            in = a;
        }
    }
    if (!in)
        usage_error("no model file given");
    if (out && mode != EMIT)
        usage_error("-o only goes with generating C");
    if (deploy && mode != EMIT)
        usage_error("--emit=deploy only goes with generating C");
    if (int8 && !deploy)
        usage_error("--int8 only goes with --emit=deploy");
    if (deploy != (weights != NULL))
        usage_error(deploy ? "--emit=deploy needs --weights CKPT, the trained checkpoint"
                           : "--weights only goes with --emit=deploy");
    if ((data || calib) && !int8)
        usage_error("%s only goes with --int8", data ? "--data" : "--calibrate");
    char *end = NULL;
    long n_calib = calib ? strtol(calib, &end, 10) : 1000;
    if (calib && (*end || end == calib || n_calib < 1 || n_calib > 1000000))
        usage_error("--calibrate takes a number of images in 1..1000000, got '%s'", calib);
    if (out && (!ends_with(out, ".c") || strlen(out) == 2 || ends_with(out, "/.c")))
        usage_error("-o needs a file name ending in .c, got '%s'", out);
    if (out && strcmp(base_name(out), "nnrt.c") == 0)
        usage_error("-o %s would write an nnrt.h that hides the runtime's header; choose "
                    "another name",
                    out);
    if (out && !includable(base_name(out)))
        usage_error("-o %s: the .c includes the .h by name, and '#include \"...\"' cannot "
                    "spell this one; use letters, digits and . _ - + in the file name",
                    out);

    Source *src = source_load(in);
    if (!src)
        return 1;
    Stmt *stmts = parse_source(src);
    if (mode == DUMP_AST) {
        dump_ast(stdout, stmts);
        return error_count() ? 1 : 0;
    }
    Model *m = lower_program(src, stmts);
    if (!m)
        return 1;
    switch (mode) {
    case CHECK:
        return 0;
    case SUMMARY:
        fputs(format_summary(m), stdout);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "nnc: cannot write the summary to standard output\n");
            return 1;
        }
        return 0;
    default: {
        const char *c_path = out ? out : arena_printf(deploy ? "%s_deploy.c" : "%s.c", m->name);
        size_t stem = strlen(c_path) - 2;
        const char *h_path = arena_printf("%.*s.h", (int)stem, c_path);
        if (strcmp(base_name(h_path), "nnrt.h") == 0) {
            fprintf(stderr, "nnc: error: the model 'nnrt' would be written to nnrt.c and an "
                            "nnrt.h that hides the runtime's header; give -o another name\n");
            return 1;
        }
        if (deploy)
            /* the trainer's default --data (NN_DEFAULT_DATA, runtime/data.h) */
            return (int8 ? emit_int8(m, weights, data ? data : "/usr/share/datasets/fashion-mnist",
                                     n_calib, c_path, h_path)
                         : emit_deploy(m, weights, c_path, h_path)) == 0
                       ? 0
                       : 1;
        return emit_model(m, c_path, h_path) == 0 ? 0 : 1;
    }
    }
}
