/* checkpoint.c: the versioned, checksummed checkpoint file (layout in
 * docs/trainer.md). Every number is written byte by byte in little-endian
 * order, floats as their IEEE-754 binary32 bit patterns, so a checkpoint
 * reads back bit-exact on any host, whatever its byte order.
 */
#include "checkpoint.h"
#include "fail.h"

#include <errno.h>
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

static void write_checkpoint(Writer *w, const nn_model_desc *m, const float *param,
                             const float *state, long epochs) {
    size_t name_len = strlen(m->name);
    put(w, NN_CKPT_MAGIC, 8);
    put_uint(w, NN_CKPT_VERSION, 4);
    put_uint(w, name_len, 4);
    put(w, m->name, name_len);
    put_uint(w, m->fingerprint, 8);
    put_uint(w, m->n_param, 8);
    put_uint(w, m->n_state, 8);
    put_uint(w, (uint64_t)epochs, 8);
    put_floats(w, param, m->n_param);
    put_floats(w, state, m->n_state);
    put_uint(w, w->crc, 4);
}

/* mkstemp creates files 0600; a checkpoint gets what fopen would give it.
 * umask can only be read by setting it, hence the round trip. */
static mode_t default_file_mode(void) {
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
static int write_and_close(int fd, const nn_model_desc *m, const float *param, const float *state,
                           long epochs) {
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        return e;
    }
    Writer w = {f, crc32(0, NULL, 0), 0};
    errno = 0;
    if (fchmod(fd, default_file_mode()) != 0)
        w.error = errno;
    write_checkpoint(&w, m, param, state, epochs);
    if (!w.error && fflush(f) != 0)
        w.error = errno;
    if (!w.error && fsync(fd) != 0)
        w.error = errno;
    if (fclose(f) != 0 && !w.error)
        w.error = errno;
    return w.error;
}

int nn_checkpoint_save(const char *path, const nn_model_desc *m, const float *param,
                       const float *state, long epochs, char *err, size_t errlen) {
    char tmp[NN_PATH_LEN];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return nn_fail(err, errlen, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return nn_fail(err, errlen, "%s: cannot create a temporary file next to it: %s", path,
                    strerror(errno));
    int e = write_and_close(fd, m, param, state, epochs);
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        unlink(tmp);
        return nn_fail(err, errlen, "%s: cannot write the checkpoint: %s", path, strerror(e));
    }
    sync_parent_dir(path);
    return 0;
}

/* ---------------------------------------------------------------- load */

/* What the header says */
typedef struct {
    uint32_t version;
    char name[MAX_NAME + 1];
    uint64_t fingerprint, n_param, n_state, epochs;
    long header_len; /* bytes before the first float */
} Header;

/* Reads exactly n bytes; 0 at a short read */
static int get(FILE *f, void *p, size_t n) {
    return fread(p, 1, n, f) == n;
}

static int get_uint(FILE *f, uint64_t *v, int n) {
    uint8_t b[8];
    if (!get(f, b, (size_t)n))
        return 0;
    *v = get_le(b, n);
    return 1;
}

/* The fields after the version, up to the floats; 0 at a short read */
static int read_fields(FILE *f, Header *h) {
    uint64_t name_len;
    if (!get_uint(f, &name_len, 4) || name_len > MAX_NAME || !get(f, h->name, name_len))
        return 0;
    h->name[name_len] = '\0';
    h->header_len = 16 + (long)name_len + 32;
    return get_uint(f, &h->fingerprint, 8) && get_uint(f, &h->n_param, 8) &&
           get_uint(f, &h->n_state, 8) && get_uint(f, &h->epochs, 8);
}

static int read_header(FILE *f, const char *path, Header *h, char *err, size_t errlen) {
    char magic[8];
    uint64_t version;
    if (!get(f, magic, 8) || memcmp(magic, NN_CKPT_MAGIC, 8) != 0)
        return nn_fail(err, errlen, "%s: not an nnc checkpoint (bad magic)", path);
    if (!get_uint(f, &version, 4))
        return nn_fail(err, errlen, "%s: truncated: the file ends inside the header", path);
    if (version != NN_CKPT_VERSION)
        return nn_fail(err, errlen,
                    "%s: unsupported checkpoint version %llu (this trainer reads version %u)", path,
                    (unsigned long long)version, NN_CKPT_VERSION);
    if (!read_fields(f, h))
        return nn_fail(err, errlen, "%s: truncated: the file ends inside the header", path);
    if (h->n_param > MAX_FLOATS || h->n_state > MAX_FLOATS)
        return nn_fail(err, errlen, "%s: corrupt: implausible sizes in the header", path);
    return 0;
}

/* The file must be exactly as long as its header says */
static int check_size(off_t size, const char *path, const Header *h, char *err, size_t errlen) {
    unsigned long long want = (unsigned long long)h->header_len + 4 * (h->n_param + h->n_state) + 4;
    unsigned long long have = (unsigned long long)size;
    if (have < want)
        return nn_fail(err, errlen, "%s: truncated: %llu bytes, expected %llu", path, have, want);
    if (have > want)
        return nn_fail(err, errlen, "%s: corrupt: unexpected data after the checksum (%llu bytes)",
                    path, have - want);
    return 0;
}

/* CRC32 of everything before the last 4 bytes against those 4 bytes */
static int check_crc(FILE *f, off_t size, const char *path, char *err, size_t errlen) {
    uint8_t buf[1 << 14];
    if (fseek(f, 0, SEEK_SET) != 0)
        return nn_fail(err, errlen, "%s: %s", path, strerror(errno));
    uLong crc = crc32(0, NULL, 0);
    for (off_t left = size - 4; left > 0;) {
        size_t k = left < (off_t)sizeof buf ? (size_t)left : sizeof buf;
        if (!get(f, buf, k))
            return nn_fail(err, errlen, "%s: read error", path);
        crc = crc32(crc, buf, (uInt)k);
        left -= (off_t)k;
    }
    uint64_t stored;
    if (!get_uint(f, &stored, 4))
        return nn_fail(err, errlen, "%s: read error", path);
    if (stored != crc)
        return nn_fail(err, errlen, "%s: checksum mismatch: the file is corrupt", path);
    return 0;
}

/* Is this checkpoint m's, with m's current architecture? */
static int check_model(const char *path, const Header *h, const nn_model_desc *m, char *err,
                       size_t errlen) {
    if (strcmp(h->name, m->name) != 0)
        return nn_fail(err, errlen, "%s: belongs to another model: '%s', not '%s'", path, h->name,
                    m->name);
    if (h->fingerprint != m->fingerprint || h->n_param != m->n_param || h->n_state != m->n_state)
        return nn_fail(err, errlen,
                    "%s: the architecture of '%s' changed since this checkpoint was saved "
                    "(fingerprint %016llx, %llu parameters; now %016llx, %zu parameters)",
                    path, m->name, (unsigned long long)h->fingerprint,
                    (unsigned long long)h->n_param, (unsigned long long)m->fingerprint, m->n_param);
    return 0;
}

static int get_floats(FILE *f, float *x, size_t n) {
    uint8_t b[4 * CHUNK_FLOATS];
    for (size_t i = 0; i < n; i += CHUNK_FLOATS) {
        size_t k = n - i < CHUNK_FLOATS ? n - i : CHUNK_FLOATS;
        if (!get(f, b, 4 * k))
            return 0;
        for (size_t j = 0; j < k; j++) {
            uint32_t bits = (uint32_t)get_le(b + 4 * j, 4);
            memcpy(&x[i + j], &bits, 4);
        }
    }
    return 1;
}

static int load_open(FILE *f, const char *path, const nn_model_desc *m, float *param, float *state,
                     long *epochs, char *err, size_t errlen) {
    Header h;
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return nn_fail(err, errlen, "%s: %s", path, strerror(errno));
    /* The checksum is checked before the name and fingerprint, so damage
     * is reported as damage rather than as a foreign model. */
    if (read_header(f, path, &h, err, errlen) || check_size(st.st_size, path, &h, err, errlen) ||
        check_crc(f, st.st_size, path, err, errlen) || check_model(path, &h, m, err, errlen))
        return -1;
    if (fseek(f, h.header_len, SEEK_SET) != 0 || !get_floats(f, param, m->n_param) ||
        !get_floats(f, state, m->n_state))
        return nn_fail(err, errlen, "%s: read error", path);
    *epochs = (long)h.epochs;
    return 0;
}

int nn_checkpoint_load(const char *path, const nn_model_desc *m, float *param, float *state,
                       long *epochs, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    int rc = load_open(f, path, m, param, state, epochs, err, errlen);
    fclose(f);
    return rc;
}
