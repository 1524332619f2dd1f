/* plot.c: --plot FILE.png. The run's curves go to gnuplot (gnuplot-nox in
 * Debian) as a script with the numbers inline, on the standard input of a
 * child process: no temporary file, and gnuplot's own errors reach stderr
 * as they are.
 */
#define _XOPEN_SOURCE 700 /* fdopen, with the rest of POSIX */
#include "plot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "fail.h"

#define GNUPLOT "gnuplot"

int nn_history_alloc(nn_history *h, size_t cap) {
    *h = (nn_history){.cap = cap};
    size_t n = cap ? cap : 1;
    h->epoch = calloc(n, sizeof *h->epoch);
    h->train = calloc(n, sizeof *h->train);
    h->val = calloc(n, sizeof *h->val);
    h->test = calloc(n, sizeof *h->test);
    return h->epoch && h->train && h->val && h->test ? 0 : -1;
}

void nn_history_free(nn_history *h) {
    free(h->epoch);
    free(h->train);
    free(h->val);
    free(h->test);
}

int nn_plot_check(const char *path, char *err, size_t errlen) {
    const char *dirs = getenv("PATH");
    char file[NN_PATH_LEN];
    for (const char *p = dirs ? dirs : ""; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(file, sizeof file, "%.*s/%s", (int)n, n ? p : ".", GNUPLOT);
        if (access(file, X_OK) == 0)
            return 0;
        p += n + (p[n] == ':');
    }
    return nn_fail(err, errlen,
                   "--plot %s: gnuplot is not installed (apt-get install gnuplot-nox), or not on "
                   "PATH",
                   path);
}

/* A gnuplot string: single-quoted, its quotes doubled */
static void put_quoted(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'')
            fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* One panel: column `col` of each set (2: loss, 3: accuracy or MAE) */
static void put_panel(FILE *f, const nn_history *h, const char *what, int col) {
    fprintf(f, "set title '%s'\nplot $run using 1:%d with linespoints title 'train'", what, col);
    if (h->has_val)
        fprintf(f, ", $run using 1:%d with linespoints title 'validation'", col + 2);
    fprintf(f, ", $run using 1:%d with linespoints title 'test'\n", col + 4);
}

static void put_script(FILE *f, const char *path, const char *title, const nn_history *h) {
    /* noenhanced: a model name's '_' is not a subscript */
    fprintf(f, "set terminal pngcairo noenhanced size 1100,420\nset output ");
    put_quoted(f, path);
    fprintf(f, "\nset multiplot layout 1,2 title ");
    put_quoted(f, title);
    fprintf(f, "\n$run << EOD\n");
    for (size_t i = 0; i < h->n; i++) {
        const nn_metrics *s[3] = {&h->train[i], &h->val[i], &h->test[i]};
        fprintf(f, "%llu", (unsigned long long)h->epoch[i]);
        for (int k = 0; k < 3; k++)
            fprintf(f, " %.9g %.9g", s[k]->loss, h->regression ? s[k]->mae : s[k]->accuracy);
        fputc('\n', f);
    }
    /* half an epoch of margin: one epoch is a range too */
    fprintf(f, "EOD\nset xlabel 'epoch'\nset grid\nset key top right\nset xrange [%g:%g]\n",
            (double)h->epoch[0] - 0.5, (double)h->epoch[h->n - 1] + 0.5);
    if (h->n <= 20) /* a tick per epoch while they fit; gnuplot's own beyond */
        fprintf(f, "set xtics 1\n");
    put_panel(f, h, "loss", 2);
    fprintf(f, "set key bottom right\n");
    put_panel(f, h, h->regression ? "mean absolute error" : "accuracy", 3);
    fprintf(f, "unset multiplot\n");
}

/* Runs gnuplot on the script for h, drawing into tmp; 0, or -1 with err */
static int run_gnuplot(const char *path, const char *tmp, const char *title, const nn_history *h,
                       char *err, size_t errlen) {
    int fd[2];
    if (pipe(fd) != 0)
        return nn_fail(err, errlen, "--plot %s: %s", path, strerror(errno));
    fflush(stdout); /* the child must not write out what this process buffered */
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return nn_fail(err, errlen, "--plot %s: cannot start gnuplot: %s", path, strerror(errno));
    }
    if (pid == 0) {
        /* stdout to /dev/null: where gnuplot would send the PNG if it could
         * not open the file, which must not reach the caller's stdout */
        int null = open("/dev/null", O_WRONLY);
        dup2(fd[0], STDIN_FILENO);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        close(fd[0]);
        close(fd[1]);
        execlp(GNUPLOT, GNUPLOT, (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    /* gnuplot exiting early must be an error here, not a SIGPIPE */
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    FILE *f = fdopen(fd[1], "w");
    int bad = !f;
    if (f) {
        put_script(f, tmp, title, h);
        bad = fclose(f) != 0;
    } else {
        close(fd[1]);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        continue;
    signal(SIGPIPE, old);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return nn_fail(err, errlen, "--plot %s: cannot run gnuplot", path);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || bad)
        return nn_fail(err, errlen, "--plot %s: gnuplot failed (exit status %d)", path,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}

int nn_plot(const char *path, const char *title, const nn_history *h, char *err,
            size_t errlen) {
    /* gnuplot draws into a temporary that is renamed over path once it
     * succeeded, so a failed plot leaves path as it was */
    char tmp[NN_PATH_LEN];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nn_fail(err, errlen, "--plot %s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return nn_fail(err, errlen, "--plot %s: cannot create a temporary file next to it: %s",
                       path, strerror(errno));
    int e = fchmod(fd, nn_default_file_mode()) != 0 ? errno : 0;
    close(fd);
    if (e) {
        unlink(tmp);
        return nn_fail(err, errlen, "--plot %s: %s", path, strerror(e));
    }
    int rc = run_gnuplot(path, tmp, title, h, err, errlen);
    if (!rc && rename(tmp, path) != 0)
        rc = nn_fail(err, errlen, "--plot %s: %s", path, strerror(errno));
    if (rc)
        unlink(tmp);
    return rc;
}
