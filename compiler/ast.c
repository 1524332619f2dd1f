/* ast.c: the constructors parser.y's actions call, and the AST printer.
 *
 * Consumes a Source and token locations; produces Stmt and Arg nodes whose
 * text is copied out of the source (the source keeps its NULs and has no
 * terminator at a token's end). Values are converted here but not judged:
 * an integer that does not fit or a number that overflows is stored
 * saturated, and lower.c, which knows what each argument means, reports it.
 */
#include "nnc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The bytes of a word after its first (lexer.l's WORD) */
#define WORD_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

static const char *text_of(const Source *src, Loc loc) {
    return arena_strndup(src->text + loc.start, (size_t)(loc.end - loc.start));
}

static Arg *new_arg(const Source *src, ArgKind kind, Loc loc) {
    Arg *a = arena_alloc(sizeof *a);
    a->kind = kind;
    a->loc = a->key_loc = loc;
    a->text = text_of(src, loc);
    return a;
}

Arg *new_number_arg(const Source *src, Loc loc) {
    Arg *a = new_arg(src, ARG_NUMBER, loc);
    a->num = strtod(a->text, NULL); /* the lexer matched its syntax; overflow gives inf */
    a->is_int = !strpbrk(a->text, ".eE");
    return a;
}

Arg *new_word_arg(const Source *src, Loc loc) {
    return new_arg(src, ARG_WORD, loc);
}

Arg *new_dims_arg(const Source *src, Loc loc) {
    Arg *a = new_arg(src, ARG_DIMS, loc);
    for (const char *p = a->text; *p; p++) {
        if (*p == 'x') {
            a->n_dims++;
            continue;
        }
        int *d = &a->dims[a->n_dims];
        *d = *d > (INT_MAX - (*p - '0')) / 10 ? INT_MAX : *d * 10 + (*p - '0');
    }
    a->n_dims++;
    return a;
}

Arg *with_key(const Source *src, Arg *value, Loc key_loc) {
    value->key = text_of(src, key_loc);
    value->key_loc = key_loc;
    return value;
}

Stmt *new_stmt(const Source *src, Loc kw_loc, Arg *args) {
    Stmt *s = arena_alloc(sizeof *s);
    s->keyword = text_of(src, kw_loc);
    s->kw_loc = s->loc = kw_loc;
    s->args = args;
    for (Arg *a = args; a; a = a->next)
        s->loc.end = a->loc.end;
    return s;
}

Stmt *new_broken_stmt(const Source *src, Loc loc) {
    const char *p = src->text + loc.start;
    int n = 0;
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || *p == '_')
        while (n < loc.end - loc.start && p[n] && strchr(WORD_CHARS, p[n]))
            n++;
    Stmt *s = new_stmt(src, (Loc){loc.start, loc.start + n}, NULL);
    s->loc = loc;
    s->broken = true;
    return s;
}

void dump_ast(FILE *out, const Stmt *stmts) {
    static const char *const kinds[] = {"number", "word", "dims"};
    for (const Stmt *s = stmts; s; s = s->next) {
        fprintf(out, "%d-%d %s%s", s->loc.start, s->loc.end, s->broken ? "<syntax error> " : "",
                s->keyword);
        for (const Arg *a = s->args; a; a = a->next) {
            fprintf(out, " %s%s%s:%s", a->key ? a->key : "", a->key ? "=" : "", kinds[a->kind],
                    a->text);
            if (a->kind == ARG_NUMBER)
                fprintf(out, "(%.17g%s)", a->num, a->is_int ? ",int" : "");
            else if (a->kind == ARG_DIMS)
                for (int i = 0; i < a->n_dims; i++)
                    fprintf(out, "%s%d", i ? "x" : "(", a->dims[i]);
            if (a->kind == ARG_DIMS)
                fputc(')', out);
        }
        fputc('\n', out);
    }
}
