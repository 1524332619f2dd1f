/* rows.c: a deployed network on rows of features, for
 * tests/44-deploy-standardize.t. Reads MACRO_IN_SIZE comma-separated floats
 * a line from stdin, passes them as they are to NET_predict in an arena of
 * exactly MACRO_ARENA_BYTES (malloc'd: ASan sees a byte beyond), writes
 * the outputs a line, %.9g (a float's digits), comma-separated.
 * -DNET=name -DMACRO=NAME -DNET_H='"name.h"'; with -DNAMES the first line
 * is MACRO_CLASS_NAMES, comma-separated. */
#include NET_H

#include <stdio.h>
#include <stdlib.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(NET, s)
#define IN_SIZE CAT(MACRO, _IN_SIZE)
#define OUT_SIZE CAT(MACRO, _OUT_SIZE)
#define ARENA_BYTES CAT(MACRO, _ARENA_BYTES)

int main(void) {
    float x[IN_SIZE], y[OUT_SIZE];
    void *arena = malloc(ARENA_BYTES ? ARENA_BYTES : 1);
#ifdef NAMES
    static const char *const names[OUT_SIZE] = CAT(MACRO, _CLASS_NAMES);
    for (int i = 0; i < OUT_SIZE; i++)
        printf("%s%s", names[i], i + 1 < OUT_SIZE ? "," : "\n");
#endif
    for (;;) {
        for (int i = 0; i < IN_SIZE; i++)
            if (scanf(i ? " ,%f" : " %f", &x[i]) != 1)
                return free(arena), i == 0 && feof(stdin) ? 0 : 1;
        SYM(_predict)(x, y, arena);
        for (int i = 0; i < OUT_SIZE; i++)
            printf("%.9g%s", (double)y[i], i + 1 < OUT_SIZE ? "," : "\n");
    }
}
