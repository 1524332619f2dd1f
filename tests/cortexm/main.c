/* main.c: the firmware of tests/45-cortexm.t, over one file of nnc
 * --emit=deploy, whose prefix it is given: -DNET=fashion_mlp
 * -DMACRO=FASHION_MLP -DNET_H='"net.h"'. It uses nothing but the deploy
 * API (NAME_IN_SIZE, NAME_OUT_SIZE, NAME_ARENA_BYTES, NAME_predict,
 * NAME_classify), so any file that keeps that API drops in. Its arguments
 * (on the device, semihosting's command line):
 *   IMAGES N OUT [REF]
 * It reads N images of NAME_IN_SIZE bytes from IMAGES (the IDX file
 * without its header), feeds each to NAME_predict as the trainer does
 * (pixel / 255), and writes each output to OUT as one line of its floats'
 * bits in hex. With REF (the host build's OUT) it compares line by line.
 * It prints
 *   n=N arena=BYTES stack=BYTES instructions=MEAN min=MIN max=MAX mismatches=M first_mismatch=I
 * (the stack's high-water mark, and the instructions per NAME_predict,
 * where board.h measures them; the comparison with REF) and exits with
 * 0: all ran and equal REF; 1: a file failed; 2: usage; 3: an output
 * differs from REF; 4: classify disagrees with predict. */
#include NET_H

#include "board.h"

#include <string.h>

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define SYM(s) CAT(NET, s)
#define IN_SIZE CAT(MACRO, _IN_SIZE)
#define OUT_SIZE CAT(MACRO, _OUT_SIZE)
#define ARENA_BYTES CAT(MACRO, _ARENA_BYTES)
#define LINE (OUT_SIZE * 9) /* 8 hex digits and a space (the last: a newline) per float */

/* Static, not on the stack: the stack high-water mark is then the
 * deployed code's and this frame's, nothing else */
static float arena[ARENA_BYTES ? (ARENA_BYTES + sizeof(float) - 1) / sizeof(float) : 1];
static unsigned char pixels[IN_SIZE];
static float input[IN_SIZE], output[OUT_SIZE];
static char line[LINE], ref_line[LINE];

static void hex_line(char *s, const float *v) {
    for (int i = 0; i < OUT_SIZE; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        for (int d = 0; d < 8; d++)
            s[9 * i + d] = "0123456789abcdef"[bits >> (28 - 4 * d) & 15];
        s[9 * i + 8] = i + 1 < OUT_SIZE ? ' ' : '\n';
    }
}

/* Appends " key=value" to s at *len; there is no printf on the device */
static void put_field(char *s, size_t *len, const char *key, uint64_t v) {
    char digits[21];
    int n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while (v /= 10);
    if (*len)
        s[(*len)++] = ' ';
    *len += strlen(strcpy(s + *len, key));
    s[(*len)++] = '=';
    while (n)
        s[(*len)++] = digits[--n];
    s[*len] = '\0';
}

static unsigned long parse_count(const char *s) {
    unsigned long n = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        n = n * 10 + (unsigned long)(*s - '0');
    return *s ? 0 : n;
}

static int argmax(const float *v) {
    int best = 0;
    for (int i = 1; i < OUT_SIZE; i++)
        best = v[i] > v[best] ? i : best;
    return best;
}

int main(int argc, char **argv) {
    unsigned long n = argc == 4 || argc == 5 ? parse_count(argv[2]) : 0;
    if (!n) {
        board_print("usage: IMAGES N OUT [REF]");
        return 2;
    }
    int images = board_open(argv[1], 0), out = board_open(argv[3], 1);
    int ref = argc == 5 ? board_open(argv[4], 0) : 0;
    if (images < 0 || out < 0 || ref < 0) {
        board_print("cannot open a file");
        return 1;
    }
    uint64_t total = 0, min = UINT64_MAX, max = 0, mismatches = 0, first_mismatch = 0;
    int status = 0;
    unsigned long done = 0;
    for (; done < n && !status; done++) {
        if (board_read(images, pixels, IN_SIZE) != IN_SIZE) {
            board_print("too few images");
            status = 1;
            break;
        }
        for (int j = 0; j < IN_SIZE; j++)
            input[j] = pixels[j] / 255.0f;
        uint64_t start = board_instructions();
        SYM(_predict)(input, output, arena);
        uint64_t used = board_instructions() - start;
        total += used;
        min = used < min ? used : min;
        max = used > max ? used : max;
        /* once: an inference more is expensive on the device, and
         * tests/44-deploy.t checks classify on every image on the host */
        if (done == 0 && SYM(_classify)(input, arena) != argmax(output))
            status = 4;
        hex_line(line, output);
        if (board_write(out, line, LINE))
            status = 1;
        if (argc == 5 && board_read(ref, ref_line, LINE) != LINE)
            status = 1;
        else if (argc == 5 && memcmp(line, ref_line, LINE) != 0) {
            if (mismatches == 0)
                first_mismatch = done;
            mismatches++;
        }
    }
    /* all three closed, whichever fails */
    if (board_close(out) | board_close(images) | (argc == 5 ? board_close(ref) : 0))
        status = 1;
    static char report[256]; /* the eight fields' names, and 20 digits for each value */
    size_t len = 0;
    put_field(report, &len, "n", done);
    put_field(report, &len, "arena", ARENA_BYTES);
    if (board_stack_used())
        put_field(report, &len, "stack", board_stack_used());
    if (total) {
        put_field(report, &len, "instructions", total / done);
        put_field(report, &len, "min", min);
        put_field(report, &len, "max", max);
    }
    if (argc == 5) {
        put_field(report, &len, "mismatches", mismatches);
        put_field(report, &len, "first_mismatch", first_mismatch);
    }
    board_print(report);
    return status ? status : mismatches ? 3 : 0;
}
