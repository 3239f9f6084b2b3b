/*
 * hat_x86.c — x86 paging modes as data, and the entry format (pte.h).
 *
 * Pure functions only: the host tests compile this file as it is. The TLB
 * and CR3 live in hat_kern.c.
 */
#include <hat.h>
#include <pte.h>

/*
 * PAE's four PDPT entries hold only P, PWT, PCD and the address: bits 1-2
 * and 5-8 are reserved, and so is bit 63 (no XD at this level).
 */
#define PAE_PDPTE_RSVD (0x1e6ULL | PTE_NX)

const struct pt_mode pt_mode_pae = {
	.name = "PAE",
	.levels = 3,
	.va_bits = 32,
	.sign_extend = false,
	.lvl = {
		{ .shift = 12, .bits = 9, .name = "PT" },
		{ .shift = 21, .bits = 9, .large = true, .name = "PD" },
		{ .shift = 30, .bits = 2, .rsvd = PAE_PDPTE_RSVD, .name = "PDPT" },
	},
};

const struct pt_mode pt_mode_4level = {
	.name = "4-level",
	.levels = 4,
	.va_bits = 48,
	.sign_extend = true,
	.lvl = {
		{ .shift = 12, .bits = 9, .name = "PT" },
		{ .shift = 21, .bits = 9, .large = true, .name = "PD" },
		{ .shift = 30, .bits = 9, .large = true, .name = "PDPT" },
		{ .shift = 39, .bits = 9, .name = "PML4" },
	},
};

const struct pt_mode pt_mode_5level = {
	.name = "5-level",
	.levels = 5,
	.va_bits = 57,
	.sign_extend = true,
	.lvl = {
		{ .shift = 12, .bits = 9, .name = "PT" },
		{ .shift = 21, .bits = 9, .large = true, .name = "PD" },
		{ .shift = 30, .bits = 9, .large = true, .name = "PDPT" },
		{ .shift = 39, .bits = 9, .name = "PML4" },
		{ .shift = 48, .bits = 9, .name = "PML5" },
	},
};

uint64_t pte_table(const struct pt_mode *m, int level, uint64_t pa)
{
	uint64_t grant = PTE_W | PTE_U;

	return (pa & PTE_ADDR) | PTE_P | (grant & ~m->lvl[level].rsvd);
}

uint64_t pte_leaf(const struct pt_mode *m, int level, uint64_t pa,
		  unsigned prot, unsigned flags)
{
	uint64_t pte = (pa & PTE_ADDR) | PTE_P;

	(void)m;
	if (prot & PROT_WRITE)
		pte |= PTE_W;
	if (prot & PROT_USER)
		pte |= PTE_U;
	if (!(prot & PROT_EXEC))
		pte |= PTE_NX;
	if (level > 0)
		pte |= PTE_PS;
	if (flags & HAT_NOCACHE)
		pte |= PTE_PCD | PTE_PWT;
	return pte;
}

uint64_t pte_addr(uint64_t pte, int level, const struct pt_mode *m)
{
	uint64_t mask = PTE_ADDR;

	if (level > 0 && (pte & PTE_PS)) /* bit 12 is PAT in a large leaf */
		mask &= ~((1ULL << m->lvl[level].shift) - 1);
	return pte & mask;
}

unsigned pte_prot(uint64_t pte)
{
	unsigned prot = PROT_READ;

	if (pte & PTE_W)
		prot |= PROT_WRITE;
	if (pte & PTE_U)
		prot |= PROT_USER;
	if (!(pte & PTE_NX))
		prot |= PROT_EXEC;
	return prot;
}

unsigned pte_flags(uint64_t pte)
{
	return (pte & PTE_PCD) ? HAT_NOCACHE : 0;
}
