/* predict.c: eval and predict, the commands that load a checkpoint and
 * run inference over a data set (docs/trainer.md, "eval" and "predict").
 * Both read the data as the checkpoint's training data was read: its data
 * meta (class names, the label's name, standardisation) goes to
 * nn_data_open.
 */
#include "predict.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic.h"
#include "checkpoint.h"
#include "commands.h"
#include "data.h"
#include "fit.h"
#include "metrics.h"

/* A saved model and the data it runs on: the inference buffers filled
 * from o->load, and the sets `want` asks for. 0, or 1 with the message
 * printed; *epochs gets the checkpoint's. */
static int load(const nn_model_desc *m, const Options *o, unsigned want, nn_buffers *b,
                nn_data *d, uint64_t *epochs) {
    nn_checkpoint c;
    char err[ERR_LEN];
    if (nn_fit_alloc(b, m, &o->h, 0))
        return 1;
    if (nn_checkpoint_read(&c, o->load, m, err, sizeof err))
        return nn_error(m, "%s", err);
    nn_checkpoint_copy(&c, m, b->param, b->state, NULL);
    *epochs = c.run.epoch;
    int rc = nn_open_data(m, o, want, &c, d);
    nn_checkpoint_free(&c);
    return rc;
}

/* ---------------------------------------------------------------- eval */

/* The row label of class k: "k", or "k NAME" when the labels had names */
static void class_label(char *buf, size_t len, const nn_data_meta *meta, int k) {
    if (meta->n_classes > k)
        snprintf(buf, len, "%d %s", k, meta->class_names[k]);
    else
        snprintf(buf, len, "%d", k);
}

/* confusion (K, K), rows the true class: the matrix and each class's
 * accuracy (its diagonal over its row) */
static void print_confusion(const size_t *confusion, int K, const nn_data_meta *meta) {
    char label[128];
    int lw = 5, cw = 6; /* "class"; counts at least 6 wide */
    size_t most = 0;
    for (int k = 0; k < K; k++) {
        class_label(label, sizeof label, meta, k);
        lw = (int)strlen(label) > lw ? (int)strlen(label) : lw;
    }
    for (size_t i = 0; i < (size_t)K * (size_t)K; i++)
        most = confusion[i] > most ? confusion[i] : most;
    int digits = snprintf(NULL, 0, "%zu", most) + 2;
    cw = digits > cw ? digits : cw;
    printf("confusion matrix: a row per true class, a column per predicted class\n");
    printf("%-*s", lw, "class");
    for (int k = 0; k < K; k++)
        printf("%*d", cw, k);
    printf("  accuracy\n");
    for (int y = 0; y < K; y++) {
        const size_t *row = confusion + (size_t)y * (size_t)K;
        size_t n = 0;
        class_label(label, sizeof label, meta, y);
        printf("%-*s", lw, label);
        for (int p = 0; p < K; p++) {
            printf("%*zu", cw, row[p]);
            n += row[p];
        }
        if (n)
            printf("  %.4f\n", (double)row[y] / (double)n);
        else
            printf("  -\n"); /* no example of the class */
    }
}

int nn_eval(const nn_model_desc *m, const Options *o) {
    nn_data data = {0};
    nn_buffers b = {0};
    uint64_t epochs = 0;
    const nn_dataset *test = &data.test;
    const size_t K = (size_t)m->out_size;
    size_t *confusion = NULL;
    int rc = load(m, o, NN_WANT_TEST, &b, &data, &epochs);
    Task task = nn_task_of(test);
    if (!rc && task == CLASSES && !(confusion = calloc(K * K, sizeof *confusion)))
        rc = nn_error(m, "out of memory for a %zu x %zu confusion matrix", K, K);
    if (!rc) {
        printf("%s: checkpoint %s (%llu epochs) | test %zu examples | batch=%d threads=%d\n",
               m->name, o->load, (unsigned long long)epochs, test->n, o->h.batch, nn_threads());
        nn_metrics e = nn_evaluate(m, test, &b, o->h.batch, confusion);
        if (confusion)
            print_confusion(confusion, m->out_size, &data.meta);
        nn_print_test_line(task, &e);
    }
    free(confusion);
    nn_fit_free(&b);
    nn_data_close(&data);
    return rc;
}

/* ---------------------------------------------------------------- predict */

/* A CSV field, prefix then s: quoted (quotes doubled) when s holds a
 * separator, a quote or a line break */
static void put_field(FILE *f, const char *prefix, const char *s) {
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    fprintf(f, "%s%s", quote ? "\"" : "", prefix);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    if (quote)
        fputc('"', f);
}

typedef struct {
    const nn_model_desc *m;
    const nn_dataset *d;
    const nn_data_meta *meta;
    const nn_buffers *b;
    int batch;
    int regression;
} Predict;

/* "class,prob_0,...,prob_9", with the class names when known
 * ("class,prob_cat,prob_dog"); a regression's "output_0,..." or its
 * target names */
static void put_header(FILE *f, const Predict *p) {
    const nn_data_meta *meta = p->meta;
    if (!p->regression)
        fputs("class", f);
    for (int j = 0; j < p->m->out_size; j++) {
        if (j || !p->regression)
            fputc(',', f);
        if (p->regression && meta->target_names && meta->n_targets > j)
            put_field(f, "", meta->target_names[j]);
        else if (p->regression)
            fprintf(f, "output_%d", j);
        else if (meta->n_classes > j)
            put_field(f, "prob_", meta->class_names[j]);
        else
            fprintf(f, "prob_%d", j);
    }
    fputc('\n', f);
}

/* One example's row from its outputs: the class and its probabilities
 * (softmax of the logits unless the model ends in softmax; a classifier
 * trained with mse shows its outputs as they are), or the outputs */
static void put_row(FILE *f, const Predict *p, const float *out) {
    const int N = p->m->out_size;
    if (p->regression) {
        for (int j = 0; j < N; j++)
            fprintf(f, "%s%.9g", j ? "," : "", (double)out[j]);
        fputc('\n', f);
        return;
    }
    int k = nn_argmax(out, N);
    if (p->meta->n_classes > k)
        put_field(f, "", p->meta->class_names[k]);
    else
        fprintf(f, "%d", k);
    int softmax = p->m->loss == NN_CROSS_ENTROPY && !p->m->out_is_prob;
    double sum = 0;
    for (int j = 0; softmax && j < N; j++)
        sum += exp((double)out[j] - (double)out[k]);
    for (int j = 0; j < N; j++)
        fprintf(f, ",%.9g", softmax ? exp((double)out[j] - (double)out[k]) / sum : (double)out[j]);
    fputc('\n', f);
}

/* The whole CSV into f; 0 or an errno */
static int put_predictions(FILE *f, void *ctx) {
    const Predict *p = ctx;
    const nn_buffers *b = p->b;
    put_header(f, p);
    for (size_t first = 0; first < p->d->n; first += (size_t)p->batch) {
        int B = p->d->n - first < (size_t)p->batch ? (int)(p->d->n - first) : p->batch;
        nn_data_batch(b->x, NULL, NULL, p->d, NULL, first, B);
        p->m->infer(b->param, b->state, b->work, b->x, b->out, B);
        for (int i = 0; i < B; i++)
            put_row(f, p, b->out + (size_t)i * (size_t)p->m->out_size);
    }
    return ferror(f) ? EIO : 0;
}

int nn_predict(const nn_model_desc *m, const Options *o) {
    nn_data data = {0};
    nn_buffers b = {0};
    uint64_t epochs = 0;
    char err[ERR_LEN];
    int rc = load(m, o, NN_WANT_TEST | NN_LABELS_OPTIONAL, &b, &data, &epochs);
    if (!rc) {
        Predict p = {m, &data.test, &data.meta, &b, o->h.batch,
                     m->loss == NN_MSE && (data.meta.n_targets > 0 || data.test.targets)};
        if (!o->output)
            rc = put_predictions(stdout, &p) || fflush(stdout) ? nn_error(m, "stdout: write error") : 0;
        else if (nn_write_atomic(o->output, put_predictions, &p, "the predictions", err, sizeof err))
            rc = nn_error(m, "%s", err);
    }
    nn_fit_free(&b);
    nn_data_close(&data);
    return rc;
}
