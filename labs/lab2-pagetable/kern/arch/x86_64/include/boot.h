/*
 * boot.h — the steps of start-up, in the order kmain() takes them.
 */
#ifndef BOOT_H
#define BOOT_H

#include <stdint.h>

/* C entry from boot.S, on the boot stack, in the higher half. */
__attribute__((noreturn)) void kmain(uint64_t start_info_pa);

/* Copy the command line and memory map out of PVH's hvm_start_info. */
void pvh_init(uint64_t start_info_pa);
/* The ACPI RSDP's physical address, from hvm_start_info (0: none). */
extern uint64_t boot_rsdp_pa;

/* Map all RAM at KPM_BASE (the direct map) in the boot page tables. */
void kpm_init(void);

/*
 * Map the device page at pa into the direct map, uncached, and record it
 * so the kernel's HAT page tables map it too.
 */
void *kpm_map_mmio(uint64_t pa);

#define KPM_MMIO_MAX 8
extern uint64_t kpm_mmio[KPM_MMIO_MAX];
extern int kpm_mmio_count;

#endif /* BOOT_H */
