%code top {
/* parser.y: the grammar of .model files (pure bison, LALR(1)).
 *
 * Consumes the tokens of lexer.l; produces the AST: a list of Stmt, each a
 * keyword followed by its arguments in source order, through the ast.c
 * constructors (one call per action). The grammar knows only this shape:
 *
 *   program = (stmt? SEP)* stmt?
 *   stmt    = KEYWORD arg*
 *   arg     = value | KEY "=" value
 *   value   = NUMBER | WORD | DIMS
 *
 * Which keywords exist and what arguments each takes is a table in lower.c,
 * so adding a layer does not touch the grammar. A statement with a syntax
 * error is reported (yyreport_syntax_error says what was expected) and
 * skipped up to the next separator, leaving a broken Stmt in its place so
 * that lower.c knows something was lost there; parsing goes on with the
 * next statement.
 */
}

%code requires {
#include "nnc.h"

typedef void *yyscan_t;

/* The scanner's state (flex's "extra"). */
typedef struct {
    const Source *src;
    int offset;    /* of the next byte to scan */
    bool at_start; /* the next word is a statement's keyword */
} LexState;

typedef struct {
    Arg *head, *tail;
} ArgList;

/* A rule's location spans its first to its last symbol; an empty rule's is
 * the empty span at the end of what precedes it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                              \
    do {                                                         \
        if (N) {                                                 \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                \
            (Cur).end = YYRHSLOC(Rhs, N).end;                    \
        } else {                                                 \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;      \
        }                                                        \
    } while (0)
}

%code {
#include "lexer.h"

static void yyerror(const Loc *loc, yyscan_t scanner, const Source *src, Stmt ***tail,
                    const char *msg);

static void append(Stmt ***tail, Stmt *s) {
    if (s) {
        **tail = s;
        *tail = &s->next;
    }
}
}

%define api.pure full
%define api.location.type {Loc}
%define parse.error custom
%define parse.lac full
%locations
%expect 0

%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {const Source *src} {Stmt ***tail}

%union {
    Arg *arg;
    ArgList args;
    Stmt *stmt;
}

%token KEYWORD "keyword" WORD "word" NUMBER "number" DIMS "dimensions"
%token KEY "option" EQUALS "=" SEP "separator"
%type <arg> arg value
%type <args> args
%type <stmt> item stmt

%%

program:
  lines item       { append(tail, $2); }
;

lines:
  %empty
| lines item SEP   { append(tail, $2); yyerrok; /* a bad statement ends at its separator */ }
;

/* Recovery reduces "error" once per token it skips; only the last
 * reduction, which spans them all, reaches the list. */
item:
  %empty           { $$ = NULL; }
| stmt
| error            { $$ = new_broken_stmt(src, @1); }
;

stmt:
  KEYWORD args     { $$ = new_stmt(src, @1, $2.head); }
;

args:
  %empty           { $$.head = $$.tail = NULL; }
| args arg         {
                       $$ = $1;
                       if ($$.tail)
                           $$.tail->next = $2;
                       else
                           $$.head = $2;
                       $$.tail = $2;
                   }
;

arg:
  value
| KEY EQUALS value { $$ = with_key(src, $3, @1); }
;

value:
  NUMBER           { $$ = new_number_arg(src, @1); }
| WORD             { $$ = new_word_arg(src, @1); }
| DIMS             { $$ = new_dims_arg(src, @1); }
;

%%

/* How a token reads in "expected X before Y". */
static const char *describe(yysymbol_kind_t sym, const Source *src, Loc loc) {
    const char *text = clip_text(src->text + loc.start, (size_t)(loc.end - loc.start));
    switch (sym) {
    case YYSYMBOL_YYEOF:
        return "end of file";
    case YYSYMBOL_SEP:
        return src->text[loc.start] == ';' ? "';'" : "end of line";
    case YYSYMBOL_NUMBER:
        return arena_printf("number '%s'", text);
    case YYSYMBOL_KEY:
        return arena_printf("option '%s'", text);
    default:
        return arena_printf("'%s'", text);
    }
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, const Source *src,
                                 Stmt ***tail) {
    (void)scanner, (void)tail;
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    bool want[YYNTOKENS] = {0};
    for (int i = 0; i < n; i++)
        want[exp[i]] = true;
    /* The end of a statement is always a way out; naming it is noise
     * unless nothing else would do. */
    const char *names[6];
    int k = 0;
    if (want[YYSYMBOL_KEYWORD])
        names[k++] = "a keyword";
    if (want[YYSYMBOL_NUMBER] && want[YYSYMBOL_WORD] && want[YYSYMBOL_DIMS])
        names[k++] = "a value";
    if (want[YYSYMBOL_KEY])
        names[k++] = "an option (key=value)";
    if (want[YYSYMBOL_EQUALS])
        names[k++] = "'='";
    if (k == 0)
        names[k++] = "';' or a newline";
    const char *list = names[0];
    for (int i = 1; i < k; i++)
        list = arena_printf("%s%s%s", list, i == k - 1 ? " or " : ", ", names[i]);
    Loc loc = *yypcontext_location(ctx);
    error_at(src, loc, "expected %s before %s", list,
             describe(yypcontext_token(ctx), src, loc));
    return 0;
}

/* Bison calls this only when its stack overflows, which the left-recursive
 * grammar cannot make happen; it stays an ordinary error all the same. */
static void yyerror(const Loc *loc, yyscan_t scanner, const Source *src, Stmt ***tail,
                    const char *msg) {
    (void)scanner, (void)tail;
    error_at(src, *loc, "%s", msg);
}

Stmt *parse_source(const Source *src) {
    LexState st = {.src = src, .offset = 0, .at_start = true};
    yyscan_t scanner;
    if (yylex_init_extra(&st, &scanner)) {
        fprintf(stderr, "nnc: out of memory\n");
        exit(1);
    }
    YY_BUFFER_STATE buf = yy_scan_bytes(src->text, src->len, scanner);
    Stmt *head = NULL, **tail = &head;
    yyparse(scanner, src, &tail);
    yy_delete_buffer(buf, scanner);
    yylex_destroy(scanner);
    return head;
}
