/*
 * smp.h — more than one CPU (lab 4 on): which CPUs exist (ACPI's MADT),
 * starting the application processors (APs), raw IPIs, and a way for
 * tests to run code on every CPU at once.
 *
 * The boot CPU is cpus[0]. The others start with INIT-SIPI-SIPI in a
 * 16-bit trampoline copied below 1 MiB (trampoline.S), climb to long mode
 * on the boot page tables, switch to the kernel's, and wait in hlt for
 * IPIs. Per-CPU data: cpu.h.
 */
#ifndef SMP_H
#define SMP_H

#include <cpu.h>
#include <stdint.h>

#define T_SMP_WORK 0xf1 /* the IPI vector of ktest_on_each_cpu() */

#define WORK_IDLE 0
#define WORK_POSTED 1
#define WORK_DONE 2

/* Read the MADT through the RSDP at rsdp_pa: fill cpus[] and ncpus. */
void acpi_init(uint64_t rsdp_pa);
/* Start every AP the MADT lists and wait until each is online. */
void smp_start_aps(void);
/* CPUs that have come online, the boot CPU included. */
int smp_online(void);

/* Send a fixed IPI with vector to the CPU whose local APIC ID is apicid. */
void ipi_send(uint32_t apicid, int vector);

/*
 * Tests only: run fn(arg) on every online CPU at once (this one too) and
 * return when all are done. An AP runs it from an IPI handler, interrupts
 * off. It is no cross-call service: nothing outside the tests uses it, and
 * it knows nothing of TLBs (that is lab 7).
 */
void ktest_on_each_cpu(void (*fn)(void *), void *arg);

#endif /* SMP_H */
