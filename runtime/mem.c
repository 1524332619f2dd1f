/* mem.c: the runtime's buffers are zeroed and aligned to 64 bytes.
 *
 * glibc's calloc returns 16-byte-aligned blocks (big ones sit 16 bytes past
 * a page boundary), so every 64-byte AVX-512 load of the register-tile
 * kernels would straddle two cache lines: the seed MLP's forward product
 * ran 25% slower on such a buffer. The seed models' big tensors start at
 * multiples of 16 floats in their buffers, so aligning a buffer aligns
 * them.
 */
#include <stdlib.h>
#include <string.h>

#include "nnrt.h"

#define ALIGN 64

void *nn_alloc(size_t n, size_t size) {
    if (n == 0)
        n = 1;
    if (size != 0 && n > (SIZE_MAX - ALIGN) / size)
        return NULL;
    const size_t bytes = (n * size + ALIGN - 1) / ALIGN * ALIGN;
    void *p = aligned_alloc(ALIGN, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}
