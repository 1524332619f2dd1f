/* data_idx.c: the IDX reader (MNIST's format), plain or gzipped: two files,
 * images and labels, read into bytes and checked against the model's input
 * and output sizes. See data.h for the contract, docs/trainer.md for the
 * format and every message.
 */
#include "data.h"
#include "fail.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* An IDX file read as one stream of bytes: as it is, or inflated member
 * after member when it starts with the gzip magic (whatever its name).
 * Not zlib's gzread, which silently ignores whatever follows the last
 * gzip member: a file with bytes appended would load. */
typedef struct {
    FILE *f;
    const char *path;
    int gzip;        /* the file starts with the gzip magic 1f 8b */
    int member_done; /* inflate ended a member: next comes another one or the end */
    z_stream z;      /* next_in/avail_in: the unread part of in[] (for plain files too) */
    unsigned char in[1 << 16];
} Idx;

/* Moves the unread input to the front of in[] and reads more behind it */
static int idx_fill(Idx *s, char *err, size_t errlen) {
    if (s->z.avail_in)
        memmove(s->in, s->z.next_in, s->z.avail_in);
    s->z.next_in = s->in;
    s->z.avail_in += (uInt)fread(s->in + s->z.avail_in, 1, sizeof s->in - s->z.avail_in, s->f);
    if (ferror(s->f))
        return nn_fail(err, errlen, "%s: read error: %s", s->path, strerror(errno));
    return 0;
}

/* Reads up to n bytes into buf; *got < n only at the end of the data (a
 * gzip stream cut inside a member ends there too). -1 on corrupt data. */
static int idx_read(Idx *s, void *buf, size_t n, size_t *got, char *err, size_t errlen) {
    unsigned char *out = buf;
    *got = 0;
    while (*got < n) {
        /* two bytes: enough to tell whether another gzip member follows */
        if (s->z.avail_in < 2 && !feof(s->f) && idx_fill(s, err, errlen))
            return -1;
        if (!s->gzip) {
            size_t k = n - *got < s->z.avail_in ? n - *got : s->z.avail_in;
            if (k == 0)
                break;
            memcpy(out + *got, s->z.next_in, k);
            s->z.next_in += k;
            s->z.avail_in -= (uInt)k;
            *got += k;
            continue;
        }
        if (s->member_done) {
            if (s->z.avail_in == 0)
                break;
            if (s->z.avail_in < 2 || s->z.next_in[0] != 0x1f || s->z.next_in[1] != 0x8b)
                return nn_fail(err, errlen, "%s: corrupt: data after the end of the gzip stream",
                               s->path);
            inflateReset(&s->z);
            s->member_done = 0;
        }
        size_t left = n - *got;
        s->z.next_out = out + *got;
        s->z.avail_out = left > (1u << 30) ? 1u << 30 : (uInt)left;
        int r = inflate(&s->z, Z_NO_FLUSH);
        *got = (size_t)(s->z.next_out - out);
        if (r == Z_STREAM_END)
            s->member_done = 1;
        else if (r == Z_BUF_ERROR) /* no progress: the input ended inside a member */
            break;
        else if (r == Z_MEM_ERROR)
            return nn_fail(err, errlen, "%s: out of memory for zlib", s->path);
        else if (r != Z_OK)
            return nn_fail(err, errlen, "%s: corrupt: %s", s->path,
                           s->z.msg ? s->z.msg : "invalid gzip data");
    }
    return 0;
}

static Idx *idx_open(const char *path, char *err, size_t errlen) {
    Idx *s = calloc(1, sizeof *s);
    if (!s) {
        nn_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    s->path = path;
    s->f = fopen(path, "rb");
    if (!s->f)
        nn_fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    else if (idx_fill(s, err, errlen) == 0) {
        s->gzip = s->z.avail_in >= 2 && s->in[0] == 0x1f && s->in[1] == 0x8b;
        if (!s->gzip || inflateInit2(&s->z, 15 + 16) == Z_OK) /* 16: gzip only */
            return s;
        nn_fail(err, errlen, "%s: out of memory for zlib", path);
        s->gzip = 0;
    }
    if (s->f)
        fclose(s->f);
    free(s);
    return NULL;
}

static void idx_close(Idx *s) {
    if (!s)
        return;
    if (s->gzip)
        inflateEnd(&s->z);
    fclose(s->f);
    free(s);
}

static int truncated(const Idx *s, size_t want, size_t got, const char *what, char *err,
                     size_t errlen) {
    return nn_fail(err, errlen, "%s: truncated: expected %zu bytes of %s, got %zu", s->path, want,
                   what, got);
}

/* After the last byte the header promises: the end of the file. Reading
 * past the data is also what makes zlib check the gzip trailer's CRC,
 * the only thing that catches most flipped bits in compressed data. */
static int check_end(Idx *s, char *err, size_t errlen) {
    char c;
    size_t got;
    if (idx_read(s, &c, 1, &got, err, errlen))
        return -1;
    if (got)
        return nn_fail(err, errlen, "%s: corrupt: more data than the header announces", s->path);
    if (s->gzip && !s->member_done)
        return nn_fail(err, errlen, "%s: truncated: the gzip stream ends early", s->path);
    return 0;
}

static const char *idx_type_name(int type) {
    switch (type) {
    case 0x09: return "signed bytes";
    case 0x0b: return "16-bit integers";
    case 0x0c: return "32-bit integers";
    case 0x0d: return "floats";
    case 0x0e: return "doubles";
    default: return "unknown";
    }
}

/* The header of an IDX file of n_dims dimensions: the magic 00 00 08
 * n_dims (08: unsigned bytes), then n_dims big-endian 32-bit sizes */
static int read_idx_header(Idx *s, const char *what, int n_dims, uint32_t *dims, char *err,
                           size_t errlen) {
    static const char *const names[4] = {"", "count", "", "count, rows, columns"};
    uint8_t b[16];
    size_t len = 4 * (size_t)(1 + n_dims), got;
    if (idx_read(s, b, len, &got, err, errlen))
        return -1;
    uint32_t v[4];
    for (size_t i = 0; i < got / 4; i++)
        v[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
               (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    uint32_t magic = 0x800u | (uint32_t)n_dims;
    if (got >= 4 && (b[0] || b[1]))
        return nn_fail(err, errlen,
                       "%s: wrong magic number 0x%08x: not an IDX %s file (expected 0x%08x)",
                       s->path, v[0], what, magic);
    if (got >= 4 && b[2] != 0x08)
        return nn_fail(err, errlen,
                       "%s: IDX data type 0x%02x (%s) is not supported: expected unsigned bytes "
                       "(0x08)",
                       s->path, b[2], idx_type_name(b[2]));
    if (got >= 4 && b[3] != n_dims)
        return nn_fail(err, errlen, "%s: not an IDX %s file: %d dimension%s, expected %d (%s)",
                       s->path, what, b[3], b[3] == 1 ? "" : "s", n_dims, names[n_dims]);
    if (got < len)
        return truncated(s, len, got, "header", err, errlen);
    memcpy(dims, v + 1, sizeof *dims * (size_t)n_dims);
    return 0;
}

/* Reads the next `total` bytes of s, keeping the first `keep` of them in
 * *buf. The buffer grows as the data arrives, so a header that promises
 * more than the file holds (a small .gz can promise anything) costs no
 * more memory than the data that is there. Bytes past `keep` (--limit)
 * are read and dropped: the count is checked all the same. */
static int read_data(Idx *s, uint8_t **buf, size_t keep, size_t total, const char *what,
                     char *err, size_t errlen) {
    uint8_t drop[1 << 14];
    size_t got = 0, cap = 0;
    while (got < total) {
        if (got < keep && got == cap) {
            size_t new_cap = cap < (1u << 20) ? 1u << 20 : 2 * cap;
            new_cap = new_cap < keep ? new_cap : keep;
            uint8_t *p = realloc(*buf, new_cap);
            if (!p)
                return nn_fail(err, errlen, "%s: out of memory for %zu bytes of %s", s->path,
                               new_cap, what);
            *buf = p;
            cap = new_cap;
        }
        uint8_t *to = got < keep ? *buf + got : drop;
        size_t room = got < keep ? cap - got : total - got;
        room = got < keep || room < sizeof drop ? room : sizeof drop;
        size_t k;
        if (idx_read(s, to, room, &k, err, errlen))
            return -1;
        got += k;
        if (k < room)
            break;
    }
    if (got < total)
        return truncated(s, total, got, what, err, errlen);
    return 0;
}

/* IDX images have one channel. An image input takes exactly its rows and
 * columns; a flat `input N` (1x1xN to the runtime, like `input 1x1xN`,
 * which it cannot tell apart) takes images of any rows x cols = N, row
 * after row, which is what its first dense layer sees of them anyway. */
static int check_shape(const char *path, uint32_t rows, uint32_t cols, const nn_data_spec *spec,
                       char *err, size_t errlen) {
    unsigned long long size = (unsigned long long)rows * cols;
    if (spec->in_h == 1 && spec->in_w == 1) {
        if (size != (unsigned long long)spec->in_c)
            return nn_fail(err, errlen,
                           "%s: images are %ux%u = %llu values but the model's input has %d "
                           "values",
                           path, rows, cols, size, spec->in_c);
        return 0;
    }
    if (rows != (uint32_t)spec->in_h || cols != (uint32_t)spec->in_w || spec->in_c != 1)
        return nn_fail(err, errlen, "%s: images are %ux%ux1 but the model's input is %dx%dx%d",
                       path, rows, cols, spec->in_h, spec->in_w, spec->in_c);
    return 0;
}

/* The first n of the count labels in lab, all of which must be classes */
static int take_labels(nn_dataset *d, const uint8_t *lab, size_t n, size_t count,
                       const char *path, int out_size, char *err, size_t errlen) {
    for (size_t i = 0; i < count; i++)
        if (lab[i] >= out_size)
            return nn_fail(err, errlen,
                           "%s: label %d of example %zu is out of range for %d classes (0..%d)",
                           path, lab[i], i + 1, out_size, out_size - 1);
    d->labels = malloc(n * sizeof *d->labels);
    if (!d->labels)
        return nn_fail(err, errlen, "%s: out of memory for %zu labels", path, n);
    for (size_t i = 0; i < n; i++)
        d->labels[i] = lab[i];
    return 0;
}

/* Checks both headers against each other and the model, then reads the
 * images whole (so by the labels, the count is known to be real) */
static int load_idx_files(nn_dataset *d, Idx *fi, Idx *fl, const nn_data_spec *spec, char *err,
                          size_t errlen) {
    /* Zeroed only for gcc -O3, which cannot see read_idx_header fill them */
    uint32_t di[3] = {0}, dl[1] = {0};
    if (read_idx_header(fi, "images", 3, di, err, errlen) ||
        read_idx_header(fl, "labels", 1, dl, err, errlen) ||
        check_shape(fi->path, di[1], di[2], spec, err, errlen))
        return -1;
    if (di[0] != dl[0])
        return nn_fail(err, errlen, "%s has %u images but %s has %u labels", fi->path, di[0],
                       fl->path, dl[0]);
    if (di[0] == 0)
        return nn_fail(err, errlen, "%s: no images", fi->path);
    size_t size = (size_t)di[1] * di[2]; /* the model's input size, after check_shape */
    size_t n = di[0] < spec->limit ? di[0] : spec->limit;
    uint8_t *lab = NULL;
    d->n = n;
    d->in_size = (int)size;
    int rc = read_data(fi, &d->pixels, n * size, di[0] * size, "pixels", err, errlen) ||
             check_end(fi, err, errlen) ||
             read_data(fl, &lab, dl[0], dl[0], "labels", err, errlen) ||
             check_end(fl, err, errlen) ||
             take_labels(d, lab, n, dl[0], fl->path, spec->out_size, err, errlen);
    free(lab);
    return rc ? -1 : 0;
}

int nn_data_load_idx(nn_dataset *d, const char *images_path, const char *labels_path,
                     const nn_data_spec *spec, char *err, size_t errlen) {
    memset(d, 0, sizeof *d);
    Idx *fi = idx_open(images_path, err, errlen);
    Idx *fl = fi ? idx_open(labels_path, err, errlen) : NULL;
    int rc = fi && fl ? load_idx_files(d, fi, fl, spec, err, errlen) : -1;
    idx_close(fi);
    idx_close(fl);
    if (rc)
        nn_data_free(d);
    return rc;
}
