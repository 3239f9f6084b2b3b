/*
 * memmap.c — the sorted copy of the boot memory map, and the command line.
 */
#include <kernel.h>
#include <kstring.h>
#include <memmap.h>

#define CMDLINE_MAX 4096

struct memseg memmap[MEMMAP_MAX];
int memmap_count;
uint64_t initrd_pa, initrd_size;
static char cmdline[CMDLINE_MAX];

void memmap_add(uint64_t base, uint64_t len, uint32_t type)
{
	int i;

	if (len == 0 || memmap_count == MEMMAP_MAX)
		return;
	for (i = memmap_count; i > 0 && memmap[i - 1].base > base; i--)
		memmap[i] = memmap[i - 1];
	memmap[i] = (struct memseg){ base, len, type };
	memmap_count++;
}

const char *memtype_name(uint32_t type)
{
	switch (type) {
	case MEM_RAM:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI:
		return "ACPI data";
	case MEM_NVS:
		return "ACPI NVS";
	case MEM_UNUSABLE:
		return "unusable";
	default:
		return "unknown";
	}
}

void memmap_print(void)
{
	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];

		kprintf("memmap: [0x%012lx-0x%012lx] %s\n", m->base,
			m->base + m->len - 1, memtype_name(m->type));
	}
	kprintf("memmap: %lu MiB usable\n",
		memmap_ram_between(0, UINT64_MAX) >> 20);
	if (initrd_size != 0)
		kprintf("memmap: initrd [0x%012lx-0x%012lx], %lu KiB\n",
			initrd_pa, initrd_pa + initrd_size - 1,
			initrd_size >> 10);
}

uint64_t memmap_ram_between(uint64_t lo, uint64_t hi)
{
	uint64_t total = 0;

	for (int i = 0; i < memmap_count; i++) {
		const struct memseg *m = &memmap[i];
		uint64_t b = MAX(m->base, lo), e = MIN(m->base + m->len, hi);

		if (m->type == MEM_RAM && b < e)
			total += e - b;
	}
	return total;
}

uint64_t memmap_ram_end(void)
{
	uint64_t end = 0;

	for (int i = 0; i < memmap_count; i++)
		if (memmap[i].type == MEM_RAM)
			end = MAX(end, memmap[i].base + memmap[i].len);
	return end;
}

void memmap_set_initrd(uint64_t pa, uint64_t size)
{
	ASSERT(initrd_size == 0);
	if (size == 0)
		return;
	if (pa + size < pa || memmap_ram_between(pa, pa + size) != size)
		panic("memmap_set_initrd: [%#lx, %#lx) is not all RAM", pa,
		      pa + size);
	initrd_pa = pa;
	initrd_size = size;
}

bool memmap_in_initrd(uint64_t pa)
{
	return pa - initrd_pa < initrd_size;
}

const char *boot_cmdline(void)
{
	return cmdline;
}

void boot_set_cmdline(const char *s)
{
	strlcpy(cmdline, s, sizeof(cmdline));
}
