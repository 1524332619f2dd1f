/* atomic.h: replacing a file all at once (atomic.c), internal to libnnrt:
 * checkpoints and predict's --output. */
#ifndef NNRT_ATOMIC_H
#define NNRT_ATOMIC_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* What fopen would give a new file: 0666 less the umask (mkstemp creates
 * its files 0600) */
mode_t nn_default_file_mode(void);

/* Writes path through body(f, ctx), which returns 0 or an errno: into a
 * temporary PATH.tmp.XXXXXX in the same directory, with the mode fopen
 * would give, flushed and fsync()ed, renamed over path, and the directory
 * fsync()ed, so path holds either its old contents or the complete new
 * ones. 0, or -1 with "PATH: cannot write WHAT: reason" (or why the
 * temporary could not be made) in err; a failed write leaves no temporary. */
int nn_write_atomic(const char *path, int (*body)(FILE *f, void *ctx), void *ctx,
                    const char *what, char *err, size_t errlen);

#endif
