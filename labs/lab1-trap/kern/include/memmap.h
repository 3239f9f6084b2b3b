/*
 * memmap.h — the physical memory map the boot loader handed us.
 *
 * QEMU's PVH boot passes an E820-style table: ranges of physical addresses
 * with a type. boot copies it here, sorted by address, before anything else
 * can overwrite it. Later layers (the page_t array, the buddy allocator)
 * build on this table.
 */
#ifndef MEMMAP_H
#define MEMMAP_H

#include <stdbool.h>
#include <stdint.h>

enum memtype {
	MEM_RAM = 1,
	MEM_RESERVED = 2,
	MEM_ACPI = 3,
	MEM_NVS = 4,
	MEM_UNUSABLE = 5,
};

struct memseg {
	uint64_t base;
	uint64_t len;
	uint32_t type;
};

#define MEMMAP_MAX 64

extern struct memseg memmap[MEMMAP_MAX];
extern int memmap_count;

/* Insert a range, keeping the table sorted by base; drops it if full. */
void memmap_add(uint64_t base, uint64_t len, uint32_t type);
/* Print the table, one range per line. */
void memmap_print(void);
/* Bytes of RAM in [lo, hi). */
uint64_t memmap_ram_between(uint64_t lo, uint64_t hi);
/* One past the highest RAM address. */
uint64_t memmap_ram_end(void);
/* The name of a memory type, for printing. */
const char *memtype_name(uint32_t type);

/*
 * The initrd (from lab 5, when the build packed the user programs): where
 * the boot loader put it, in RAM. Its pages are boot data: page_init()
 * never hands them out. Both 0 when there is none.
 */
extern uint64_t initrd_pa, initrd_size;
/* Called by the arch boot code; panics unless the range is whole RAM. */
void memmap_set_initrd(uint64_t pa, uint64_t size);
/* Is pa inside the initrd? */
bool memmap_in_initrd(uint64_t pa);

/* The kernel command line, copied from the boot loader (never NULL). */
const char *boot_cmdline(void);
/* Called by the arch boot code to record the command line. */
void boot_set_cmdline(const char *s);

#endif /* MEMMAP_H */
