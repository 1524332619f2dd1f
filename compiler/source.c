/* source.c: reads a .model file (or standard input for "-") into a Source.
 *
 * Consumes a path; produces the whole file as bytes with a NUL appended, so
 * the lexer and the diagnostics can look one byte past any token. The bytes
 * are kept as they are (NULs, CRs, invalid UTF-8): judging them is the
 * lexer's job, which reports each problem at its offset.
 */
#include "nnc.h"

#include <errno.h>
#include <string.h>

/* Locations are int byte offsets; no real model comes anywhere near this. */
enum { MAX_SOURCE = 64 << 20 };

Source *source_load(const char *path) {
    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "nnc: cannot open %s: %s\n", name, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = arena_alloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            /* Double up to the limit; the old block stays in the arena. */
            char *bigger = arena_alloc(cap * 2);
            memcpy(bigger, buf, len);
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (len > MAX_SOURCE) {
            fprintf(stderr, "nnc: %s: too large for a model (more than %d MiB)\n", name,
                    MAX_SOURCE >> 20);
            if (!is_stdin)
                fclose(f);
            return NULL;
        }
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    int err = errno;
    if (!is_stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "nnc: cannot read %s: %s\n", name, strerror(err));
        return NULL;
    }
    buf[len] = '\0';
    Source *src = arena_alloc(sizeof *src);
    src->path = name;
    src->text = buf;
    src->len = (int)len;
    return src;
}
