/*
 * curcpu.h (host) — replaces the kernel's curcpu.h, which reads %gs:0 (a
 * fault in a Linux process). Threads stand in for CPUs: each test thread
 * points host_curcpu at its cpus[] entry before it calls kernel code.
 */
#ifndef CURCPU_H
#define CURCPU_H

struct cpu;

extern __thread struct cpu *host_curcpu;

static inline struct cpu *curcpu(void)
{
	return host_curcpu;
}

#endif /* CURCPU_H */
