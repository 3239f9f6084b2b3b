/*
 * pte.h — what a page-table entry looks like on x86, and how a changed one
 * leaves the TLB.
 *
 * PAE, 4-level and 5-level paging share one 64-bit entry format:
 *
 *   63  62..52  51 ............ 12  11..9  8  7  6  5  4   3   2   1  0
 *  +--+-------+--------------------+-----+--+--+--+--+---+---+---+---+--+
 *  |XD| avail |  physical address  |avail| G|PS| D| A|PCD|PWT|U/S|R/W| P|
 *  +--+-------+--------------------+-----+--+--+--+--+---+---+---+---+--+
 *
 * PS marks a large page at a level that allows one. The CPU ANDs the
 * permissions of every level, so table entries grant everything (R/W, U/S,
 * executable) and the leaf decides. PAE's PDPT entries are the exception:
 * R/W, U/S and XD are reserved there and must stay 0.
 *
 * Every entry the kernel writes at run time is built here, by
 * pte_mktable() or pte_mkleaf() (boot.S assembles its few static ones):
 * the boot tables' entries (kpm.c, testmap.c, from lab 1) directly, the
 * HAT's (lab 2 on) through pte_table() and pte_leaf() in hat_x86.c, which
 * turn a paging mode and PROT_* into these bits.
 */
#ifndef PTE_H
#define PTE_H

#include <kenv.h> /* PAGESIZE, ASSERT */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <x86.h>  /* the PTE_* bits, invlpg */

/* The bits a leaf may choose: what it allows, and how it is cached. */
#define PTE_LEAF_BITS (PTE_W | PTE_U | PTE_PWT | PTE_PCD | PTE_NX)

/*
 * An entry pointing to the table at pa (page-aligned), granting write and
 * user access: the leaves below decide. Panics on a misaligned pa.
 */
static inline uint64_t pte_mktable(uint64_t pa)
{
	ASSERT((pa & ~PTE_ADDR) == 0);
	return pa | PTE_P | PTE_W | PTE_U;
}

/*
 * A leaf mapping the page at pa with bits (a subset of PTE_LEAF_BITS); a
 * large page (PS) if large, whose pa the caller has aligned to its size.
 * Panics on a pa outside PTE_ADDR or bits outside PTE_LEAF_BITS.
 */
static inline uint64_t pte_mkleaf(uint64_t pa, uint64_t bits, bool large)
{
	ASSERT((pa & ~PTE_ADDR) == 0 && (bits & ~PTE_LEAF_BITS) == 0);
	return pa | PTE_P | bits | (large ? PTE_PS : 0);
}

static inline bool pte_present(uint64_t pte)
{
	return (pte & PTE_P) != 0;
}

/* Does this present entry at level map a page (rather than a table)? */
static inline bool pte_is_leaf(int level, uint64_t pte)
{
	return level == 0 || (pte & PTE_PS) != 0;
}

/*
 * Past this many pages, one CR3 reload is cheaper than one invlpg each:
 * an invlpg costs about 100 ns, so 33 of them cost about what the refills
 * after a full flush do (Linux's tlb_single_page_flush_ceiling is 33).
 */
#define FLUSH_CEILING 33

/*
 * Make this CPU's TLB forget [va, va + len) after the entries that mapped
 * it changed: one invlpg per 4 KiB page (one anywhere in a large page
 * drops all of it), or a CR3 reload past FLUSH_CEILING pages. Only this
 * CPU: other CPUs are lab 7's business. va and len are page-aligned.
 */
static inline void hat_flush_local(uintptr_t va, size_t len)
{
	ASSERT(((va | len) & (PAGESIZE - 1)) == 0);
	if (len / PAGESIZE > FLUSH_CEILING) {
		write_cr3(read_cr3());
		return;
	}
	for (size_t off = 0; off < len; off += PAGESIZE)
		invlpg(va + off);
}

/*
 * The HAT's side (hat_x86.c, lab 2 on): entries for a level of a paging
 * mode (hat.h's struct pt_mode), from and to PROT_* and HAT_*.
 */
struct pt_mode;

/* An entry at level pointing to the next table at pa. */
uint64_t pte_table(const struct pt_mode *m, int level, uint64_t pa);
/* A leaf at level mapping pa with prot (PROT_*) and flags (HAT_*). */
uint64_t pte_leaf(const struct pt_mode *m, int level, uint64_t pa,
		  unsigned prot, unsigned flags);
/* The physical address an entry at level points to. */
uint64_t pte_addr(uint64_t pte, int level, const struct pt_mode *m);
/* The PROT_* and HAT_* bits of a leaf. */
unsigned pte_prot(uint64_t pte);
unsigned pte_flags(uint64_t pte);

#endif /* PTE_H */
