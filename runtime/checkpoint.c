/* checkpoint.c: the versioned, checksummed checkpoint file (layout in
 * docs/trainer.md). Every number is written byte by byte in little-endian
 * order, floats as their IEEE-754 binary32 bit patterns, so a checkpoint
 * reads back bit-exact on any host, whatever its byte order.
 */
#include "checkpoint.h"
#include "atomic.h"
#include "fail.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_NAME 1024           /* model names are C identifiers: anything longer is damage */
#define MAX_FLOATS (1ull << 60) /* keeps 4 * count from overflowing */
#define CHUNK_FLOATS 4096       /* floats converted per fwrite/fread */


static void put_le(uint8_t *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

/* ---------------------------------------------------------------- save */

/* Writes and checksums; remembers the first error so callers check once */
typedef struct {
    FILE *f;
    uLong crc; /* CRC32 of every byte written so far */
    int error; /* errno of the first failed write, 0 if none */
} Writer;

static void put(Writer *w, const void *p, size_t n) {
    if (!w->error && fwrite(p, 1, n, w->f) != n)
        w->error = errno ? errno : EIO;
    w->crc = crc32(w->crc, p, (uInt)n);
}

static void put_uint(Writer *w, uint64_t v, int n) {
    uint8_t b[8];
    put_le(b, v, n);
    put(w, b, (size_t)n);
}

static void put_floats(Writer *w, const float *x, size_t n) {
    uint8_t b[4 * CHUNK_FLOATS];
    for (size_t i = 0; i < n; i += CHUNK_FLOATS) {
        size_t k = n - i < CHUNK_FLOATS ? n - i : CHUNK_FLOATS;
        for (size_t j = 0; j < k; j++) {
            uint32_t bits;
            memcpy(&bits, &x[i + j], 4);
            put_le(b + 4 * j, bits, 4);
        }
        put(w, b, 4 * k);
    }
}

static void put_float(Writer *w, float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    put_uint(w, bits, 4);
}

/* The recipe after the sizes, in the order of docs/trainer.md */
static void write_run(Writer *w, const nn_run *run, size_t n_opt) {
    const nn_hparams *h = &run->h;
    size_t data_len = strlen(run->data);
    put_uint(w, n_opt, 8);
    put_uint(w, run->epoch, 8);
    put_uint(w, run->step, 8);
    put_uint(w, (uint64_t)h->optimizer, 4);
    put_float(w, h->lr);
    put_float(w, h->momentum);
    put_uint(w, (uint64_t)h->nesterov, 4);
    put_float(w, h->beta1);
    put_float(w, h->beta2);
    put_float(w, h->eps);
    put_float(w, h->weight_decay);
    put_uint(w, (uint64_t)h->batch, 4);
    put_uint(w, (uint64_t)h->epochs, 4);
    put_uint(w, h->seed, 8);
    put_uint(w, run->limit, 8);
    put_uint(w, data_len, 4);
    put(w, run->data, data_len);
}

/* The version a run needs: 3 only for what version 2 cannot hold, so a
 * run without it writes the same bytes as before version 3 existed */
static unsigned run_version(const nn_run *run) {
    const nn_hparams *h = &run->h;
    return h->schedule.kind != NN_SCHED_NONE || h->clip_norm != 0 || run->meta_len ||
                   run->sources_len || run->monitored
               ? 3
               : 2;
}

/* Version 3's fields after the data path, in the order of docs/trainer.md */
static void write_run_v3(Writer *w, const nn_run *run) {
    const nn_schedule *s = &run->h.schedule;
    uint64_t best, monitor_best;
    memcpy(&best, &run->plateau.tracker.best, 8);
    const double unused = HUGE_VAL; /* the reader's "not monitored" */
    memcpy(&monitor_best, run->monitored ? &run->monitor.best : &unused, 8);
    put_uint(w, (uint64_t)s->kind, 4);
    put_uint(w, (uint64_t)s->every, 4);
    put_uint(w, (uint64_t)s->warmup, 4);
    put_uint(w, (uint64_t)s->patience, 4);
    put_float(w, s->factor);
    put_float(w, s->min_lr);
    put_float(w, run->h.clip_norm);
    put_float(w, run->plateau.lr);
    put_uint(w, best, 8);
    put_uint(w, run->plateau.tracker.wait, 4);
    put_uint(w, monitor_best, 8);
    put_uint(w, run->monitor.wait, 4);
    put_uint(w, run->meta_len, 8);
    put_uint(w, run->sources_len, 4);
    put(w, run->sources, run->sources_len);
}

/* What nn_checkpoint_save writes, gathered for write_and_close */
typedef struct {
    const nn_model_desc *m;
    const nn_run *run;
    const float *param, *state, *opt;
} Contents;

static void write_checkpoint(Writer *w, const Contents *c) {
    const nn_model_desc *m = c->m;
    size_t name_len = strlen(m->name);
    size_t n_opt = nn_optimizer_state_size(&c->run->h, m->n_param);
    unsigned version = run_version(c->run);
    put(w, NN_CKPT_MAGIC, 8);
    put_uint(w, version, 4);
    put_uint(w, name_len, 4);
    put(w, m->name, name_len);
    put_uint(w, m->fingerprint, 8);
    put_uint(w, m->n_param, 8);
    put_uint(w, m->n_state, 8);
    write_run(w, c->run, n_opt);
    if (version == 3)
        write_run_v3(w, c->run);
    put_floats(w, c->param, m->n_param);
    put_floats(w, c->state, m->n_state);
    put_floats(w, c->opt, n_opt);
    if (c->run->meta_len) /* crc32(crc, NULL, 0) is not crc but zlib's initial value */
        put(w, c->run->meta, c->run->meta_len);
    put_uint(w, w->crc, 4);
}

/* Writes the checkpoint into the temporary file; 0 or an errno */
static int write_body(FILE *f, void *ctx) {
    Writer w = {f, crc32(0, NULL, 0), 0};
    errno = 0;
    write_checkpoint(&w, ctx);
    return w.error;
}

int nn_checkpoint_save(const char *path, const nn_model_desc *m, const nn_run *run,
                       const float *param, const float *state, const float *opt, char *err,
                       size_t errlen) {
    Contents c = {m, run, param, state, opt};
    return nn_write_atomic(path, write_body, &c, "the checkpoint", err, errlen);
}

/* ---------------------------------------------------------------- load */

#define V2_HEADER 124 /* bytes of a version 2 header besides the name and the data path */
#define V3_FIELDS 68  /* what version 3 adds after the data path, besides the sources */
#define MAX_HEADER (V2_HEADER + V3_FIELDS + MAX_NAME + NN_PATH_LEN + NN_SOURCES_LEN) /* the longest */

/* What the header says, before anything in it is trusted */
typedef struct {
    unsigned version;
    const uint8_t *name; /* name_len bytes, inside the header's buffer; not NUL-terminated */
    size_t name_len;
    uint64_t fingerprint, n_param, n_state, n_opt;
    uint64_t optimizer, nesterov, batch, target; /* range-checked into run */
    uint64_t sched, every, warmup, patience, wait, monitor_wait; /* version 3, likewise */
    uint64_t meta_len;
    nn_run run;
    size_t data_len; /* of run.data, which may hold a NUL */
    size_t len;      /* bytes before the first float */
} Header;

/* Reads fields off the header's bytes; short is set once they run out */
typedef struct {
    const uint8_t *p;
    size_t left;
    int short_read;
} Cursor;

static const uint8_t *take(Cursor *c, size_t n) {
    if (c->short_read || c->left < n) {
        c->short_read = 1;
        return NULL;
    }
    const uint8_t *p = c->p;
    c->p += n;
    c->left -= n;
    return p;
}

static uint64_t take_uint(Cursor *c, int n) {
    const uint8_t *p = take(c, (size_t)n);
    return p ? get_le(p, n) : 0;
}

static float take_float(Cursor *c) {
    uint32_t bits = (uint32_t)take_uint(c, 4);
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

/* The fields of version 2 after n_state */
static void take_run(Cursor *c, Header *h) {
    nn_hparams *hp = &h->run.h;
    h->n_opt = take_uint(c, 8);
    h->run.epoch = take_uint(c, 8);
    h->run.step = take_uint(c, 8);
    h->optimizer = take_uint(c, 4);
    hp->lr = take_float(c);
    hp->momentum = take_float(c);
    h->nesterov = take_uint(c, 4);
    hp->beta1 = take_float(c);
    hp->beta2 = take_float(c);
    hp->eps = take_float(c);
    hp->weight_decay = take_float(c);
    h->batch = take_uint(c, 4);
    h->target = take_uint(c, 4);
    hp->seed = take_uint(c, 8);
    h->run.limit = take_uint(c, 8);
    h->data_len = (size_t)take_uint(c, 4);
}

/* The fields of version 3 after the data path */
static void take_run_v3(Cursor *c, Header *h) {
    nn_schedule *s = &h->run.h.schedule;
    h->sched = take_uint(c, 4);
    h->every = take_uint(c, 4);
    h->warmup = take_uint(c, 4);
    h->patience = take_uint(c, 4);
    s->factor = take_float(c);
    s->min_lr = take_float(c);
    h->run.h.clip_norm = take_float(c);
    h->run.plateau.lr = take_float(c);
    uint64_t best = take_uint(c, 8);
    memcpy(&h->run.plateau.tracker.best, &best, 8);
    h->wait = take_uint(c, 4);
    uint64_t monitor_best = take_uint(c, 8);
    memcpy(&h->run.monitor.best, &monitor_best, 8);
    h->monitor_wait = take_uint(c, 4);
    h->meta_len = take_uint(c, 8);
    h->run.sources_len = (size_t)take_uint(c, 4);
}

/* The header, from the file's first got bytes (all of it when shorter
 * than MAX_HEADER); only what must hold to find the floats is checked */
static int parse_header(const uint8_t *b, size_t got, const char *path, Header *h, char *err,
                        size_t errlen) {
    Cursor c = {b, got, 0};
    const uint8_t *magic = take(&c, 8);
    if (!magic || memcmp(magic, NN_CKPT_MAGIC, 8) != 0)
        return nn_fail(err, errlen, "%s: not an nnc checkpoint (bad magic)", path);
    uint64_t version = take_uint(&c, 4);
    if (!c.short_read && (version < 1 || version > NN_CKPT_VERSION))
        return nn_fail(err, errlen,
                       "%s: unsupported checkpoint version %llu (this trainer reads versions 1 "
                       "to 3)",
                       path, (unsigned long long)version);
    h->version = (unsigned)version;
    h->name_len = (size_t)take_uint(&c, 4);
    if (!c.short_read && h->name_len > MAX_NAME)
        return nn_fail(err, errlen, "%s: corrupt: a model name of %zu bytes (at most %d)", path,
                       h->name_len, MAX_NAME);
    h->name = take(&c, h->name_len);
    h->fingerprint = take_uint(&c, 8);
    h->n_param = take_uint(&c, 8);
    h->n_state = take_uint(&c, 8);
    if (version == 1) {
        h->run.epoch = take_uint(&c, 8);
    } else {
        take_run(&c, h);
        if (!c.short_read && h->data_len >= NN_PATH_LEN)
            return nn_fail(err, errlen, "%s: corrupt: a data path of %zu bytes (at most %d)", path,
                           h->data_len, NN_PATH_LEN - 1);
        const uint8_t *data = take(&c, h->data_len);
        if (data)
            memcpy(h->run.data, data, h->data_len);
        if (version == 3)
            take_run_v3(&c, h);
        if (!c.short_read && h->run.sources_len >= NN_SOURCES_LEN)
            return nn_fail(err, errlen, "%s: corrupt: data options of %zu bytes (at most %d)", path,
                           h->run.sources_len, NN_SOURCES_LEN - 1);
        const uint8_t *sources = take(&c, h->run.sources_len);
        if (sources)
            memcpy(h->run.sources, sources, h->run.sources_len);
    }
    if (c.short_read)
        return nn_fail(err, errlen, "%s: truncated: the file ends inside the header", path);
    if (h->n_param > MAX_FLOATS || h->n_state > MAX_FLOATS || h->n_opt > MAX_FLOATS ||
        h->meta_len > MAX_FLOATS)
        return nn_fail(err, errlen, "%s: corrupt: implausible sizes in the header", path);
    h->len = got - c.left;
    return 0;
}

/* The file must be exactly as long as its header says */
static int check_size(uint64_t have, const char *path, const Header *h, char *err, size_t errlen) {
    uint64_t want = h->len + 4 * (h->n_param + h->n_state + h->n_opt) + h->meta_len + 4;
    if (have < want)
        return nn_fail(err, errlen, "%s: truncated: %llu bytes, expected %llu", path,
                       (unsigned long long)have, (unsigned long long)want);
    if (have > want)
        return nn_fail(err, errlen, "%s: corrupt: unexpected data after the checksum (%llu bytes)",
                       path, (unsigned long long)(have - want));
    return 0;
}

/* n bytes at offset at, fewer only at the end of the file; -1 on an error */
static long read_at(int fd, uint8_t *p, size_t n, off_t at) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, p + got, n - got, at + (off_t)got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (long)got;
}

static int read_error(const char *path, char *err, size_t errlen) {
    return nn_fail(err, errlen, "%s: read error: %s", path,
                   errno ? strerror(errno) : "the file changed while it was read");
}

/* The CRC32 of the file's first size - 4 bytes against its last 4,
 * streamed: nothing is allocated before the model's checks pass */
static int check_crc(int fd, uint64_t size, const char *path, char *err, size_t errlen) {
    uint8_t buf[1 << 14];
    uLong crc = crc32(0, NULL, 0);
    errno = 0;
    for (uint64_t at = 0; at < size - 4;) {
        size_t k = size - 4 - at < sizeof buf ? (size_t)(size - 4 - at) : sizeof buf;
        if (read_at(fd, buf, k, (off_t)at) != (long)k)
            return read_error(path, err, errlen);
        crc = crc32(crc, buf, (uInt)k);
        at += k;
    }
    if (read_at(fd, buf, 4, (off_t)(size - 4)) != 4)
        return read_error(path, err, errlen);
    if (get_le(buf, 4) != crc)
        return nn_fail(err, errlen, "%s: checksum mismatch: the file is corrupt", path);
    return 0;
}

/* "; " between the parts of a message that are there */
static void append(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...) {
    size_t used = strlen(buf);
    if (used > 0)
        used += (size_t)snprintf(buf + used, len - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}

/* Is this checkpoint m's, with m's current architecture? The name is
 * counted bytes, compared as such and printed escaped. */
static int check_model(const char *path, const Header *h, const nn_model_desc *m, char *err,
                       size_t errlen) {
    if (h->name_len != strlen(m->name) || memcmp(h->name, m->name, h->name_len) != 0) {
        char name[4 * MAX_NAME + 1];
        nn_escape(name, (const char *)h->name, h->name_len);
        return nn_fail(err, errlen, "%s: belongs to another model: '%s', not '%s'", path, name,
                       m->name);
    }
    char what[256] = "";
    if (h->fingerprint != m->fingerprint)
        append(what, sizeof what, "fingerprint %016llx, now %016llx",
               (unsigned long long)h->fingerprint, (unsigned long long)m->fingerprint);
    if (h->n_param != m->n_param)
        append(what, sizeof what, "%llu parameters, now %zu", (unsigned long long)h->n_param,
               m->n_param);
    if (h->n_state != m->n_state)
        append(what, sizeof what, "%llu state values, now %zu", (unsigned long long)h->n_state,
               m->n_state);
    if (*what)
        return nn_fail(err, errlen,
                       "%s: the architecture of '%s' changed since this checkpoint was saved (%s)",
                       path, m->name, what);
    return 0;
}

static int out_of_range(const char *path, const char *what, uint64_t v, uint64_t lo, uint64_t hi,
                        char *err, size_t errlen) {
    return nn_fail(err, errlen, "%s: corrupt: %s %llu is out of range (%llu..%llu)", path, what,
                   (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
}

/* The recorded run is one the trainer could have made; fills h->run */
static int check_run(const char *path, Header *h, char *err, size_t errlen) {
    nn_run *r = &h->run;
    const struct {
        const char *what;
        uint64_t v, lo, hi;
    } ranges[] = {
        {"epoch", r->epoch, 0, NN_MAX_EPOCHS},
        {"step", r->step, 0, INT64_MAX},
        {"optimizer", h->optimizer, NN_SGD, NN_ADAM},
        {"nesterov", h->nesterov, 0, 1},
        {"batch", h->batch, 1, NN_MAX_BATCH},
        {"target epochs", h->target, 0, NN_MAX_EPOCHS},
        {"schedule", h->sched, NN_SCHED_NONE, NN_SCHED_PLATEAU}, /* version 3 from here */
        {"every", h->every, 0, NN_MAX_EPOCHS},
        {"warmup", h->warmup, 0, NN_MAX_EPOCHS},
        {"patience", h->patience, 0, NN_MAX_EPOCHS},
        {"plateau wait", h->wait, 0, NN_MAX_EPOCHS},
        {"monitor wait", h->monitor_wait, 0, NN_MAX_EPOCHS},
    };
    const size_t n_ranges[] = {0, 1, 6, sizeof ranges / sizeof *ranges}; /* by version */
    for (size_t i = 0; i < n_ranges[h->version]; i++)
        if (ranges[i].v < ranges[i].lo || ranges[i].v > ranges[i].hi)
            return out_of_range(path, ranges[i].what, ranges[i].v, ranges[i].lo, ranges[i].hi, err,
                                errlen);
    if (h->version == 1)
        return 0;
    const struct {
        const char *what;
        float v;
    } floats[] = {{"lr", r->h.lr},       {"momentum", r->h.momentum}, {"beta1", r->h.beta1},
                  {"beta2", r->h.beta2}, {"eps", r->h.eps},           {"weight_decay", r->h.weight_decay},
                  {"factor", r->h.schedule.factor}, {"min_lr", r->h.schedule.min_lr},
                  {"clip_norm", r->h.clip_norm},    {"plateau lr", r->plateau.lr}};
    for (size_t i = 0; i < (h->version == 3 ? 10 : 6); i++)
        if (!isfinite(floats[i].v))
            return nn_fail(err, errlen, "%s: corrupt: %s %g is not a finite number", path,
                           floats[i].what, (double)floats[i].v);
    if (memchr(r->data, '\0', h->data_len))
        return nn_fail(err, errlen, "%s: corrupt: the data path holds a NUL byte", path);
    if (r->sources_len && r->sources[r->sources_len - 1] != '\0')
        return nn_fail(err, errlen, "%s: corrupt: the data options do not end with a NUL", path);
    r->h.optimizer = (nn_optimizer)h->optimizer;
    r->h.nesterov = (int)h->nesterov;
    r->h.batch = (int)h->batch;
    r->h.epochs = (int)h->target;
    r->h.schedule.kind = (nn_schedule_kind)h->sched;
    r->h.schedule.every = (int)h->every;
    r->h.schedule.warmup = (int)h->warmup;
    r->h.schedule.patience = (int)h->patience;
    r->plateau.tracker.wait = (uint32_t)h->wait;
    r->monitor.wait = (uint32_t)h->monitor_wait;
    r->monitored = h->version == 3 && isfinite(r->monitor.best);
    uint64_t n_opt = nn_optimizer_state_size(&r->h, (size_t)h->n_param);
    if (h->n_opt != n_opt)
        return nn_fail(err, errlen,
                       "%s: corrupt: %llu floats of optimizer state, but %s over %llu parameters "
                       "keeps %llu",
                       path, (unsigned long long)h->n_opt, r->h.optimizer == NN_ADAM ? "adam" : "sgd",
                       (unsigned long long)h->n_param, (unsigned long long)n_opt);
    return 0;
}

/* Refuses a NaN or an infinity anywhere: loaded, it would poison every
 * result without a word */
static int check_finite(const char *path, const uint8_t *b, const Header *h, char *err,
                        size_t errlen) {
    const struct {
        const char *what;
        uint64_t n;
    } parts[] = {{"parameter", h->n_param}, {"state value", h->n_state},
                 {"optimizer state value", h->n_opt}};
    for (size_t k = 0; k < 3; k++) {
        for (uint64_t i = 0; i < parts[k].n; i++, b += 4) {
            uint32_t bits = (uint32_t)get_le(b, 4);
            if ((bits & 0x7f800000u) == 0x7f800000u)
                return nn_fail(err, errlen, "%s: %s %llu is %s", path, parts[k].what,
                               (unsigned long long)i,
                               bits & 0x007fffffu ? "nan" : bits >> 31 ? "-inf" : "inf");
        }
    }
    return 0;
}

/* The whole file, now that its size is the model's: read again (the
 * bytes the caller gets must be the bytes whose CRC matched) */
static int read_verified(int fd, uint64_t size, const char *path, const Header *h, uint8_t **out,
                         char *err, size_t errlen) {
    uint8_t *b = malloc((size_t)size);
    if (!b)
        return nn_fail(err, errlen, "%s: out of memory for %llu bytes", path,
                       (unsigned long long)size);
    errno = 0;
    int rc = 0;
    if (read_at(fd, b, (size_t)size, 0) != (long)size)
        rc = read_error(path, err, errlen);
    else if (get_le(b + size - 4, 4) != crc32_z(crc32(0, NULL, 0), b, (z_size_t)(size - 4)))
        rc = nn_fail(err, errlen, "%s: checksum mismatch: the file is corrupt", path);
    else
        rc = check_finite(path, b + h->len, h, err, errlen);
    if (rc)
        free(b);
    else
        *out = b;
    return rc;
}

static int read_open(nn_checkpoint *c, int fd, const char *path, const nn_model_desc *m, char *err,
                     size_t errlen) {
    uint8_t head[MAX_HEADER];
    Header h = {0};
    struct stat st;
    if (fstat(fd, &st) != 0)
        return nn_fail(err, errlen, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return nn_fail(err, errlen, "%s: is a directory, not a checkpoint", path);
    if (!S_ISREG(st.st_mode))
        return nn_fail(err, errlen, "%s: not a regular file", path);
    errno = 0;
    long got = read_at(fd, head, sizeof head, 0);
    if (got < 0)
        return read_error(path, err, errlen);
    uint64_t size = (uint64_t)st.st_size;
    /* The checksum is checked before the name and fingerprint, so damage
     * is reported as damage rather than as a foreign model. */
    if (parse_header(head, (size_t)got, path, &h, err, errlen) ||
        check_size(size, path, &h, err, errlen) || check_crc(fd, size, path, err, errlen) ||
        check_model(path, &h, m, err, errlen) || check_run(path, &h, err, errlen) ||
        read_verified(fd, size, path, &h, &c->bytes, err, errlen))
        return -1;
    c->version = h.version;
    c->run = h.run;
    c->n_opt = (size_t)h.n_opt;
    c->floats_at = h.len;
    c->run.meta_len = (size_t)h.meta_len;
    c->run.meta = c->bytes + size - 4 - h.meta_len;
    return 0;
}

int nn_checkpoint_read(nn_checkpoint *c, const char *path, const nn_model_desc *m, char *err,
                       size_t errlen) {
    memset(c, 0, sizeof *c);
    /* O_NONBLOCK: a FIFO must not hang the open; it is then refused */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    int rc = read_open(c, fd, path, m, err, errlen);
    close(fd);
    return rc;
}

static void decode_floats(float *x, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = (uint32_t)get_le(b + 4 * i, 4);
        memcpy(&x[i], &bits, 4);
    }
}

void nn_checkpoint_copy(const nn_checkpoint *c, const nn_model_desc *m, float *param, float *state,
                        float *opt) {
    const uint8_t *b = c->bytes + c->floats_at;
    decode_floats(param, b, m->n_param);
    decode_floats(state, b + 4 * m->n_param, m->n_state);
    if (opt)
        decode_floats(opt, b + 4 * (m->n_param + m->n_state), c->n_opt);
}

void nn_checkpoint_free(nn_checkpoint *c) {
    free(c->bytes);
    c->bytes = NULL;
}

void nn_escape(char *out, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            *out++ = (char)ch;
        } else {
            *out++ = '\\';
            *out++ = 'x';
            *out++ = hex[ch >> 4];
            *out++ = hex[ch & 15];
        }
    }
    *out = '\0';
}
