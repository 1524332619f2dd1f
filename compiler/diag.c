/* diag.c: GCC-style diagnostics over a Source.
 *
 * Consumes a Source, a Loc (byte offsets) and a message; produces on stderr
 *     PATH:LINE:COL: error: MESSAGE
 *         3 | dense 1024 relu
 *           |       ^~~~
 * so editors can jump to it. Columns are 1-based and count bytes. Whatever
 * the bytes are, the quoted line is printable (other bytes show as '?',
 * one column each, so the caret stays aligned) and bounded (a window around
 * the caret of a long line). Errors are counted; the 21st stops the run
 * (error_limit_reached), before any output file exists.
 */
#include "nnc.h"

#include <stdlib.h>
#include <string.h>

enum {
    SHOW = 100,  /* bytes of a source line quoted at most */
    BEFORE = 40, /* of which before the caret, when the line is cut */
    CLIP = 40,   /* bytes of source text quoted inside a message */
};

static int errors;

/* Line starts of the last Source asked about, built once: with unlimited
 * warnings, a per-diagnostic scan of the file would be quadratic. */
static const Source *lines_of;
static int *starts, n_starts;

static void index_lines(const Source *src) {
    if (lines_of == src)
        return;
    int n = 1;
    for (int i = 0; i < src->len; i++)
        n += src->text[i] == '\n';
    starts = arena_alloc(sizeof(int) * (size_t)n);
    starts[0] = 0;
    n_starts = 1;
    for (int i = 0; i < src->len; i++)
        if (src->text[i] == '\n')
            starts[n_starts++] = i + 1;
    lines_of = src;
}

int line_of(const Source *src, int offset) {
    index_lines(src);
    int lo = 0, hi = n_starts - 1; /* the last start <= offset */
    while (lo < hi) {
        int mid = lo + (hi - lo + 1) / 2;
        if (starts[mid] <= offset)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo + 1;
}

/* The line's bytes [*b, *e), without its "\n" or "\r\n". */
static void line_span(const Source *src, int line, int *b, int *e) {
    index_lines(src);
    *b = starts[line - 1];
    *e = line < n_starts ? starts[line] - 1 : src->len;
    if (*e > *b && src->text[*e - 1] == '\r')
        (*e)--;
}

static char printable(unsigned char c) {
    return c >= 0x20 && c < 0x7f ? (char)c : c == '\t' ? ' ' : '?';
}

const char *clip_text(const char *s, size_t n) {
    size_t keep = n > CLIP ? CLIP - 3 : n;
    char *out = arena_alloc(keep + 4);
    for (size_t i = 0; i < keep; i++)
        out[i] = printable((unsigned char)s[i]);
    if (keep < n)
        memcpy(out + keep, "...", 3);
    return out;
}

static void quote_line(const Source *src, Loc loc) {
    int line = line_of(src, loc.start);
    int b, e;
    line_span(src, line, &b, &e);
    int col = loc.start - b;
    /* A long line is shown as a window that contains the caret. */
    int from = 0, to = e - b;
    if (to > SHOW) {
        from = col > BEFORE ? col - BEFORE : 0;
        if (to - from < SHOW)
            from = to - SHOW;
        to = from + SHOW;
    }
    int width = 4;
    for (int l = line; l >= 10000; l /= 10)
        width++;
    fprintf(stderr, " %*d | %s", width, line, from > 0 ? "..." : "");
    for (int i = from; i < to; i++)
        fputc(printable((unsigned char)src->text[b + i]), stderr);
    fprintf(stderr, "%s\n %*s | %*s^", to < e - b ? "..." : "", width, "",
            (from > 0 ? 3 : 0) + col - from, "");
    int last = loc.end < e ? loc.end : e; /* the underline stops at the line's end */
    if (last > b + to)
        last = b + to;
    for (int i = loc.start + 1; i < last; i++)
        fputc('~', stderr);
    fputc('\n', stderr);
}

static void report(const Source *src, Loc loc, const char *kind, const char *fmt, va_list ap) {
    if (loc.start < 0 || loc.start > src->len) {
        fprintf(stderr, "nnc: internal error: location %d outside %s\n", loc.start, src->path);
        exit(1);
    }
    if (loc.end < loc.start)
        loc.end = loc.start;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* Messages quote source text through clip_text; this is the backstop. */
    for (char *p = msg; *p; p++)
        *p = printable((unsigned char)*p);
    int line = line_of(src, loc.start);
    fprintf(stderr, "%s:%d:%d: %s: %s\n", src->path, line, loc.start - starts[line - 1] + 1, kind,
            msg);
    quote_line(src, loc);
}

/* The 21st error is not reported: it stops the run. The lexer then ends the
 * input and lowering its loop, so every stage returns normally (no exit:
 * the fuzz harness runs the stages in one process) and nothing more is
 * said. */
void error_at(const Source *src, Loc loc, const char *fmt, ...) {
    if (errors >= MAX_ERRORS) {
        if (errors++ == MAX_ERRORS)
            fprintf(stderr, "nnc: too many errors; stopping after %d\n", MAX_ERRORS);
        return;
    }
    errors++;
    va_list ap;
    va_start(ap, fmt);
    report(src, loc, "error", fmt, ap);
    va_end(ap);
}

void warn_at(const Source *src, Loc loc, const char *fmt, ...) {
    if (error_limit_reached())
        return;
    va_list ap;
    va_start(ap, fmt);
    report(src, loc, "warning", fmt, ap);
    va_end(ap);
}

void note_at(const Source *src, Loc loc, const char *fmt, ...) {
    if (error_limit_reached())
        return;
    va_list ap;
    va_start(ap, fmt);
    report(src, loc, "note", fmt, ap);
    va_end(ap);
}

int error_count(void) {
    return errors;
}

bool error_limit_reached(void) {
    return errors > MAX_ERRORS;
}

void diag_reset(void) {
    errors = 0;
    lines_of = NULL; /* a new Source may reuse a freed one's address */
    starts = NULL;
    n_starts = 0;
}

const char *thousands(size_t n) {
    char digits[32], out[48];
    int len = snprintf(digits, sizeof digits, "%zu", n), k = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    return arena_strndup(out, (size_t)k);
}
