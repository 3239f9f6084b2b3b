/*
 * smp.h — the CPUs: which exist (from ACPI's MADT), their per-CPU data,
 * starting the application processors (APs), and the raw IPIs later labs
 * build on (lab 4 on).
 *
 * Each CPU has a struct cpu; %gs points at it (its first word points at
 * itself), so curcpu() is one load. The boot CPU is cpus[0]; the others
 * start with INIT-SIPI-SIPI in a 16-bit trampoline copied below 1 MiB.
 */
#ifndef SMP_H
#define SMP_H

#include <cpu.h>
#include <stdbool.h>
#include <stdint.h>

#define NCPU 16

struct cpu {
	struct cpu *cpu_self;      /* %gs:0 */
	int cpu_id;                /* index in cpus[] */
	uint32_t cpu_apicid;       /* the local APIC's ID */
	volatile bool cpu_online;  /* set by the CPU itself once running */
	struct tss64 cpu_tss;
	uint64_t cpu_gdt[8] __attribute__((aligned(16)));
	/* ktest_on_each_cpu(): the work this CPU is to run, and its state. */
	void (*cpu_work)(void *arg);
	void *cpu_work_arg;
	volatile int cpu_work_state; /* WORK_IDLE, WORK_POSTED, WORK_DONE */
};

#define WORK_IDLE 0
#define WORK_POSTED 1
#define WORK_DONE 2

extern struct cpu cpus[NCPU];
extern int ncpus; /* CPUs the MADT lists (enabled ones) */

static inline struct cpu *curcpu(void)
{
	struct cpu *c;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/* Read the MADT: fill cpus[].cpu_apicid and ncpus. */
void acpi_init(uint64_t rsdp_pa);
/* Start every AP and wait until each is online. */
void smp_start_aps(void);
/* CPUs that have come online (the boot CPU included). */
int smp_online(void);

/* Send a fixed IPI with vector to the CPU whose APIC ID is apicid. */
void ipi_send(uint32_t apicid, int vector);
/* The same IPI to every CPU but this one. */
void ipi_send_others(int vector);

/*
 * Tests only: run fn(arg) on every online CPU at once (this one too), and
 * return when all are done. Each AP runs it from an IPI handler with
 * interrupts off. Not a cross-call service: nothing outside the tests
 * uses it, and it knows nothing of TLBs (lab 7).
 */
void ktest_on_each_cpu(void (*fn)(void *), void *arg);

#endif /* SMP_H */
