/* meta.c: fuzzes the data meta's decoder (nn_data_meta_decode in
 * runtime/data_meta.c), the bytes a checkpoint section holds. What it
 * accepts must encode back to the same bytes, and hold what the loaders
 * rely on: sorted class names, positive stds.
 */
#include "data.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    nn_data_meta m;
    char err[1024] = "";
    if (nn_data_meta_decode(&m, data, size, err, sizeof err)) {
        if (strncmp(err, "data meta: ", 11) != 0 || strchr(err, '\n') || m.class_names || m.mean)
            abort();
        return 0;
    }
    for (int k = 1; k < m.n_classes; k++)
        if (strcmp(m.class_names[k - 1], m.class_names[k]) >= 0)
            abort();
    for (int k = 0; k < m.n_features; k++)
        if (!(m.std[k] > 0))
            abort();
    unsigned char *again;
    size_t len;
    if (nn_data_meta_encode(&m, &again, &len) || len != size || memcmp(again, data, size))
        abort();
    free(again);
    nn_data_meta_free(&m);
    return 0;
}
