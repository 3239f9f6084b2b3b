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
 * Map the 4 KiB page at va to frame pfn with prot and flags, replacing
 * what was there (a large page around va is split first). The caller
 * serialises changes to hat (hat.h). 0; -EINVAL for a va the mode cannot
 * map or not page-aligned; -ENOMEM if a table page cannot be had.
 */
int hat_memload(struct hat *hat, uintptr_t va, pfn_t pfn, unsigned prot,
		unsigned flags)
{
	/*
	 * Lab 2. Each stub fails with an error the tests see, so the kernel
	 * still boots (on its boot page tables).
	 */
	(void)hat, (void)va, (void)pfn, (void)prot, (void)flags;
	return -ENOSYS; /* lab 2: walk (creating tables), store a leaf */
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
	(void)hat, (void)va, (void)len, (void)pfn, (void)prot, (void)flags;
	return -ENOSYS; /* lab 2: map a range with the largest pages */
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
	(void)hat, (void)va, (void)len;
	return -ENOSYS; /* lab 2: unmap, split, free empty tables */
}

/*
 * Give every mapped page in [va, va + len) the protection prot (PROT_*),
 * keeping its frame and flags, splitting large pages the range cuts
 * through. The caller serialises changes to hat. 0, -EINVAL or -ENOMEM as
 * hat_unload.
 */
int hat_chgprot(struct hat *hat, uintptr_t va, size_t len, unsigned prot)
{
	(void)hat, (void)va, (void)len, (void)prot;
	return -ENOSYS; /* lab 2: change protections, splitting as needed */
}

/*
 * The translation of va in hat: fill *map (pa of va itself, page size,
 * prot, flags, level) and return true, or return false if va is not
 * mapped or not valid in the mode. Reads only; not against a writer.
 */
bool hat_probe(struct hat *hat, uintptr_t va, struct hat_mapping *map)
{
	(void)hat, (void)va, (void)map;
	return false; /* lab 2: walk down to the leaf */
}

/* The frame va translates to in hat, or PFN_INVALID; as hat_probe. */
pfn_t hat_getpfnum(struct hat *hat, uintptr_t va)
{
	(void)hat, (void)va;
	return PFN_INVALID; /* lab 2: translate */
}

/*
 * Free every table page of hat, the root too (not the pages it maps),
 * leaving h_root 0: hat must be loaded on no CPU. A hat whose hat_init
 * failed is fine. Panics if h_ptpages disagrees with the tables.
 */
void hat_free(struct hat *hat)
{
	(void)hat; /* lab 2: free every table page */
}

