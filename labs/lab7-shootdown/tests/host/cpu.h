/*
 * cpu.h (host) — per-CPU data as the host tests provide it. It takes the
 * place of kern/include/cpu.h (this directory is first on the include
 * path), which it copies but for curcpu(): the kernel reads %gs:0, which
 * faults in a Linux process. Here each thread that stands in for a CPU
 * points host_curcpu at its cpus[] entry before it calls kernel code.
 *
 * Keep the declarations below in step with kern/include/cpu.h: kmem.h
 * sizes kmem_cache_t by NCPU, and the kernel files built here see only
 * this copy.
 */
#ifndef CPU_H
#define CPU_H

#include <stdint.h>

#define KCS_SEL 0x08
#define KDS_SEL 0x10
#define UDS_SEL (0x20 | 3)
#define UCS_SEL (0x28 | 3)
#define TSS_SEL 0x30

#define KSTACK_SIZE (16 * 1024)
#define IST_STACK_SIZE 4096
#define NCPU 16

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct cpu {
	struct cpu *cpu_self;
	int cpu_id;
	uint32_t cpu_apicid;
	volatile int cpu_online;
	struct tss64 cpu_tss;
	uint64_t cpu_gdt[8] __attribute__((aligned(16)));
	void (*cpu_work)(void *arg);
	void *cpu_work_arg;
	volatile int cpu_work_state;
};

extern struct cpu cpus[NCPU];
extern int ncpus;

/* The CPU this thread plays; the test defines it and sets it per thread. */
extern __thread struct cpu *host_curcpu;

static inline struct cpu *curcpu(void)
{
	return host_curcpu;
}

void cpu_init(void);
void cpu_init_ap(struct cpu *c);

#endif /* CPU_H */
