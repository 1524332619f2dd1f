/* optim_state.c: how many floats of state an optimizer keeps, which the
 * checkpoint reader checks. Apart from optim.c so that nnc can link the
 * reader (checkpoint.c, fail.c and this) without the update kernels and
 * the thread pool behind them. */
#include "nnrt.h"

size_t nn_optimizer_state_size(const nn_hparams *h, size_t n) {
    if (h->optimizer == NN_ADAM)
        return 2 * n;
    return h->momentum != 0.0f ? n : 0;
}
