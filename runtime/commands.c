/* commands.c: what train, eval and predict share (see commands.h). */
#include "commands.h"

/* ---------------------------------------------------------------- data */

int nn_open_data(const nn_model_desc *m, const Options *o, unsigned want, const nn_checkpoint *c,
                 nn_data *d) {
    char err[ERR_LEN];
    nn_data_meta saved = {0};
    nn_data_spec spec = {m->in_h, m->in_w, m->in_c, m->out_size, o->limit};
    /* No meta section: a version 2 checkpoint, or a run whose data had
     * nothing to keep (IDX files, integer labels, no --standardize), so the
     * data derives the same meta again */
    int has_meta = c && c->run.meta_len;
    if (has_meta && nn_data_meta_decode(&saved, c->run.meta, c->run.meta_len, err, sizeof err))
        return nn_error(m, "%s: %s", o->load ? o->load : o->resume, err);
    /* nn_data_open copies what it is given into d->meta */
    int rc = nn_data_open(d, &o->data, &spec, want, has_meta ? &saved : NULL, err, sizeof err);
    nn_data_meta_free(&saved);
    return rc ? nn_error(m, "%s", err) : 0;
}

/* Nothing a reader could not derive again from the same data */
static int meta_is_empty(const nn_data_meta *meta) {
    return !meta->n_classes && !meta->label_name && !meta->n_targets && !meta->n_features;
}

int nn_record_meta(const nn_model_desc *m, nn_run *run, const nn_data_meta *meta,
                   unsigned char **bytes) {
    size_t len = 0;
    *bytes = NULL;
    if (!meta_is_empty(meta) && nn_data_meta_encode(meta, bytes, &len))
        return nn_error(m, "out of memory for the data meta of the checkpoint");
    run->meta = *bytes;
    run->meta_len = len;
    return 0;
}

/* ---------------------------------------------------------------- metrics as text */

Task nn_task_of(const nn_dataset *d) {
    return d->targets ? REGRESSION : CLASSES;
}

/* The metrics after "loss": their names, and their values in m */
static int metric_fields(Task task, const nn_metrics *m, const char **names, double *v) {
    if (task == CLASSES) {
        names[0] = "accuracy", v[0] = m->accuracy;
        return 1;
    }
    names[0] = "mae", v[0] = m->mae;
    names[1] = "r2", v[1] = m->r2;
    return task == REGRESSION ? 2 : 1;
}

void nn_print_metrics(Task task, const nn_metrics *m) {
    const char *names[2];
    double v[2];
    int n = metric_fields(task, m, names, v);
    printf("loss=%.4f", m->loss);
    for (int i = 0; i < n; i++)
        printf(" %s=%.4f", names[i], v[i]);
}

void nn_log_metrics(FILE *log, Task task, const char *prefix, const nn_metrics *m) {
    const nn_metrics none = {0};
    const char *names[2];
    double v[2];
    int n = metric_fields(task, m ? m : &none, names, v);
    if (prefix) {
        fprintf(log, "%s_loss,", prefix);
        for (int i = 0; i < n; i++)
            fprintf(log, "%s_%s,", prefix, names[i]);
    } else if (m) {
        fprintf(log, "%.6f,", m->loss);
        for (int i = 0; i < n; i++)
            fprintf(log, "%.6f,", v[i]);
    } else {
        for (int i = 0; i <= n; i++)
            fputc(',', log);
    }
}

void nn_print_test_line(Task task, const nn_metrics *m) {
    printf("test: ");
    nn_print_metrics(task, m);
    printf("\n");
}

