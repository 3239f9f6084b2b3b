/*
 * pvh.c — read what QEMU's PVH boot passed in struct hvm_start_info: the
 * command line and the E820 memory map. Both live in low memory that later
 * layers will hand out, so they are copied into the kernel at once. The
 * initrd (QEMU's -initrd, module 0) stays where it is: memmap records it,
 * and page_init() keeps its pages.
 */
#include <kernel.h>
#include <memmap.h>

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 and later */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

uint64_t boot_rsdp_pa;

/* The boot page tables map physical 0..1 GiB at KERNBASE. */
static const void *boot_pa(uint64_t pa)
{
	if (pa >= (1UL << 30))
		panic("pvh_init: boot data at %#lx is above 1 GiB", pa);
	return (const void *)(KERNBASE + pa);
}

void pvh_init(uint64_t start_info_pa)
{
	const struct hvm_start_info *si = boot_pa(start_info_pa);
	const struct hvm_memmap_entry *e;

	if (si->magic != HVM_START_MAGIC)
		panic("pvh_init: bad start_info magic %#x", si->magic);
	if (si->cmdline_paddr != 0)
		boot_set_cmdline(boot_pa(si->cmdline_paddr));
	boot_rsdp_pa = si->rsdp_paddr;
	if (si->version < 1 || si->memmap_entries == 0)
		panic("pvh_init: no memory map (start_info version %u)",
		      si->version);
	e = boot_pa(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		memmap_add(e[i].addr, e[i].size, e[i].type);
	if (si->nr_modules > 0) {
		const struct hvm_modlist_entry *mod = boot_pa(si->modlist_paddr);

		memmap_set_initrd(mod->paddr, mod->size);
	}
}
