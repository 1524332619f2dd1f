/* arena.c: the compiler's only allocator.
 *
 * Consumes requests for zeroed memory; produces pointers that stay valid
 * until exit. Nothing is ever freed: the compiler is a short batch job whose
 * objects (source, AST, IR, messages) all live as long as the process, so a
 * bump allocator over large blocks is both the simplest and the fastest
 * ownership rule (chibicc never frees either). Only a process that runs
 * the compiler many times (the fuzz harness) frees it all between runs.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

enum {
    BLOCK = 1 << 20,
    HEADER = 16, /* a block's link, padded so what follows stays aligned */
};

/* Every block, newest first: all memory stays reachable until exit, so a
 * leak checker (LeakSanitizer) agrees that nothing is lost. */
static void *blocks;

static char *cur;   /* next free byte of the current block */
static size_t left; /* bytes left in it */

static void *fresh(size_t size) {
    char *p = calloc(1, HEADER + size);
    if (!p) {
        fprintf(stderr, "nnc: out of memory (%zu bytes)\n", size);
        exit(1);
    }
    memcpy(p, &blocks, sizeof blocks);
    blocks = p;
    return p + HEADER;
}

void *arena_alloc(size_t size) {
    size = (size + 15) & ~(size_t)15; /* keeps every object aligned for any type */
    if (size == 0)
        size = 16;
    /* Large objects get their own block so the current one is not wasted. */
    if (size > BLOCK / 4)
        return fresh(size);
    if (size > left) {
        cur = fresh(BLOCK);
        left = BLOCK;
    }
    void *p = cur;
    cur += size;
    left -= size;
    return p;
}

void arena_free_all(void) {
    while (blocks) {
        void *next;
        memcpy(&next, blocks, sizeof next);
        free(blocks);
        blocks = next;
    }
    cur = NULL;
    left = 0;
}

char *arena_strndup(const char *s, size_t n) {
    char *p = arena_alloc(n + 1);
    memcpy(p, s, n);
    return p;
}

char *arena_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "nnc: internal error: bad format '%s'\n", fmt);
        exit(1);
    }
    char *p = arena_alloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}
