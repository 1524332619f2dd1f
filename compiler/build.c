/* build.c: nnc --build FILE.model -o PROG, a trainer in one command.
 *
 * Runs the pipeline as main.c does, writes NAME.c and NAME.h into a private
 * temporary directory (under TMPDIR, else /tmp), then runs
 *     $CC $CFLAGS NAME.c $(pkg-config --cflags --libs nnrt) -o PROG.nnc-XXXXXX
 * (CC defaults to cc, CFLAGS to -O2; both go through sh, as in make) and
 * renames the result over PROG. So PROG is either the complete new trainer
 * or what it was before, and the temporary files are removed whatever
 * happens, an interrupt included. Exit status as main.c's: 1 for an error
 * in the model or a failed step (each named in one line), 2 a usage error.
 *
 * The runtime comes from pkg-config, with the pkg-config directory of this
 * nnc's own installation first on PKG_CONFIG_PATH (found from
 * /proc/self/exe and NNC_PC_FROM_BIN, the path from BINDIR to PKGCONFIGDIR
 * that the Makefile bakes in): generated C must meet the runtime it was
 * written for, and a staged or moved installation needs no setup.
 */
#include "nnc.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static _Noreturn void build_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "nnc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(nnc --help for usage)\n");
    exit(2);
}

/* What to remove on failure or on a signal: set once each exists. */
static char *tmp_dir, *tmp_c, *tmp_h, *tmp_prog;

static void remove_temporaries(void) {
    char *const files[] = {tmp_c, tmp_h, tmp_prog};
    for (int i = 0; i < 3; i++)
        if (files[i])
            unlink(files[i]);
    if (tmp_dir)
        rmdir(tmp_dir);
}

static void on_signal(int sig) {
    remove_temporaries(); /* unlink and rmdir are async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Prepends this installation's pkg-config directory to PKG_CONFIG_PATH
 * when it holds nnrt.pc (an nnc run from the build tree has none). */
static void prefer_own_runtime(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    *strrchr(exe, '/') = '\0'; /* readlink gives an absolute path */
    const char *dir = arena_printf("%s/%s", exe, NNC_PC_FROM_BIN);
    if (access(arena_printf("%s/nnrt.pc", dir), R_OK) != 0)
        return;
    const char *old = getenv("PKG_CONFIG_PATH");
    setenv("PKG_CONFIG_PATH", old && *old ? arena_printf("%s:%s", dir, old) : dir, 1);
}

/* Runs sh -c script with $1.. = args; returns the exit status, or -1 when
 * it did not exit (a signal) or could not start. out, when not NULL, gets
 * standard output (up to cap - 1 bytes, NUL-terminated). */
static int run_sh(const char *script, const char *const *args, int n_args, char *out, size_t cap) {
    int fd[2];
    if (out && pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        if (out) {
            dup2(fd[1], STDOUT_FILENO);
            close(fd[0]);
            close(fd[1]);
        }
        const char *argv[8] = {"sh", "-c", script, "nnc"};
        for (int i = 0; i < n_args; i++)
            argv[4 + i] = args[i];
        execv("/bin/sh", (char *const *)argv);
        _exit(127);
    }
    size_t len = 0;
    if (out) {
        close(fd[1]);
        ssize_t r;
        while (pid > 0 && (r = read(fd[0], out + len, cap - 1 - len)) > 0)
            len += (size_t)r;
        close(fd[0]);
        out[len] = '\0';
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One line naming the step that failed; returns main's exit status. */
static int failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failed(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "nnc: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    remove_temporaries();
    return 1;
}

int build_main(int argc, char **argv) {
    const char *in = NULL, *prog = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--build") == 0)
            continue;
        if (strcmp(a, "-o") == 0) {
            if (i + 1 == argc)
                build_usage("%s needs a program name", a);
            if (prog)
                build_usage("%s given twice", a);
            prog = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            build_usage("'%s' does not go with --build", a);
        } else if (in) {
            build_usage("one model at a time; '%s' is one too many", a);
        } else {
            in = a;
        }
    }
    if (!in)
        build_usage("no model file given%s", "");
    if (!prog)
        build_usage("--build needs -o PROGRAM, the trainer to write%s", "");
    size_t len = strlen(prog);
    if (len == 0 || prog[len - 1] == '/' || (len > 2 && strcmp(prog + len - 2, ".c") == 0))
        build_usage("-o names the trainer program with --build, got '%s'", prog);

    Source *src = source_load(in);
    if (!src)
        return 1;
    Model *m = lower_program(src, parse_source(src));
    if (!m)
        return 1;

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    const char *tmp = getenv("TMPDIR");
    char *dir = arena_printf("%s/nnc-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return failed("cannot make a temporary directory '%s': %s", dir, strerror(errno));
    tmp_dir = dir;
    tmp_c = arena_printf("%s/%s.c", dir, m->name);
    tmp_h = arena_printf("%s/%s.h", dir, m->name);
    if (emit_model(m, tmp_c, tmp_h) != 0) { /* it said why */
        remove_temporaries();
        return 1;
    }

    prefer_own_runtime();
    static char flags[16384];
    const char *const no_args[1] = {NULL};
    int st = run_sh("exec ${PKG_CONFIG:-pkg-config} --cflags --libs nnrt", no_args, 0, flags,
                    sizeof flags);
    if (st != 0)
        return failed("'pkg-config --cflags --libs nnrt' failed: is the runtime installed "
                      "(libnnrt-dev), or PKG_CONFIG_PATH set to its lib/pkgconfig?");
    flags[strcspn(flags, "\n")] = '\0';

    char *out_tmp = arena_printf("%s.nnc-XXXXXX", prog);
    int fd = mkstemp(out_tmp);
    if (fd < 0)
        return failed("cannot write next to '%s': %s", prog, strerror(errno));
    close(fd);
    tmp_prog = out_tmp;
    const char *const cc_args[3] = {tmp_c, flags, out_tmp};
    st = run_sh("exec ${CC:-cc} ${CFLAGS--O2} \"$1\" $2 -o \"$3\"", cc_args, 3, NULL, 0);
    const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
    if (st == 126 || st == 127)
        return failed("cannot run the C compiler '%s' (CC)", cc);
    if (st != 0)
        return failed("the C compiler '%s' failed building '%s' from %s; to read that C, "
                      "write it with: nnc %s -o %s.c",
                      cc, prog, in, in, m->name);
    mode_t mask = umask(0);
    umask(mask);
    if (chmod(out_tmp, 0777 & ~mask) != 0 || rename(out_tmp, prog) != 0)
        return failed("cannot write '%s': %s", prog, strerror(errno));
    tmp_prog = NULL;
    remove_temporaries();
    return 0;
}
