/*
 * cpu.h — per-CPU descriptor tables: the GDT and the TSS.
 *
 * Selector layout (the user selectors follow the order SYSRET expects):
 *
 *	0x00 null
 *	0x08 kernel code (64-bit)	KCS_SEL
 *	0x10 kernel data		KDS_SEL
 *	0x18 user code (32-bit, unused)
 *	0x20 user data			UDS_SEL (RPL 3: 0x23)
 *	0x28 user code (64-bit)		UCS_SEL (RPL 3: 0x2b)
 *	0x30 TSS (a 16-byte descriptor)	TSS_SEL
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

/*
 * Per-CPU data. %gs points at the running CPU's struct cpu, whose first
 * word points at itself, so curcpu() is one load. The boot CPU is
 * cpus[0]; lab 4 starts the others (smp.h).
 */
struct cpu {
	struct cpu *cpu_self;      /* %gs:0 */
	int cpu_id;                /* index in cpus[] */
	uint32_t cpu_apicid;       /* its local APIC's ID */
	volatile int cpu_online;   /* set by the CPU itself once it runs */
	struct tss64 cpu_tss;      /* rsp0 and the IST stacks */
	uint64_t cpu_gdt[8] __attribute__((aligned(16)));
	/* ktest_on_each_cpu() (lab 4): work for this CPU, and its state. */
	void (*cpu_work)(void *arg);
	void *cpu_work_arg;
	volatile int cpu_work_state;
};

extern struct cpu cpus[NCPU];
extern int ncpus; /* CPUs known (1 until lab 4 reads the MADT) */

/* curcpu(): the running CPU's struct cpu (a header of its own, so that
 * the host tests can put theirs first on the include path). */
#include <curcpu.h>

/* Set up and load the boot CPU's GDT, TSS and %gs (cpus[0]). */
void cpu_init(void);
/* The same for another CPU, on that CPU (lab 4). */
void cpu_init_ap(struct cpu *c);

#endif /* CPU_H */
