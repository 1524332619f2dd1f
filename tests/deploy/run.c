/* run.c: the deploy driver of tests/44-deploy.t. Built with the generated
 * NET.c alone (no libnnrt): -DNET=name -DMACRO=NAME -DNET_H='"name.h"'.
 * Runs name_predict on the first LIMIT test images with an arena malloc'd
 * to exactly NAME_ARENA_BYTES (under -fsanitize=address an overrun stops
 * it), or none with -DNAME_STATIC_ARENA -DSTATIC_ARENA, and compares with the trainer's
 * outputs (ref.c) on the same images:
 *   run IMAGES LABELS REF LIMIT
 * prints "n=N accuracy=A ref_accuracy=R agreement=G max_logit_diff=D". */
#include NET_H

#include "images.h"

#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(NET, s)
#define IN_SIZE CAT(MACRO, _IN_SIZE)
#define OUT_SIZE CAT(MACRO, _OUT_SIZE)
#define ARENA_BYTES CAT(MACRO, _ARENA_BYTES)

static int argmax(const float *v) {
    int best = 0;
    for (int i = 1; i < OUT_SIZE; i++)
        best = v[i] > v[best] ? i : best;
    return best;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: run IMAGES LABELS REF LIMIT\n");
        return 2;
    }
    size_t n, n_labels, ref_len;
    float *x = load_images(argv[1], IN_SIZE, &n);
    unsigned char *labels = load_bytes(argv[2], &n_labels);
    float *ref = (float *)load_bytes(argv[3], &ref_len);
    size_t limit = strtoul(argv[4], NULL, 10);
    if (n > limit)
        n = limit;
    if (n_labels < n || ref_len < n * OUT_SIZE * sizeof(float)) {
        fprintf(stderr, "run: fewer labels or reference outputs than images\n");
        return 2;
    }
#ifdef STATIC_ARENA /* with -DNAME_STATIC_ARENA */
    void *arena = NULL;
#else
    void *arena = malloc(ARENA_BYTES ? ARENA_BYTES : 1);
#endif
    size_t right = 0, ref_right = 0, agree = 0;
    double max_diff = 0;
    for (size_t i = 0; i < n; i++) {
        float out[OUT_SIZE];
        const float *r = ref + i * OUT_SIZE;
        SYM(_predict)(x + i * IN_SIZE, out, arena);
        int k = argmax(out);
        if (k != SYM(_classify)(x + i * IN_SIZE, arena)) {
            fprintf(stderr, "run: image %zu: classify disagrees with predict\n", i);
            return 1;
        }
        right += k == labels[i];
        ref_right += argmax(r) == labels[i];
        agree += k == argmax(r);
        for (int j = 0; j < OUT_SIZE; j++) {
            double d = out[j] > r[j] ? out[j] - r[j] : r[j] - out[j];
            max_diff = d > max_diff ? d : max_diff;
        }
    }
    printf("n=%zu accuracy=%.4f ref_accuracy=%.4f agreement=%.4f max_logit_diff=%.3g\n", n,
           (double)right / n, (double)ref_right / n, (double)agree / n, max_diff);
#ifndef STATIC_ARENA
    free(arena);
#endif
    free(x), free(labels), free(ref);
    return 0;
}
