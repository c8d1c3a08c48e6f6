/* A tiny msh for the RT-Thread host port: `msh CMD [ARGS...]` prints the prompt and the
 * command line like the device's shell, runs the command registered with MSH_CMD_EXPORT,
 * waits for the threads it started, and exits.
 *
 * Exit status: the command's return value (0 or 1), 127 for an unknown command, 3 when a
 * thread ended by deleting itself (the library's panic handler), 4 when heap blocks are
 * left allocated after everything finished (a leak). `msh` alone lists the commands. */
#include <stdio.h>
#include <string.h>

#include "rtthread.h"
#include "rtthread_host.h"

/* The linker collects every MSH_CMD_EXPORT descriptor into the FSymTab section and defines
 * these two symbols around it, as finsh's table in a firmware. */
extern const struct finsh_syscall __start_FSymTab[];
extern const struct finsh_syscall __stop_FSymTab[];

typedef long (*msh_cmd)(int argc, char **argv);

int main(int argc, char **argv) {
    const struct finsh_syscall *cmd;
    if (argc < 2) {
        printf("RT-Thread shell commands:\n");
        for (cmd = __start_FSymTab; cmd < __stop_FSymTab; cmd++) printf("%-16s - %s\n", cmd->name, cmd->desc);
        return 0;
    }
    printf("msh />");
    for (int a = 1; a < argc; a++) printf("%s%s", a > 1 ? " " : "", argv[a]);
    printf("\n");
    fflush(stdout);
    for (cmd = __start_FSymTab; cmd < __stop_FSymTab; cmd++) {
        if (strcmp(cmd->name, argv[1]) != 0) continue;
        long rc = ((msh_cmd)(void (*)(void))cmd->func)(argc - 1, argv + 1);
        int deleted = rt_host_join_threads();
        unsigned long live = rt_host_heap_live_blocks();
        fflush(stdout);
        if (deleted) return 3;
        if (live) {
            printf("[host] %lu heap blocks still allocated\n", live);
            return 4;
        }
        return rc == 0 ? 0 : 1;
    }
    printf("%s: command not found.\n", argv[1]);
    return 127;
}
