/* fail.h: the error convention of libnnrt's loaders, internal.
 * A loader that finds a problem writes one line naming the file and what is
 * wrong into the caller's buffer and returns -1; it never prints or exits,
 * so nn_main decides how to report it and tests can check the text. */
#ifndef NNRT_FAIL_H
#define NNRT_FAIL_H

#include <stddef.h>

#define NN_PATH_LEN 4096

/* Formats the message into err (errlen bytes); returns -1 */
int nn_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
