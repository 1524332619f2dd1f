/* atomic.c: the temporary-file-and-rename dance of docs/trainer.md,
 * "Checkpoints", for every file the trainer replaces. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fail.h"

/* umask can only be read by setting it, hence the round trip */
mode_t nn_default_file_mode(void) {
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Makes the rename itself durable. Best effort: the data is already on
 * disk, and some file systems refuse fsync on a directory. */
static void sync_parent_dir(const char *path) {
    char dir[NN_PATH_LEN];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Writes into the open temporary file and closes it; 0 or an errno */
static int write_and_close(int fd, int (*body)(FILE *f, void *ctx), void *ctx) {
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return e;
    }
    int e = fchmod(fd, nn_default_file_mode()) != 0 ? errno : 0;
    if (!e)
        e = body(f, ctx);
    if (!e && fflush(f) != 0)
        e = errno;
    if (!e && fsync(fd) != 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno;
    return e;
}

int nn_write_atomic(const char *path, int (*body)(FILE *f, void *ctx), void *ctx,
                    const char *what, char *err, size_t errlen) {
    char tmp[NN_PATH_LEN];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nn_fail(err, errlen, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return nn_fail(err, errlen, "%s: cannot create a temporary file next to it: %s", path,
                       strerror(errno));
    int e = write_and_close(fd, body, ctx);
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return nn_fail(err, errlen, "%s: cannot write %s: %s", path, what, strerror(e));
    }
    sync_parent_dir(path);
    return 0;
}
