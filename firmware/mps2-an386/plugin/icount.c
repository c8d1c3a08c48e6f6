/*
 * icount: a QEMU TCG plugin that counts guest instructions exactly between two markers.
 *
 * QEMU (Debian's 7.2 among them) can load plugins but Debian ships no plugin header, so the
 * few declarations of QEMU's public plugin API that this file needs are written out below
 * from the API's documented signatures (API version 1, as in QEMU 7.x).
 *
 * Arguments: begin=ADDR,end=ADDR (addresses of the firmware's icount_begin/icount_end; the
 * Thumb bit may be set), out=FILE (default: standard error).
 * For every executed instruction a counter is incremented (inline, so it is exact even when
 * a translation block is left early). When the first instruction of `begin` executes, the
 * count is remembered; when the first instruction of `end` executes, the instructions since
 * then are written as a line "icount N". Optional mark=ADDR (icount_mark): each time it runs,
 * the running count is written as "mark N" (per-node profiles take the differences). At exit
 * "icount-total N" is written.
 * Optional profile=FILE: also counts every instruction address below 1 MiB (the firmware's
 * code) and writes "ADDR COUNT" lines for the executed ones at exit, for per-function
 * profiles (tools/cross/pc_profile.py maps them to symbols).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- QEMU plugin API declarations (public API, version 1) ---- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct qemu_info_t qemu_info_t; /* only passed through */
enum qemu_plugin_cb_flags
{
    QEMU_PLUGIN_CB_NO_REGS,
    QEMU_PLUGIN_CB_R_REGS,
    QEMU_PLUGIN_CB_RW_REGS,
};
enum qemu_plugin_op
{
    QEMU_PLUGIN_INLINE_ADD_U64,
};
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
                                                enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
                                            qemu_plugin_vcpu_udata_cb_t cb,
                                            enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb,
                                    void *userdata);

#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;
EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                               char **argv);
/* ---- end of API declarations ---- */

static uint64_t executed; /* single vCPU (mps2-an386 has one core) */
static uint64_t begin_count;
static uint64_t begin_addr = UINT64_MAX, end_addr = UINT64_MAX, mark_addr = UINT64_MAX;
static FILE *out;
#define PROFILE_SPAN (1u << 20) /* bytes of address space profiled (Thumb: 2-byte steps) */
static uint64_t *profile;      /* executions per halfword address, when profiling */
static FILE *profile_out;

static void on_begin(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    begin_count = executed;
}

static void on_end(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    fprintf(out, "icount %" PRIu64 "\n", executed - begin_count);
    fflush(out);
}

/* A mark prints the running count: differences of consecutive marks are per-node counts. */
static void on_mark(unsigned int vcpu, void *udata)
{
    (void)vcpu;
    (void)udata;
    fprintf(out, "mark %" PRIu64 "\n", executed);
    fflush(out);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    size_t n = qemu_plugin_tb_n_insns(tb);
    (void)id;
    for (size_t i = 0; i < n; i++)
    {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        uint64_t addr = qemu_plugin_insn_vaddr(insn);
        /* Markers first, so they see the count before this instruction is added. */
        if (addr == begin_addr)
        {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_begin, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (addr == end_addr)
        {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_end, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        if (addr == mark_addr)
        {
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
        }
        qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64, &executed, 1);
        if (profile != NULL && addr < PROFILE_SPAN)
        {
            qemu_plugin_register_vcpu_insn_exec_inline(insn, QEMU_PLUGIN_INLINE_ADD_U64,
                                                       &profile[addr / 2], 1);
        }
    }
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    fprintf(out, "icount-total %" PRIu64 "\n", executed);
    fflush(out);
    if (profile != NULL)
    {
        for (uint64_t i = 0; i < PROFILE_SPAN / 2; i++)
        {
            if (profile[i] != 0)
            {
                fprintf(profile_out, "%" PRIx64 " %" PRIu64 "\n", i * 2, profile[i]);
            }
        }
        fclose(profile_out);
    }
}

static bool parse_addr(const char *arg, const char *key, uint64_t *value)
{
    size_t n = strlen(key);
    char *end;
    if (strncmp(arg, key, n) != 0 || arg[n] != '=')
    {
        return false;
    }
    *value = strtoull(arg + n + 1, &end, 0) & ~(uint64_t)1; /* drop the Thumb bit */
    return *end == '\0';
}

int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    out = stderr;
    for (int i = 0; i < argc; i++)
    {
        if (parse_addr(argv[i], "begin", &begin_addr) || parse_addr(argv[i], "end", &end_addr) ||
            parse_addr(argv[i], "mark", &mark_addr))
        {
            continue;
        }
        if (strncmp(argv[i], "out=", 4) == 0)
        {
            out = fopen(argv[i] + 4, "w");
            if (out == NULL)
            {
                perror("icount plugin: out");
                return -1;
            }
            continue;
        }
        if (strncmp(argv[i], "profile=", 8) == 0)
        {
            profile_out = fopen(argv[i] + 8, "w");
            profile = calloc(PROFILE_SPAN / 2, sizeof *profile);
            if (profile_out == NULL || profile == NULL)
            {
                perror("icount plugin: profile");
                return -1;
            }
            continue;
        }
        fprintf(stderr, "icount plugin: unknown argument '%s'\n", argv[i]);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
    return 0;
}
