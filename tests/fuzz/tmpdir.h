/* tmpdir.h: the directory a fuzz harness writes its input files into,
 * removed with them at exit. tmpfs (/dev/shm) when there is one: on ext4,
 * rewriting a truncated file forces it to disk at close, which made the
 * harnesses 20 times slower in /tmp. */
#ifndef FUZZ_TMPDIR_H
#define FUZZ_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_dir_path[64];

static void fuzz_dir_remove(void) {
    char path[sizeof fuzz_dir_path + 256];
    DIR *d = opendir(fuzz_dir_path);
    for (struct dirent *e; d && (e = readdir(d));) {
        snprintf(path, sizeof path, "%s/%s", fuzz_dir_path, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(fuzz_dir_path);
}

static const char *fuzz_dir(const char *harness) {
    snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "/dev/shm/nnc-fuzz-%s-XXXXXX", harness);
    if (!mkdtemp(fuzz_dir_path)) {
        snprintf(fuzz_dir_path, sizeof fuzz_dir_path, "/tmp/nnc-fuzz-%s-XXXXXX", harness);
        if (!mkdtemp(fuzz_dir_path))
            abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir_path;
}

#endif
