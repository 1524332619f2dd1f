/* init_dump.c: writes a generated model's initial parameters and state, as
 * its desc's init fills them for a seed, to a file (raw floats: param, then
 * state), so tests/34-init.t can compare models byte for byte. Built per
 * model like tests/model_gradcheck.c:
 *   cc -DMODEL_C='"build/x.c"' -DDESC=x_model tests/init_dump.c ...
 * Usage: init_dump SEED FILE */
#define NNC_NO_MAIN
#include MODEL_C

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SEED FILE\n", argv[0]);
        return 2;
    }
    const nn_model_desc *m = &DESC;
    /* Poisoned, so that a float init leaves unwritten shows as a difference */
    float *param = malloc(sizeof(float) * (m->n_param + 1));
    float *state = malloc(sizeof(float) * (m->n_state + 1));
    if (!param || !state)
        return 1;
    for (size_t i = 0; i < m->n_param; i++)
        param[i] = (float)i;
    for (size_t i = 0; i < m->n_state; i++)
        state[i] = (float)i;
    m->init(param, state, strtoull(argv[1], NULL, 10));
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(param, sizeof(float), m->n_param, f) != m->n_param ||
        fwrite(state, sizeof(float), m->n_state, f) != m->n_state || fclose(f) != 0) {
        perror(argv[2]);
        return 1;
    }
    free(param);
    free(state);
    return 0;
}
