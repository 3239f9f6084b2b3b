/*
 * pte.h — what a page-table entry looks like on x86 (arch/x86_64/hat_x86.c).
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
 */
#ifndef PTE_H
#define PTE_H

#include <hat.h>
#include <x86.h> /* the PTE_* bits */

/* An entry at level pointing to the next table at pa. */
uint64_t pte_table(const struct pt_mode *m, int level, uint64_t pa);
/* A leaf at level mapping pa with prot (PROT_*) and flags (HAT_*). */
uint64_t pte_leaf(const struct pt_mode *m, int level, uint64_t pa,
		  unsigned prot, unsigned flags);
static inline bool pte_present(uint64_t pte)
{
	return (pte & PTE_P) != 0;
}
/* Does this present entry at level map a page (rather than a table)? */
static inline bool pte_is_leaf(int level, uint64_t pte)
{
	return level == 0 || (pte & PTE_PS) != 0;
}
/* The physical address an entry at level points to. */
uint64_t pte_addr(uint64_t pte, int level, const struct pt_mode *m);
/* The PROT_* and HAT_* bits of a leaf. */
unsigned pte_prot(uint64_t pte);
unsigned pte_flags(uint64_t pte);

#endif /* PTE_H */
