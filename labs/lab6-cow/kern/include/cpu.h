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

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

/* Load the kernel's GDT and TSS on the boot CPU. */
void cpu_init(void);

/* The boot CPU's TSS (rsp0 and the IST stacks live here). */
extern struct tss64 boot_tss;

/* The boot stack, set up by boot.S; backtraces stop at its bounds. */
extern char boot_stack_bottom[], boot_stack_top[];

#endif /* CPU_H */
