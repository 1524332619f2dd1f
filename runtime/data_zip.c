/* data_zip.c: a minimal zip reader, for .npz files: the end-of-central-
 * directory record, the central directory's entries (whose sizes and CRC
 * are authoritative: NumPy's local headers carry zip64 extras), and a
 * member's bytes, stored or raw-deflated (zlib inflate), CRC-checked.
 * Zip64 archives (over 4 GiB or 65535 members), encrypted entries and
 * other methods are refused with a message.
 */
#include "data.h"
#include "fail.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define EOCD_SIG 0x06054b50u    /* end of central directory */
#define CENTRAL_SIG 0x02014b50u /* a central directory entry */
#define LOCAL_SIG 0x04034b50u   /* a local file header */
#define ZIP64_LOCATOR_SIG 0x07064b50u

static uint32_t le16(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p) {
    return le16(p) | le16(p + 2) << 16;
}

/* Inflates a raw deflate stream of in_len bytes into exactly out_len */
static int inflate_member(const char *path, const char *member, const unsigned char *in,
                          size_t in_len, unsigned char *out, size_t out_len, char *err,
                          size_t errlen) {
    z_stream z = {0};
    if (inflateInit2(&z, -15) != Z_OK)
        return nn_fail(err, errlen, "%s: out of memory for zlib", path);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)out_len;
    int r = inflate(&z, Z_FINISH);
    size_t got = out_len - z.avail_out;
    inflateEnd(&z);
    if (r == Z_STREAM_END && got == out_len && z.avail_in == 0)
        return 0;
    if (r == Z_DATA_ERROR)
        return nn_fail(err, errlen, "%s: %s: corrupt: %s", path, member,
                       z.msg ? z.msg : "invalid deflate data");
    return nn_fail(err, errlen, "%s: %s: corrupt: the deflated data does not hold %zu bytes",
                   path, member, out_len);
}

int nn_zip_read(const char *path, const unsigned char *zip, size_t zip_len, const char *member,
                unsigned char **out, size_t *out_len, char *err, size_t errlen) {
    *out = NULL;
    *out_len = 0;
    /* the record is 22 bytes and a comment of up to 65535: found from the end */
    if (zip_len < 22)
        return nn_fail(err, errlen, "%s: not a zip archive (.npz): too short", path);
    size_t e = zip_len - 22, lowest = zip_len > 22 + 65535 ? zip_len - 22 - 65535 : 0;
    while (le32(zip + e) != EOCD_SIG || le16(zip + e + 20) != zip_len - e - 22) {
        if (e == lowest)
            return nn_fail(err, errlen, "%s: not a zip archive (.npz): no end of central "
                           "directory", path);
        e--;
    }
    uint32_t entries = le16(zip + e + 10), cd_size = le32(zip + e + 12), cd_off = le32(zip + e + 16);
    if (entries == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu ||
        (e >= 20 && le32(zip + e - 20) == ZIP64_LOCATOR_SIG))
        return nn_fail(err, errlen, "%s: a zip64 archive: not supported (save smaller arrays, "
                       "or separate .npy files)", path);
    if (le16(zip + e + 4) != 0 || le16(zip + e + 6) != 0 || le16(zip + e + 8) != entries)
        return nn_fail(err, errlen, "%s: a multi-part zip archive: not supported", path);
    if (cd_off > e || cd_size > e - cd_off)
        return nn_fail(err, errlen, "%s: corrupt zip: the central directory is outside the file",
                       path);
    size_t p = cd_off, end = (size_t)cd_off + cd_size, name_len = strlen(member);
    for (uint32_t k = 0; k < entries; k++) {
        if (end - p < 46 || le32(zip + p) != CENTRAL_SIG)
            return nn_fail(err, errlen, "%s: corrupt zip: bad central directory entry %u", path,
                           k + 1);
        uint32_t flags = le16(zip + p + 8), method = le16(zip + p + 10), crc = le32(zip + p + 16);
        uint32_t csize = le32(zip + p + 20), usize = le32(zip + p + 24);
        size_t n = le16(zip + p + 28), extra = le16(zip + p + 30), comment = le16(zip + p + 32);
        uint32_t local = le32(zip + p + 42);
        if (end - p - 46 < n + extra + comment)
            return nn_fail(err, errlen, "%s: corrupt zip: bad central directory entry %u", path,
                           k + 1);
        const unsigned char *name = zip + p + 46;
        p += 46 + n + extra + comment;
        if (n != name_len || memcmp(name, member, n) != 0)
            continue;
        if (csize == 0xffffffffu || usize == 0xffffffffu || local == 0xffffffffu)
            return nn_fail(err, errlen, "%s: %s: a zip64 entry: not supported", path, member);
        if (flags & 1)
            return nn_fail(err, errlen, "%s: %s: encrypted: not supported", path, member);
        if (method != 0 && method != 8)
            return nn_fail(err, errlen, "%s: %s: compression method %u: not supported (stored "
                           "or deflated only)", path, member, method);
        if (local > cd_off || cd_off - local < 30 || le32(zip + local) != LOCAL_SIG)
            return nn_fail(err, errlen, "%s: %s: corrupt zip: bad local header", path, member);
        size_t data = (size_t)local + 30 + le16(zip + local + 26) + le16(zip + local + 28);
        if (data > cd_off || csize > cd_off - data)
            return nn_fail(err, errlen, "%s: %s: truncated: the data runs past the central "
                           "directory", path, member);
        if (method == 0 && csize != usize)
            return nn_fail(err, errlen, "%s: %s: corrupt zip: a stored entry of %u bytes holds "
                           "%u", path, member, usize, csize);
        /* deflate expands at most 1032:1: a size beyond is a lie, not an allocation */
        if (method == 8 && usize / 1032 > csize)
            return nn_fail(err, errlen, "%s: %s: corrupt zip: %u bytes cannot inflate to %u",
                           path, member, csize, usize);
        unsigned char *buf = malloc(usize ? usize : 1);
        if (!buf)
            return nn_fail(err, errlen, "%s: %s: out of memory for %u bytes", path, member,
                           usize);
        if (method == 0)
            memcpy(buf, zip + data, usize);
        else if (inflate_member(path, member, zip + data, csize, buf, usize, err, errlen)) {
            free(buf);
            return -1;
        }
        if (crc32(0L, buf, usize) != crc) {
            free(buf);
            return nn_fail(err, errlen, "%s: %s: CRC mismatch: the archive is corrupt", path,
                           member);
        }
        *out = buf;
        *out_len = usize;
        return 0;
    }
    return 1;
}
