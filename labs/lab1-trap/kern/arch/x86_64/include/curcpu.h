/*
 * curcpu.h — the running CPU's struct cpu, through %gs (see cpu.h).
 *
 * The host tests shadow this header (tests/host/curcpu.h) with one that
 * reads a thread-local pointer: threads stand in for CPUs there.
 */
#ifndef CURCPU_H
#define CURCPU_H

struct cpu;

static inline struct cpu *curcpu(void)
{
	struct cpu *c;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

#endif /* CURCPU_H */
