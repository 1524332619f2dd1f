/* ref.c: the trainer's outputs for tests/44-deploy.t. Built with a
 * trainer's C (-DNNC_NO_MAIN) and libnnrt: -DNET=NAME -DNET_H='"NAME.h"'.
 * Loads the checkpoint with the trainer's reader and runs its inference
 * function, as `eval` does, on the test images:
 *   ref CKPT IMAGES OUT   writes the outputs, float32, image by image */
#include NET_H

#include "checkpoint.h"
#include "images.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(NET, s)
#define BATCH 100

int main(int argc, char **argv) {
    const nn_model_desc *m = &SYM(_model);
    nn_checkpoint c;
    char err[1024];
    if (argc != 4) {
        fprintf(stderr, "usage: ref CKPT IMAGES OUT\n");
        return 2;
    }
    if (nn_checkpoint_read(&c, argv[1], m, err, sizeof err)) {
        fprintf(stderr, "ref: %s\n", err);
        return 1;
    }
    float *param = malloc(m->n_param * sizeof *param + 1);
    float *state = malloc(m->n_state * sizeof *state + 1);
    nn_checkpoint_copy(&c, m, param, state, NULL);
    nn_checkpoint_free(&c);
    size_t n;
    float *x = load_images(argv[2], (size_t)m->in_size, &n);
    float *out = malloc(n * (size_t)m->out_size * sizeof *out);
    float *work = malloc(m->infer_work(BATCH) * sizeof *work + 1);
    for (size_t i = 0; i < n; i += BATCH) {
        int b = n - i < BATCH ? (int)(n - i) : BATCH;
        m->infer(param, state, work, x + i * m->in_size, out + i * m->out_size, b);
    }
    FILE *f = fopen(argv[3], "wb");
    int bad = !f || fwrite(out, sizeof *out, n * m->out_size, f) != n * m->out_size || fclose(f);
    if (bad)
        perror(argv[3]);
    free(param), free(state), free(x), free(out), free(work);
    return bad;
}
