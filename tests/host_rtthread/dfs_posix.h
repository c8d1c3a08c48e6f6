/* RT-Thread 4.x code includes <dfs_posix.h> for open/read/close/stat; with DFS_USING_POSIX
 * on 5.x and in this host port those are the C library's own declarations. */
#ifndef DFS_POSIX_H__
#define DFS_POSIX_H__
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif
