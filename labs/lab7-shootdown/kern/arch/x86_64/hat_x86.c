/*
 * hat_x86.c — x86 paging modes as data, and the HAT's view of an entry:
 * a mode, a level and PROT_* turned into pte.h's entries, and back.
 *
 * Pure functions only: the host tests compile this file as it is. The TLB
 * and CR3 live in hat_kern.c (and pte.h's hat_flush_local()).
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

/* Is level one of mode m's levels? */
static inline bool level_ok(const struct pt_mode *m, int level)
{
	return level >= 0 && level < m->levels;
}

/*
 * An entry at level of mode m that points to the table at pa: pte.h's
 * table entry, less the bits the level reserves (PAE's PDPT). Panics on a
 * level m does not have or a pa that is not page-aligned.
 */
uint64_t pte_table(const struct pt_mode *m, int level, uint64_t pa)
{
	ASSERT(level_ok(m, level) && level > 0);
	ASSERT((pa & (PAGESIZE - 1)) == 0);
	return pte_mktable(pa) & ~m->lvl[level].rsvd;
}

/*
 * A leaf at level of mode m mapping pa with prot (PROT_*) and flags
 * (HAT_*); above level 0 a large page, so the level must allow one and
 * pa must be aligned to its size. Panics otherwise, and on a pa past the
 * 52 bits an entry holds.
 */
uint64_t pte_leaf(const struct pt_mode *m, int level, uint64_t pa,
		  unsigned prot, unsigned flags)
{
	uint64_t bits = 0;

	ASSERT(level_ok(m, level) && (level == 0 || m->lvl[level].large));
	ASSERT((pa & ((1ULL << m->lvl[level].shift) - 1)) == 0);
	ASSERT((prot & ~PROT_ALL) == 0 && (flags & ~HAT_NOCACHE) == 0);
	if (prot & PROT_WRITE)
		bits |= PTE_W;
	if (prot & PROT_USER)
		bits |= PTE_U;
	if (!(prot & PROT_EXEC))
		bits |= PTE_NX;
	if (flags & HAT_NOCACHE)
		bits |= PTE_PCD | PTE_PWT;
	return pte_mkleaf(pa, bits, level > 0);
}

/*
 * The physical address a present entry at level of mode m points to: a
 * table, or the first byte of the page a leaf maps.
 */
uint64_t pte_addr(uint64_t pte, int level, const struct pt_mode *m)
{
	uint64_t mask = PTE_ADDR;

	ASSERT(level_ok(m, level));
	if (level > 0 && (pte & PTE_PS)) /* bit 12 is PAT in a large leaf */
		mask &= ~((1ULL << m->lvl[level].shift) - 1);
	return pte & mask;
}

/* The protection (PROT_*) a present leaf grants; all are readable. */
unsigned pte_prot(uint64_t pte)
{
	unsigned prot = PROT_READ;

	ASSERT(pte_present(pte));
	if (pte & PTE_W)
		prot |= PROT_WRITE;
	if (pte & PTE_U)
		prot |= PROT_USER;
	if (!(pte & PTE_NX))
		prot |= PROT_EXEC;
	return prot;
}

/* The HAT_* flags a present leaf was made with (pte_leaf's flags). */
unsigned pte_flags(uint64_t pte)
{
	ASSERT(pte_present(pte));
	return (pte & PTE_PCD) ? HAT_NOCACHE : 0;
}
