/* Host-only additions of the RT-Thread host port, for msh.c. */
#ifndef RT_THREAD_HOST_H__
#define RT_THREAD_HOST_H__

#define RT_HOST_MAX_THREADS 16

/* Waits for every thread started so far, then releases their stacks and control blocks.
 * Returns how many ended through rt_thread_delete/detach/suspend of themselves (what the
 * library's panic handler does) instead of returning from their entry. */
int rt_host_join_threads(void);

/* Heap blocks currently allocated (0 after a command that frees everything). */
unsigned long rt_host_heap_live_blocks(void);

#endif
