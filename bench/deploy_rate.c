/* deploy_rate.c: inferences per second of one deployed file (nnc
 * --emit=deploy, float or --int8) on the host, NAME_classify over the
 * first N test images in a loop for at least SECONDS; scripts/bench-deploy.sh
 * runs it beside the trainer's own inference at batch 1. Built like
 * tests/cortexm/main.c: -DNET=prefix -DMACRO=PREFIX -DNET_H='"net.h"'.
 * Usage: deploy_rate IMAGES.u8 N SECONDS; prints one JSON line. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include NET_H

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(NET, s)
#define MAC(s) CAT(MACRO, s)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s IMAGES.u8 N SECONDS\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    double seconds = atof(argv[3]);
    FILE *f = fopen(argv[1], "rb");
    float *images = malloc((size_t)n * MAC(_IN_SIZE) * sizeof(float));
    unsigned char *px = malloc((size_t)MAC(_IN_SIZE));
    static _Alignas(16) unsigned char arena[MAC(_ARENA_BYTES)];
    if (n < 1 || !f || !images || !px) {
        fprintf(stderr, "%s: cannot read %ld images from %s\n", argv[0], n, argv[1]);
        return 1;
    }
    for (long i = 0; i < n; i++) {
        if (fread(px, 1, MAC(_IN_SIZE), f) != MAC(_IN_SIZE)) {
            fprintf(stderr, "%s: %s holds fewer than %ld images\n", argv[0], argv[1], n);
            return 1;
        }
        for (long j = 0; j < MAC(_IN_SIZE); j++)
            images[i * MAC(_IN_SIZE) + j] = px[j] / 255.0f; /* as the trainer feeds them */
    }
    fclose(f);
    long done = 0, checksum = 0;
    double start = now(), elapsed;
    do { /* whole passes, so every run sees the same images */
        for (long i = 0; i < n; i++)
            checksum += SYM(_classify)(images + i * MAC(_IN_SIZE), arena);
        done += n;
    } while ((elapsed = now() - start) < seconds);
    printf("{\"inferences_per_s\": %.1f, \"inferences\": %ld, \"checksum\": %ld}\n",
           (double)done / elapsed, done, checksum);
    free(images);
    free(px);
    return 0;
}
