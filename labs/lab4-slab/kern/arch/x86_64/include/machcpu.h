/*
 * machcpu.h — the x86-64 part of a CPU's own data (struct cpu's cpu_m, see
 * cpuvar.h): its local APIC, its TSS and its GDT. illumos splits struct cpu
 * the same way (cpu_m is a struct machcpu there too).
 */
#ifndef MACHCPU_H
#define MACHCPU_H

#include <stdint.h>

#define KSTACK_SIZE (16 * 1024)
#define IST_STACK_SIZE 4096

/* struct cpu's fields that syscall_entry reads through %gs (cpuvar.h). */
#define CPU_KSTACK 8
#define CPU_USCRATCH 16

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
 * Written once by the CPU itself while it starts (cpu_init_ap), read-only
 * afterwards, so no lock: mcpu_apicid by acpi_init() before the CPU starts.
 */
struct machcpu {
	uint32_t mcpu_apicid;   /* its local APIC's ID */
	struct tss64 mcpu_tss;  /* rsp0 and the IST stacks */
	uint64_t mcpu_gdt[8] __attribute__((aligned(16)));
};

#endif /* MACHCPU_H */
