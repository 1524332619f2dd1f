/* board.h: what the firmware driver (main.c) needs from where it runs.
 * startup.c implements it on the Cortex-M, where the files are the host's,
 * reached through semihosting; hosted.c implements it with stdio, for the
 * host build whose outputs the device's must equal bit for bit. */
#ifndef CORTEXM_BOARD_H
#define CORTEXM_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* A handle >= 0 to the file at path, opened to read (or to write, truncated), or -1 */
int board_open(const char *path, int write);
/* Reads n bytes into buf; returns how many it read (fewer at the end of the file) */
size_t board_read(int fd, void *buf, size_t n);
/* Writes n bytes; returns 0 when all were written */
int board_write(int fd, const void *buf, size_t n);
/* Returns 0 when the file is closed with every byte written */
int board_close(int fd);
/* A line on the console: the test's report */
void board_print(const char *s);
/* Instructions executed so far, as SysTick counts them under qemu -icount;
 * 0 where nothing counts them (the host) */
uint64_t board_instructions(void);
/* The stack's high-water mark in bytes, from its painted words; 0 where
 * it is not painted (the host) */
size_t board_stack_used(void);

#endif
