/*
 * cpu.h — per-CPU descriptor tables: the GDT and the TSS (their storage
 * is struct machcpu, machcpu.h; struct cpu is in cpuvar.h).
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

#include <cpuvar.h>

/* Set up and load the boot CPU's GDT, TSS and %gs (cpus[0]). */
void cpu_init(void);
/* The same for another CPU, on that CPU (lab 4). */
void cpu_init_ap(struct cpu *c);

#endif /* CPU_H */
