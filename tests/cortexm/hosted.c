/* hosted.c: board.h on the host, with stdio: the reference build of
 * main.c, compiled like the device's (-ffp-contract=off, no fused
 * multiply-add), whose output file the device must reproduce. */
#include "board.h"

#include <stdio.h>

#define MAX_FILES 4

static FILE *files[MAX_FILES];

int board_open(const char *path, int write) {
    for (int fd = 0; fd < MAX_FILES; fd++)
        if (!files[fd]) {
            files[fd] = fopen(path, write ? "wb" : "rb");
            return files[fd] ? fd : -1;
        }
    return -1;
}

size_t board_read(int fd, void *buf, size_t n) {
    return fread(buf, 1, n, files[fd]);
}

int board_write(int fd, const void *buf, size_t n) {
    return fwrite(buf, 1, n, files[fd]) != n;
}

int board_close(int fd) {
    int err = fclose(files[fd]);
    files[fd] = NULL;
    return err;
}

void board_print(const char *s) {
    puts(s);
}

uint64_t board_instructions(void) {
    return 0;
}

size_t board_stack_used(void) {
    return 0;
}
