/*
 * hostcpu.c — the CPUs kernel code sees on the host: cpus[] and curcpu().
 *
 * Threads play CPUs (curcpu.h here): each thread's host_curcpu points at
 * its cpus[] entry. A thread that never chooses is CPU 0, so a
 * single-threaded test needs no set-up to take the kernel's spinlocks.
 */
#include <cpuvar.h>

struct cpu cpus[NCPU] = { [0] = { .cpu_self = &cpus[0], .cpu_id = 0 } };
int ncpus = 1;
__thread struct cpu *host_curcpu = &cpus[0];
