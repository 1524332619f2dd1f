/* output.c: writes the generated files, all of them or none.
 *
 * Consumes the paths and contents of a set of files (NAME.c and NAME.h);
 * produces them with the mode any new file gets under the umask, or leaves
 * every target as it was and prints one message naming the file that could
 * not be written. Each file is first written to a temporary file beside its
 * target, so no reader ever sees half a file. Only when all are written are
 * they renamed into place, after a check that no target is a directory; if
 * a rename still fails (a race), the targets already replaced are put back:
 * an old file from a hard link taken before the rename, a new one removed.
 * POSIX has no rename of several files at once: a crash between two
 * renames can still leave one new file beside an old one.
 */
#include "nnc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* What open(path, O_CREAT, 0666) would give: mkstemp's files are 0600. */
static mode_t new_file_mode(void) {
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

static int fail(const char *path, int err) {
    fprintf(stderr, "nnc: error: cannot write '%s': %s\n", path, strerror(err));
    return -1;
}

/* Writes f's data to a new temporary file beside it; its name, or NULL with
 * errno set. */
static char *write_temp(const OutFile *f, mode_t mode) {
    char *tmp = arena_printf("%s.XXXXXX", f->path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return NULL;
    errno = 0;
    FILE *out = fchmod(fd, mode) == 0 ? fdopen(fd, "w") : NULL;
    bool ok = out && fwrite(f->data, 1, f->len, out) == f->len;
    int err = errno;
    if ((out ? fclose(out) : close(fd)) != 0 && ok)
        ok = false, err = errno;
    if (ok)
        return tmp;
    unlink(tmp);
    errno = err ? err : EIO;
    return NULL;
}

/* A second name for the file at path, to restore it from; NULL if the
 * file system has no hard links. */
static char *keep_old(const char *path) {
    for (int attempt = 0; attempt < 100; attempt++) {
        char *name = arena_printf("%s.%ld.%d.old", path, (long)getpid(), attempt);
        if (link(path, name) == 0)
            return name;
        if (errno != EEXIST)
            return NULL;
    }
    return NULL;
}

int write_files(const OutFile *files, int n) {
    bool *existed = arena_alloc(sizeof *existed * (size_t)n);
    for (int i = 0; i < n; i++) {
        struct stat st;
        existed[i] = lstat(files[i].path, &st) == 0;
        if (existed[i] && S_ISDIR(st.st_mode))
            return fail(files[i].path, EISDIR);
    }
    mode_t mode = new_file_mode();
    char **tmp = arena_alloc(sizeof *tmp * (size_t)n);
    char **old = arena_alloc(sizeof *old * (size_t)n);
    int failed = -1, err = 0;
    for (int i = 0; i < n && failed < 0; i++)
        if (!(tmp[i] = write_temp(&files[i], mode)))
            failed = i, err = errno;
    int renamed = 0; /* targets replaced so far */
    while (failed < 0 && renamed < n) {
        old[renamed] = existed[renamed] ? keep_old(files[renamed].path) : NULL;
        if (rename(tmp[renamed], files[renamed].path) != 0) {
            failed = renamed, err = errno;
            break;
        }
        tmp[renamed++] = NULL;
    }
    for (int i = 0; i < n; i++) {
        if (tmp[i])
            unlink(tmp[i]);
        if (failed >= 0 && i < renamed) { /* put the target back */
            if (old[i])
                rename(old[i], files[i].path);
            else if (!existed[i])
                unlink(files[i].path);
            /* else an old file without a second name: the new one stays */
        } else if (old[i]) {
            unlink(old[i]);
        }
    }
    return failed < 0 ? 0 : fail(files[failed].path, err);
}

int write_rendered(OutFile *files, int n) {
    int status = 0;
    for (int i = 0; i < n && status == 0; i++)
        if (!files[i].data) {
            fprintf(stderr, "nnc: error: cannot write '%s': out of memory\n", files[i].path);
            status = -1;
        }
    if (status == 0)
        status = write_files(files, n);
    for (int i = 0; i < n; i++)
        free((char *)files[i].data);
    return status;
}
