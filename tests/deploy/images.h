/* images.h: the test set for the deploy drivers (run.c, ref.c), as
 * tests/44-deploy.t leaves it: the IDX files without their headers, one
 * byte per pixel or label. */
#ifndef DEPLOY_IMAGES_H
#define DEPLOY_IMAGES_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file; exits with a message if it cannot be read */
static unsigned char *load_bytes(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f || fseek(f, 0, SEEK_END) != 0) {
        perror(path);
        exit(2);
    }
    long n = ftell(f);
    unsigned char *b = malloc((size_t)n + 1);
    rewind(f);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
        perror(path);
        exit(2);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* The images as the trainer feeds them: pixel / 255 (runtime/data.c) */
static float *load_images(const char *path, size_t in_size, size_t *n) {
    size_t len;
    unsigned char *px = load_bytes(path, &len);
    float *x = malloc(len * sizeof *x + 1);
    for (size_t i = 0; i < len; i++)
        x[i] = px[i] / 255.0f;
    free(px);
    *n = len / in_size;
    return x;
}

#endif
