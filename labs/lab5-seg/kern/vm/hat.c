/*
 * hat.c — the page-table walker behind the HAT interface (hat.h).
 *
 * Design (read this before writing lab 2):
 *
 * 1. One walker, any mode. A virtual address is cut into indexes by the
 *    mode table: at level l the index is bits [shift, shift + bits) of va.
 *    Level 0 is the page table proper; the root is level levels - 1. For
 *    4-level paging:
 *
 *	 47      39 38      30 29      21 20      12 11         0
 *	+----------+----------+----------+----------+------------+
 *	| PML4 (3) | PDPT (2) |  PD (1)  |  PT (0)  |   offset   |
 *	+----------+----------+----------+----------+------------+
 *
 *    Nothing below names a mode: PAE's 2-bit root and 5-level's extra
 *    level fall out of the table.
 *
 * 2. Leaves at any level. An entry at a level with .large set may map a
 *    whole 1 << shift page (2 MiB at the PD, 1 GiB at the PDPT). So a walk
 *    can end early, on a leaf above level 0.
 *
 * 3. Splitting. To change part of a large page (map, unmap or protect one
 *    4 KiB page inside a 2 MiB one) the walker first replaces the large
 *    leaf with a table of 512 smaller leaves that map the same frames with
 *    the same protection, so every other address translates as before.
 *
 * 4. Freeing. When unmapping leaves a page table with no present entry,
 *    its parent entry is cleared, the TLB flushed (CPUs cache the upper
 *    levels too), and only then does the table go back to the allocator;
 *    all the way up, never the root. h_ptpages counts table pages, so a
 *    hat that maps nothing holds exactly one, its root (a map that fails
 *    for want of memory part-way down may leave empty tables; the next
 *    unmap of that range frees them).
 *
 * 5. Ranges. [va, va + len) is walked level by level: an entry whose whole
 *    span lies in the range is handled at its own level (one large leaf,
 *    or a whole subtree); an entry the range only partly covers is
 *    descended into, after a split if it is a leaf. Addresses are kept as
 *    inclusive "last" bounds so a range that ends at the top of the
 *    address space does not overflow.
 *
 * 6. The TLB. The CPU caches translations. After any change to an entry
 *    that was present, hat_tlb_flush() makes the TLB forget the range the
 *    entry mapped (after a split: the whole large page), before anything
 *    it pointed to is freed.
 *
 * 7. Locking. The walker takes no lock: whoever changes a hat keeps other
 *    CPUs from changing it at the same time (hat.h says who that is), and
 *    the ASSERTs check what the walk itself relies on. Table pages come
 *    from hat_ptpage_alloc(), which any CPU may call at any time.
 *
 * The environment (kenv.h) supplies kpm_va() to reach a table by its
 * physical address, and hat_ptpage_alloc()/hat_ptpage_free().
 */
#include <errno.h>
#include <hat.h>
#include <kenv.h>
#include <pte.h>

#define ENTRIES(m, l) (1U << (m)->lvl[l].bits)

static inline uint64_t level_size(const struct pt_mode *m, int l)
{
	return 1ULL << m->lvl[l].shift;
}

static inline unsigned hati_index(const struct pt_mode *m, int l,
				  uintptr_t va)
{
	ASSERT(l >= 0 && l < m->levels);
	return (unsigned)(va >> m->lvl[l].shift) & (ENTRIES(m, l) - 1);
}

/* The table at pa, through the direct map; a table is one whole page. */
static inline uint64_t *hati_table(uint64_t pa)
{
	ASSERT(pa != 0 && (pa & (PAGESIZE - 1)) == 0);
	return kpm_va(pa);
}

static inline int top_level(const struct hat *hat)
{
	return hat->h_mode->levels - 1;
}

/*
 * Can mode m translate va: inside its va_bits, and canonical (bits above
 * va_bits copies of the top one) where the mode sign-extends? Pure.
 */
bool hat_va_valid(const struct pt_mode *m, uintptr_t va)
{
	uint64_t high;

	ASSERT(m->va_bits >= 32 && m->va_bits < 64); /* shifts stay defined */
	high = (uint64_t)va >> (m->va_bits - 1);
	if (!m->sign_extend)
		return (uint64_t)va >> m->va_bits == 0;
	return high == 0 || high == (~0ULL >> (m->va_bits - 1));
}

/*
 * Set up *hat, not yet in use, as an empty hat in mode: a zeroed root
 * table and h_ptpages 1. 0, or -ENOMEM with no root (h_root 0).
 */
int hat_init(struct hat *hat, const struct pt_mode *mode)
{
	ASSERT(mode->levels >= 3 && mode->levels <= PT_MAXLEVELS);
	hat->h_mode = mode;
	hat->h_ptpages = 0;
	hat->h_root = hat_ptpage_alloc();
	if (hat->h_root == 0)
		return -ENOMEM;
	ASSERT((hat->h_root & (PAGESIZE - 1)) == 0);
	hat->h_ptpages = 1;
	return 0;
}

static const char *pte_bits(uint64_t pte, char *buf)
{
	static const struct {
		uint64_t bit;
		char c;
	} bits[] = { { PTE_P, 'P' },	 { PTE_W, 'W' },   { PTE_U, 'U' },
		     { PTE_PWT, 'T' }, { PTE_PCD, 'C' }, { PTE_A, 'A' },
		     { PTE_D, 'D' },	 { PTE_PS, 'S' },  { PTE_G, 'G' },
		     { PTE_NX, 'X' } };
	size_t i;

	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		buf[i] = (pte & bits[i].bit) ? bits[i].c : '-';
	buf[i] = '\0';
	return buf;
}

/*
 * Print the walk for va in hat, a line per level: index, entry, decoded
 * flags; where it ends (not present, or the leaf and the pa). Reads the
 * tables only; the caller keeps them from changing (the monitor, or a test
 * on its own hat).
 */
void hat_ptwalk_print(struct hat *hat, uintptr_t va)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t table = hat->h_root;
	char flags[16];

	ASSERT(table != 0);
	kprintf("ptwalk %#lx (%s, root %#lx); flags P W U T(pwt) C(pcd) "
		"A D S(ps) G X(nx)\n", (unsigned long)va, m->name,
		(unsigned long)table);
	if (!hat_va_valid(m, va)) {
		kprintf("  not a valid address in %s mode\n", m->name);
		return;
	}
	for (int l = top_level(hat); l >= 0; l--) {
		unsigned i = hati_index(m, l, va);
		uint64_t pte = hati_table(table)[i];

		kprintf("  %-4s [%3u] %016llx %s", m->lvl[l].name, i,
			(unsigned long long)pte, pte_bits(pte, flags));
		if (!pte_present(pte)) {
			kprintf("  not present\n");
			return;
		}
		if (pte_is_leaf(l, pte)) {
			kprintf("  -> page %#llx, pa %#llx\n",
				(unsigned long long)pte_addr(pte, l, m),
				(unsigned long long)(pte_addr(pte, l, m) +
						     (va & (level_size(m, l) - 1))));
			return;
		}
		kprintf("\n");
		table = pte_addr(pte, l, m);
	}
}

/*
 * Is [va, va + len) a valid, page-aligned, non-empty range for the mode?
 * With canonical halves, both ends must be in the same one: a range
 * across the hole would wrap around the root table.
 */
static bool hati_range_ok(const struct pt_mode *m, uintptr_t va, size_t len)
{
	uintptr_t last = va + len - 1;

	return len != 0 && (va & (PAGESIZE - 1)) == 0 &&
	       (len & (PAGESIZE - 1)) == 0 && last >= va &&
	       hat_va_valid(m, va) && hat_va_valid(m, last) &&
	       (!m->sign_extend || ((va ^ last) >> (m->va_bits - 1)) == 0);
}

/*
 * Replace the large leaf *ptep at level l (l > 0) with a table of leaves
 * one level down that map the same frames with the same protection.
 */
static int hati_split(struct hat *hat, uint64_t *ptep, int l, uintptr_t va)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t old = *ptep, base = pte_addr(old, l, m);
	uint64_t sub = level_size(m, l - 1), pa;
	uint64_t *t;

	ASSERT(l > 0 && m->lvl[l].large);
	ASSERT(pte_present(old) && pte_is_leaf(l, old));
	pa = hat_ptpage_alloc();
	if (pa == 0)
		return -ENOMEM;
	t = hati_table(pa);
	for (unsigned i = 0; i < ENTRIES(m, l - 1); i++)
		t[i] = pte_leaf(m, l - 1, base + i * sub, pte_prot(old),
				pte_flags(old));
	hat->h_ptpages++;
	*ptep = pte_table(m, l, pa);
	hat_tlb_flush(hat, va & ~(level_size(m, l) - 1), level_size(m, l));
	return 0;
}

/*
 * The entry for va at level `want`: descend from the root, allocating
 * missing tables and splitting large leaves on the way. NULL with *err set
 * if a table page cannot be had.
 */
static uint64_t *hati_walk_create(struct hat *hat, uintptr_t va, int want,
				  int *err)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t *table = hati_table(hat->h_root);

	ASSERT(want >= 0 && want < m->levels);
	ASSERT(want == 0 || m->lvl[want].large);
	for (int l = top_level(hat); l > want; l--) {
		uint64_t *ptep = &table[hati_index(m, l, va)];

		if (!pte_present(*ptep)) {
			uint64_t pa = hat_ptpage_alloc();

			if (pa == 0) {
				*err = -ENOMEM;
				return NULL;
			}
			hat->h_ptpages++;
			*ptep = pte_table(m, l, pa);
		} else if (pte_is_leaf(l, *ptep)) {
			*err = hati_split(hat, ptep, l, va);
			if (*err != 0)
				return NULL;
		}
		ASSERT(pte_present(*ptep) && !pte_is_leaf(l, *ptep));
		table = hati_table(pte_addr(*ptep, l, m));
	}
	return &table[hati_index(m, want, va)];
}

/* Free the table at pa (level l) and every table below it. */
static void hati_free_tree(struct hat *hat, uint64_t pa, int l)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t *t = hati_table(pa);

	ASSERT(l >= 0 && l < m->levels);
	ASSERT(pa != hat->h_root || l == top_level(hat));
	for (unsigned i = 0; l > 0 && i < ENTRIES(m, l); i++)
		if (pte_present(t[i]) && !pte_is_leaf(l, t[i]))
			hati_free_tree(hat, pte_addr(t[i], l, m), l - 1);
	ASSERT(hat->h_ptpages > 0);
	hat_ptpage_free(pa);
	hat->h_ptpages--;
}

/*
 * Store a leaf at *ptep (level l), dropping any subtree it replaces: clear,
 * flush, and only then free, so no CPU can still walk a freed table.
 */
static void hati_set_leaf(struct hat *hat, uint64_t *ptep, int l,
			  uintptr_t va, uint64_t leaf)
{
	uint64_t old = *ptep;

	ASSERT(leaf == 0 || (pte_present(leaf) && pte_is_leaf(l, leaf)));
	ASSERT((va & (level_size(hat->h_mode, l) - 1)) == 0);
	*ptep = leaf;
	if (!pte_present(old))
		return;
	hat_tlb_flush(hat, va, level_size(hat->h_mode, l));
	if (!pte_is_leaf(l, old))
		hati_free_tree(hat, pte_addr(old, l, hat->h_mode), l - 1);
}

/*
 * Map the 4 KiB page at va to frame pfn with prot and flags, replacing
 * what was there (a large page around va is split first). The caller
 * serialises changes to hat (hat.h). 0; -EINVAL for a va the mode cannot
 * map or not page-aligned; -ENOMEM if a table page cannot be had.
 */
int hat_memload(struct hat *hat, uintptr_t va, pfn_t pfn, unsigned prot,
		unsigned flags)
{
	uint64_t *ptep;
	int err = 0;

	ASSERT(hat->h_root != 0);
	if (!hati_range_ok(hat->h_mode, va, PAGESIZE))
		return -EINVAL;
	ptep = hati_walk_create(hat, va, 0, &err);
	if (ptep == NULL)
		return err;
	hati_set_leaf(hat, ptep, 0, va,
		      pte_leaf(hat->h_mode, 0, pfn << PAGESHIFT, prot, flags));
	return 0;
}

/* The highest level whose page fits at va/pa with len bytes to go. */
static int hati_best_level(const struct pt_mode *m, uintptr_t va,
			   uint64_t pa, uint64_t len)
{
	ASSERT(len >= PAGESIZE);
	for (int l = m->levels - 1; l > 0; l--) {
		uint64_t size = level_size(m, l);

		if (m->lvl[l].large && (va & (size - 1)) == 0 &&
		    (pa & (size - 1)) == 0 && len >= size)
			return l;
	}
	return 0;
}

/*
 * Map [va, va + len) to the frames from pfn on, with the largest pages
 * that va, the physical address and the length left allow; replaces what
 * was there. The caller serialises changes to hat. 0; -EINVAL for a range
 * that is empty, not page-aligned or not all mappable; -ENOMEM if a table
 * page cannot be had (the pages before it are mapped).
 */
int hat_devload(struct hat *hat, uintptr_t va, size_t len, pfn_t pfn,
		unsigned prot, unsigned flags)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t pa = pfn << PAGESHIFT;

	ASSERT(hat->h_root != 0);
	if (!hati_range_ok(m, va, len))
		return -EINVAL;
	while (len > 0) {
		int l = hati_best_level(m, va, pa, len), err = 0;
		uint64_t *ptep = hati_walk_create(hat, va, l, &err);

		if (ptep == NULL)
			return err;
		hati_set_leaf(hat, ptep, l, va,
			      pte_leaf(m, l, pa, prot, flags));
		va += level_size(m, l);
		pa += level_size(m, l);
		len -= level_size(m, l);
	}
	return 0;
}

/* The inclusive end of the span of va's entry at level l, capped at last. */
static uintptr_t hati_span_last(const struct pt_mode *m, int l, uintptr_t va,
				uintptr_t last)
{
	uintptr_t end = va | (level_size(m, l) - 1);

	ASSERT(va <= last);
	return end < last ? end : last;
}

static bool hati_table_empty(const struct pt_mode *m, int l, uint64_t pa)
{
	uint64_t *t = hati_table(pa);

	for (unsigned i = 0; i < ENTRIES(m, l); i++)
		if (pte_present(t[i]))
			return false;
	return true;
}

/*
 * What a range operation does to one entry that its range covers in full,
 * at level l: unmap (prot < 0) or change protection. Returns true if the
 * entry still needs descending into (a table).
 */
typedef bool (*hati_whole_fn)(struct hat *hat, uint64_t *ptep, int l,
			      uintptr_t va, int prot);

/*
 * Apply `whole` to every entry of the table at pa (level l) that
 * [va, last] covers in full, and descend into those it covers in part,
 * splitting large leaves first. Unmapping (prot < 0) frees tables it
 * empties.
 */
static int hati_range(struct hat *hat, uint64_t pa, int l, uintptr_t va,
		      uintptr_t last, int prot, hati_whole_fn whole)
{
	const struct pt_mode *m = hat->h_mode;

	for (;;) {
		uint64_t *ptep = &hati_table(pa)[hati_index(m, l, va)];
		uintptr_t end = hati_span_last(m, l, va, last);
		bool full = (va & (level_size(m, l) - 1)) == 0 &&
			    end - va == level_size(m, l) - 1;
		int err = 0;

		ASSERT(full || l > 0); /* a range covers whole 4 KiB pages */
		if (pte_present(*ptep) && !(full && !whole(hat, ptep, l, va, prot))) {
			ASSERT(l > 0); /* a page is never descended into */
			if (pte_is_leaf(l, *ptep))
				err = hati_split(hat, ptep, l, va);
			if (err == 0)
				err = hati_range(hat, pte_addr(*ptep, l, m),
						 l - 1, va, end, prot, whole);
			if (err != 0)
				return err;
			if (prot < 0 && hati_table_empty(m, l - 1,
							 pte_addr(*ptep, l, m))) {
				uint64_t child = pte_addr(*ptep, l, m);

				ASSERT(hat->h_ptpages > 1); /* the root stays */
				ASSERT(!pte_is_leaf(l, *ptep)); /* a table */
				*ptep = 0; /* clear, flush, then free */
				hat_tlb_flush(hat, va & ~(level_size(m, l) - 1),
					      level_size(m, l));
				hat_ptpage_free(child);
				hat->h_ptpages--;
			}
		}
		if (end == last)
			return 0;
		va = end + 1;
	}
}

static bool hati_unload_whole(struct hat *hat, uint64_t *ptep, int l,
			      uintptr_t va, int prot)
{
	ASSERT(prot < 0);
	hati_set_leaf(hat, ptep, l, va, 0);
	return false;
}

static bool hati_chgprot_whole(struct hat *hat, uint64_t *ptep, int l,
			       uintptr_t va, int prot)
{
	const struct pt_mode *m = hat->h_mode;

	ASSERT(prot >= 0 && pte_present(*ptep));
	ASSERT((va & (level_size(m, l) - 1)) == 0); /* flush it all */
	if (!pte_is_leaf(l, *ptep))
		return true; /* a whole subtree: change each leaf in it */
	*ptep = pte_leaf(m, l, pte_addr(*ptep, l, m), (unsigned)prot,
			 pte_flags(*ptep));
	hat_tlb_flush(hat, va, level_size(m, l));
	return false;
}

/*
 * Unmap [va, va + len), splitting large pages it cuts through and freeing
 * tables it empties (never the root); unmapped pages in the range are
 * fine. The caller serialises changes to hat. 0; -EINVAL for a range as
 * hat_devload refuses; -ENOMEM if a split finds no table page (the pages
 * before it are unmapped).
 */
int hat_unload(struct hat *hat, uintptr_t va, size_t len)
{
	int err;

	ASSERT(hat->h_root != 0);
	if (!hati_range_ok(hat->h_mode, va, len))
		return -EINVAL;
	err = hati_range(hat, hat->h_root, top_level(hat), va, va + len - 1,
			 -1, hati_unload_whole);
	return err;
}

/*
 * Give every mapped page in [va, va + len) the protection prot (PROT_*),
 * keeping its frame and flags, splitting large pages the range cuts
 * through. The caller serialises changes to hat. 0, -EINVAL or -ENOMEM as
 * hat_unload.
 */
int hat_chgprot(struct hat *hat, uintptr_t va, size_t len, unsigned prot)
{
	int err;

	ASSERT(hat->h_root != 0);
	if (!hati_range_ok(hat->h_mode, va, len))
		return -EINVAL;
	err = hati_range(hat, hat->h_root, top_level(hat), va, va + len - 1,
			 (int)(prot & PROT_ALL), hati_chgprot_whole);
	return err;
}

/*
 * The translation of va in hat: fill *map (pa of va itself, page size,
 * prot, flags, level) and return true, or return false if va is not
 * mapped or not valid in the mode. Reads only; not against a writer.
 */
bool hat_probe(struct hat *hat, uintptr_t va, struct hat_mapping *map)
{
	const struct pt_mode *m = hat->h_mode;
	uint64_t table = hat->h_root;

	ASSERT(table != 0);
	if (!hat_va_valid(m, va))
		return false;
	for (int l = top_level(hat); l >= 0; l--) {
		uint64_t pte = hati_table(table)[hati_index(m, l, va)];

		if (!pte_present(pte))
			return false;
		if (pte_is_leaf(l, pte)) {
			map->size = level_size(m, l);
			map->pa = pte_addr(pte, l, m) + (va & (map->size - 1));
			map->prot = pte_prot(pte);
			map->flags = pte_flags(pte);
			map->level = l;
			return true;
		}
		table = pte_addr(pte, l, m);
	}
	return false;
}

/* The frame va translates to in hat, or PFN_INVALID; as hat_probe. */
pfn_t hat_getpfnum(struct hat *hat, uintptr_t va)
{
	struct hat_mapping map;

	return hat_probe(hat, va, &map) ? map.pa >> PAGESHIFT : PFN_INVALID;
}

/*
 * Free every table page of hat, the root too (not the pages it maps),
 * leaving h_root 0: hat must be loaded on no CPU. A hat whose hat_init
 * failed is fine. Panics if h_ptpages disagrees with the tables.
 */
void hat_free(struct hat *hat)
{
	if (hat->h_root != 0)
		hati_free_tree(hat, hat->h_root, top_level(hat));
	ASSERT(hat->h_ptpages == 0);
	hat->h_root = 0;
}

