/* startup.c: the bare Cortex-M4 under the firmware driver (main.c), and
 * board.h there: the vector table, a reset handler that enables the FPU,
 * copies .data, zeroes .bss and paints the stack, SysTick as the
 * instruction counter, and the host's files, console and exit status
 * through semihosting (qemu -semihosting-config enable=on,target=native).
 * The addresses come from the linker script (sections.ld). */
#include "board.h"

#include <string.h>

int main(int argc, char **argv);

/* From sections.ld */
extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

#define REG(addr) (*(volatile uint32_t *)(addr))
#define CPACR REG(0xE000ED88)    /* coprocessor access */
#define SYST_CSR REG(0xE000E010) /* SysTick control and status */
#define SYST_RVR REG(0xE000E014) /* reload value */
#define SYST_CVR REG(0xE000E018) /* current value, counting down */
#define SYST_PERIOD (1u << 24)   /* the counter's 24 bits */
#define STACK_PAINT 0x57ac4bedu  /* what the stack holds where it was never used */

// ------------------------------------------------------------ semihosting

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
};

/* One call: operation in r0, its parameter block in r1, the result in r0 */
static uint32_t semihost(uint32_t op, const void *block) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void __attribute__((noreturn)) semihost_exit(int status) {
    const uint32_t block[2] = {ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;)
        ;
}

int board_open(const char *path, int write) {
    const uint32_t block[3] = {(uint32_t)path, write ? 5 : 1 /* "wb", "rb" */, strlen(path)};
    return (int)semihost(SYS_OPEN, block);
}

size_t board_read(int fd, void *buf, size_t n) {
    const uint32_t block[3] = {(uint32_t)fd, (uint32_t)buf, n};
    return n - semihost(SYS_READ, block); /* it returns the bytes not read */
}

int board_write(int fd, const void *buf, size_t n) {
    const uint32_t block[3] = {(uint32_t)fd, (uint32_t)buf, n};
    return semihost(SYS_WRITE, block) != 0;
}

int board_close(int fd) {
    const uint32_t block[1] = {(uint32_t)fd};
    return semihost(SYS_CLOSE, block) != 0;
}

void board_print(const char *s) {
    semihost(SYS_WRITE0, s);
    semihost(SYS_WRITE0, "\n");
}

/* argv from semihosting's command line (qemu's -semihosting-config arg=...), split at spaces */
static int get_args(char **argv, int max) {
    static char cmdline[1024]; /* the paths are the test's temporary files */
    uint32_t block[2] = {(uint32_t)cmdline, sizeof cmdline - 1};
    int argc = 0;
    if (semihost(SYS_GET_CMDLINE, block) != 0)
        return 0;
    for (char *s = cmdline; *s && argc < max;) {
        argv[argc++] = s;
        while (*s && *s != ' ')
            s++;
        while (*s == ' ')
            *s++ = '\0';
    }
    return argc;
}

// ------------------------------------------------------------ SysTick

/* Under qemu -icount shift=0 an instruction takes 1 ns of virtual time,
 * and SysTick, on the processor clock, ticks at the board's frequency in
 * that time (25 MHz on mps2-an386, 168 MHz on netduinoplus2): the ticks
 * count instructions, at a rate calibrate() measures. The interrupt counts
 * the wraps of the 24-bit counter. */
static volatile uint32_t systick_wraps;
static uint64_t calibration_ticks; /* over CALIBRATION_INSNS instructions */
#define CALIBRATION_LOOPS (1u << 20)
#define CALIBRATION_INSNS (2 * (uint64_t)CALIBRATION_LOOPS)

static void systick_handler(void) {
    systick_wraps++;
}

static uint64_t ticks(void) {
    uint32_t wraps, value;
    do { /* again if the interrupt came between the two reads */
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * SYST_PERIOD + (SYST_PERIOD - 1 - value);
}

/* Two instructions a loop, a known count to divide the ticks by */
static void calibrate(void) {
    uint32_t n = CALIBRATION_LOOPS;
    uint64_t start = ticks();
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
    calibration_ticks = ticks() - start;
}

uint64_t board_instructions(void) {
    return calibration_ticks ? ticks() * CALIBRATION_INSNS / calibration_ticks : 0;
}

// ------------------------------------------------------------ reset

/* The bytes of the stack ever used: from its top down to the lowest
 * word that no longer holds the paint */
size_t board_stack_used(void) {
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == STACK_PAINT)
        p++;
    return (size_t)((const char *)__stack_top - (const char *)p);
}

static void __attribute__((noreturn)) reset_handler(void) {
    /* CP10 and CP11, the FPU, full access, before any float instruction */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" : : : "memory");
    memcpy(__data_start, __data_load, (size_t)((char *)__data_end - (char *)__data_start));
    memset(__bss_start, 0, (size_t)((char *)__bss_end - (char *)__bss_start));
    /* Paint from the bottom of the stack up to just below this frame */
    uint32_t *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; p < sp - 16; p++)
        *p = STACK_PAINT;

    SYST_RVR = SYST_PERIOD - 1;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enabled, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) /* until the first reload, which is no wrap */
        ;
    calibrate();

    char *argv[8];
    int argc = get_args(argv, 8);
    int status = main(argc, argv);
    if (*__stack_bottom != STACK_PAINT) {
        board_print("the stack overflowed");
        status = 6;
    }
    semihost_exit(status);
}

/* Any other exception is a bug: say which (IPSR) and stop */
static void __attribute__((noreturn)) unexpected(void) {
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    char msg[] = "unexpected exception 00";
    msg[sizeof msg - 3] = (char)('0' + ipsr / 10 % 10);
    msg[sizeof msg - 2] = (char)('0' + ipsr % 10);
    board_print(msg);
    semihost_exit(5);
}

/* The vector table (sections.ld puts it at the start of the boot memory):
 * the initial stack pointer, then the system exceptions 1 to 15; no
 * external interrupt is enabled */
static const struct {
    uint32_t *stack_top;
    void (*handler[15])(void);
} vectors __attribute__((section(".vectors"), used)) = {
    __stack_top,
    {reset_handler, unexpected, unexpected, unexpected, unexpected, unexpected, unexpected,
     unexpected, unexpected, unexpected, unexpected, unexpected, unexpected, unexpected,
     systick_handler},
};
