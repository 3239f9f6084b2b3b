/*
 * test_hat.c — the page-table walker (kern/vm/hat.c) and the x86 entry
 * formats (kern/arch/x86_64/hat_x86.c) on the host, in all three paging
 * modes, over simulated physical memory (simmem.c).
 *
 * Every check runs once per mode. The mode cases below write down what the
 * Intel SDM (vol. 3A, ch. 4) says about each mode, apart from hat_x86.c's
 * tables, and main() makes one cmocka test per (mode, check) pair, named
 * like "4-level: split_keeps_the_rest_of_a_large_page".
 *
 * The walker's environment is faked here: hat_ptpage_alloc/free are
 * simmem's (counted, poisoned when freed, failures on demand) and
 * hat_tlb_flush() logs the ranges it is given.
 *
 * The last check per mode is model-based: a seeded random run of
 * memload/devload/unload/chgprot over a few areas that straddle level
 * boundaries, compared after every step with a flat array model, and the
 * tree's invariants checked. It prints its seed; TEST_SEED=<seed> replays.
 *
 * Each check's comment names the bug that makes it fail.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include <errno.h>
#include <hat.h>
#include <pte.h>
#include "simmem.h"
#include "testutil.h"

#define SZ_2M (1ULL << 21)
#define SZ_1G (1ULL << 30)

/*
 * SDM table 4-8: a PAE PDPTE reserves bits 2:1, 8:5 and 63 (no R/W, U/S,
 * PS or XD there); loading CR3 with one set raises #GP.
 */
#define SDM_PAE_PDPTE_RSVD                                                   \
	((3ULL << 1) | (0xfULL << 5) | (1ULL << 63))

/* What the SDM says a mode is, and where the random test runs in it. */
struct area {
	uintptr_t start;
	uint64_t size; /* a multiple of 1 GiB */
};

struct mode_case {
	const char *name;
	const struct pt_mode *mode;
	int levels;
	unsigned va_bits;
	unsigned shift[PT_MAXLEVELS], bits[PT_MAXLEVELS];
	bool large[PT_MAXLEVELS]; /* may a leaf sit at this level? */
	uint64_t rsvd_top;	  /* reserved in a root entry */
	uintptr_t lower_end;	  /* one past the lower half (PAE: 4 GiB) */
	uintptr_t upper_start;	  /* first byte of the upper half; 0: none */
	uintptr_t bad[4];	  /* out of range or not canonical */
	uintptr_t extra_valid;	  /* one more address to map; 0: none */
	struct area areas[3];
	int nareas;
};

static const struct mode_case cases[] = {
	{
		.name = "PAE",
		.mode = &pt_mode_pae,
		.levels = 3,
		.va_bits = 32,
		.shift = { 12, 21, 30 },
		.bits = { 9, 9, 2 },
		.large = { false, true, false },
		.rsvd_top = SDM_PAE_PDPTE_RSVD,
		.lower_end = 1ULL << 32,
		.bad = { 1ULL << 32, 0xffffffff00000000ULL,
			 0xffff800000000000ULL, 0x8000000000000000ULL },
		.areas = { { 0, 4 * SZ_1G } }, /* all of it */
		.nareas = 1,
	},
	{
		.name = "4-level",
		.mode = &pt_mode_4level,
		.levels = 4,
		.va_bits = 48,
		.shift = { 12, 21, 30, 39 },
		.bits = { 9, 9, 9, 9 },
		.large = { false, true, true, false },
		.lower_end = 1ULL << 47,
		.upper_start = 0xffff800000000000ULL,
		.bad = { 0x0000800000000000ULL, 0xffff7ffffffff000ULL,
			 0x0100000000000000ULL, 0x8000000000000000ULL },
		.areas = { { (1ULL << 39) - SZ_1G, 2 * SZ_1G }, /* PML4 0|1 */
			   { 0xffff800000000000ULL, 2 * SZ_1G },
			   { 0 - 2 * SZ_1G, 2 * SZ_1G } }, /* the very top */
		.nareas = 3,
	},
	{
		.name = "5-level",
		.mode = &pt_mode_5level,
		.levels = 5,
		.va_bits = 57,
		.shift = { 12, 21, 30, 39, 48 },
		.bits = { 9, 9, 9, 9, 9 },
		.large = { false, true, true, false, false },
		.lower_end = 1ULL << 56,
		.upper_start = 0xff00000000000000ULL,
		.bad = { 0x0100000000000000ULL, 0xfefffffffffff000ULL,
			 0x8000000000000000ULL, 0x7ffffffffffff000ULL },
		.extra_valid = 0x0000800000000000ULL, /* not 4-level's */
		.areas = { { (1ULL << 48) - SZ_1G, 2 * SZ_1G }, /* PML5 0|1 */
			   { 0xff00000000000000ULL, 2 * SZ_1G },
			   { 0 - 2 * SZ_1G, 2 * SZ_1G } },
		.nareas = 3,
	},
};

struct model_page {
	uint64_t pfn : 40, prot : 4, nocache : 1, mapped : 1;
};

struct fixture {
	const struct mode_case *c;
	struct hat hat;
	struct model_page *model; /* the random test's */
};

static struct fixture fx;
/* What the random test is doing, for failure messages; "" elsewhere. */
static char ctx[256];

/* ---- the walker's environment ---- */

/*
 * Where each table page sits: the first va of the span it translates and
 * its level + 1 (0: not known), as the last check_table() found it. A
 * table never moves, so this holds until the page is freed.
 */
static struct {
	uintptr_t va;
	int level_plus1;
} homes[SIMMEM_PAGES];
static bool freeing_hat; /* in hat_free(): tables go while linked */

static void expect_unlinked_and_flushed(uint64_t pa);

static size_t home_index(uint64_t pa)
{
	return (pa - SIMMEM_BASE) / PAGESIZE;
}

uint64_t hat_ptpage_alloc(void)
{
	uint64_t pa = simmem_alloc();

	if (pa != 0)
		homes[home_index(pa)].level_plus1 = 0;
	return pa;
}

void hat_ptpage_free(uint64_t pa)
{
	if (simmem_is_live(pa) && !freeing_hat)
		expect_unlinked_and_flushed(pa);
	simmem_free(pa);
}

void hat_ptpage_inject_failure(long after)
{
	simmem_fail_after(after);
}

uint64_t hat_ptpages_live(void)
{
	return simmem_allocs() - simmem_frees();
}

struct flush {
	const struct hat *hat;
	uintptr_t va, last;
};

static struct flush flush_log[1 << 16];
static size_t nflush;

/* The reverse map is for user hats (h_rmap); these tests' hats have none. */
int hment_add(struct hat *hat, uintptr_t va, pfn_t pfn)
{
	fail_msg("hment_add(%p, %#lx, %#lx) for a hat without h_rmap",
		 (void *)hat, va, (unsigned long)pfn);
	return 0;
}

void hment_remove(struct hat *hat, uintptr_t va, pfn_t pfn)
{
	fail_msg("hment_remove(%p, %#lx, %#lx) for a hat without h_rmap",
		 (void *)hat, va, (unsigned long)pfn);
}

/*
 * Lab 7's batch (tlb.h) delays a call's flushes and table frees to its
 * end, in that order. Here both happen at once, which is the stricter
 * order the checks above hold hat.c to.
 */
void hat_tlb_batch_begin(struct hat *hat)
{
	(void)hat;
}

void hat_tlb_batch_end(struct hat *hat)
{
	(void)hat;
}

/*
 * Log [va, va + len). A range that continues the last one, upwards or
 * downwards, extends it, so a page-by-page flush of a large span takes
 * one slot, not one per page.
 */
void hat_tlb_flush(struct hat *hat, uintptr_t va, size_t len)
{
	struct flush *prev = nflush > 0 ? &flush_log[nflush - 1] : NULL;
	uintptr_t last = va + len - 1;

	if (len == 0 || (va | len) % PAGESIZE != 0 || last < va)
		fail_msg("%shat_tlb_flush(%#lx, %#zx): not whole pages", ctx,
			 (unsigned long)va, len);
	if (prev != NULL && prev->hat == hat && prev->last + 1 == va &&
	    prev->last != UINTPTR_MAX) {
		prev->last = last;
		return;
	}
	if (prev != NULL && prev->hat == hat && last + 1 == prev->va &&
	    prev->va != 0) {
		prev->va = va;
		return;
	}
	if (nflush == ARRAY_SIZE(flush_log))
		fail_msg("%shat_tlb_flush: log full", ctx);
	flush_log[nflush++] = (struct flush){ hat, va, last };
}

/*
 * Is every page of [va, va + len) covered by some hat_tlb_flush() for hat
 * since the log was last cleared? Only the outcome counts: one call for
 * the whole span, one per page, overlapping calls, or one huge range (a
 * full flush) all pass; a page that no call covered fails.
 */
static bool flushed(const struct hat *hat, uintptr_t va, uint64_t len)
{
	uintptr_t cur = va, last = va + (len - 1);

	for (;;) {
		uintptr_t reach = 0;
		bool covered = false;

		/* The furthest any flush that holds page cur reaches. */
		for (size_t i = 0; i < nflush; i++)
			if (flush_log[i].hat == hat && flush_log[i].va <= cur &&
			    cur <= flush_log[i].last &&
			    (!covered || flush_log[i].last > reach)) {
				reach = flush_log[i].last;
				covered = true;
			}
		if (!covered)
			return false;
		if (reach >= last)
			return true;
		cur = reach + 1;
	}
}

static void print_ctx(void)
{
	print_error("%s\n", ctx);
}

/* hat_free() frees a whole tree top down, still linked: nothing to check. */
static void free_hat(struct hat *hat)
{
	freeing_hat = true;
	hat_free(hat);
	freeing_hat = false;
}

/* ---- fixture ---- */

/* Seconds one test may run; all of test_hat takes about 2 under ASan. */
#define TEST_TIMEOUT 60

/*
 * A range walk that misses its end loops for ever, and make would hang
 * without a word: stop the run instead. exit() flushes cmocka's
 * "[ RUN ]" line, which names the test.
 */
static void timed_out(int sig)
{
	(void)sig;
	print_error("%stest_hat: a test ran for %d s: a walk that never "
		    "ends?\n", ctx, TEST_TIMEOUT);
	exit(1);
}

static int setup(void **state)
{
	const struct mode_case *c = *state;

	alarm(TEST_TIMEOUT);
	simmem_reset();
	simmem_on_panic(print_ctx);
	nflush = 0;
	ctx[0] = '\0';
	fx = (struct fixture){ .c = c };
	if (hat_init(&fx.hat, c->mode) != 0)
		return -1;
	*state = &fx;
	return 0;
}

/* Free the hat; every table page must come back. */
static int teardown(void **state)
{
	struct fixture *f = *state;

	alarm(0);
	libc_snprintf(ctx, sizeof(ctx), "teardown: ");
	free(f->model);
	f->model = NULL;
	simmem_fail_after(-1);
	if (f->hat.h_root != 0)
		free_hat(&f->hat);
	if (simmem_allocs() != simmem_frees()) {
		print_error("hat_free leaked %lu table pages\n",
			    simmem_allocs() - simmem_frees());
		return -1;
	}
	return 0;
}

/* ---- what the SDM says ---- */

static uint64_t span(const struct mode_case *c, int l)
{
	return 1ULL << c->shift[l];
}

static unsigned entries(const struct mode_case *c, int l)
{
	return 1U << c->bits[l];
}

static bool case_va_valid(const struct mode_case *c, uintptr_t va)
{
	return va < c->lower_end ||
	       (c->upper_start != 0 && va >= c->upper_start);
}


/* ---- translations ---- */

struct want {
	bool mapped;
	pfn_t pfn;
	unsigned prot; /* PROT_READ included */
	unsigned flags;
	int level; /* the leaf's; -1: any */
};

#define PROBE_OFFSET 0x5a8 /* a byte inside the page */

/* Does hat_probe say what w says? If not, why[] says how it differs. */
static bool probe_matches(struct fixture *f, uintptr_t va,
			  const struct want *w, char *why, size_t n)
{
	struct hat_mapping m;
	bool got = hat_probe(&f->hat, va + PROBE_OFFSET, &m);

	if (got != w->mapped) {
		libc_snprintf(why, n, "va %#lx: hat_probe says %s, want %s",
			      (unsigned long)va, got ? "mapped" : "unmapped",
			      w->mapped ? "mapped" : "unmapped");
		return false;
	}
	if (!got)
		return true;
	if (m.pa == (w->pfn << PAGESHIFT) + PROBE_OFFSET &&
	    m.prot == w->prot && m.flags == w->flags && m.level >= 0 &&
	    m.level < f->c->levels && m.size == span(f->c, m.level) &&
	    (w->level < 0 || m.level == w->level))
		return true;
	libc_snprintf(why, n,
		      "va %#lx: hat_probe gives pa %#llx prot %#x flags %#x "
		      "level %d size %#llx; want pa %#llx prot %#x flags %#x "
		      "level %d",
		      (unsigned long)va, (unsigned long long)m.pa, m.prot,
		      m.flags, m.level, (unsigned long long)m.size,
		      (unsigned long long)(w->pfn << PAGESHIFT) + PROBE_OFFSET,
		      w->prot, w->flags, w->level);
	return false;
}

/* Do hat_probe and hat_getpfnum both translate va as w says? */
static bool translates_as(struct fixture *f, uintptr_t va,
			  const struct want *w, char *why, size_t n)
{
	pfn_t want = w->mapped ? w->pfn : PFN_INVALID;
	pfn_t got = hat_getpfnum(&f->hat, va);

	if (!probe_matches(f, va, w, why, n))
		return false;
	if (got == want)
		return true;
	libc_snprintf(why, n, "va %#lx: hat_getpfnum %#llx, want %#llx",
		      (unsigned long)va, (unsigned long long)got,
		      (unsigned long long)want);
	return false;
}

static void expect_translation(struct fixture *f, uintptr_t va,
			       const struct want *w)
{
	char why[256];

	if (!translates_as(f, va, w, why, sizeof(why))) {
		hat_ptwalk_print(&f->hat, va);
		fail_msg("%s%s", ctx, why);
	}
}

static void expect_mapped(struct fixture *f, uintptr_t va, pfn_t pfn,
			  unsigned prot, unsigned flags, int level)
{
	expect_translation(f, va, &(struct want){ true, pfn, prot, flags,
						  level });
}

static void expect_unmapped(struct fixture *f, uintptr_t va)
{
	expect_translation(f, va, &(struct want){ .mapped = false });
}

/* ---- the tree, as the hardware walks it ---- */

static const uint64_t *table_at(uint64_t pa)
{
	return kpm_va(pa);
}

/* The entries on va's path, top down into pte[]; the leaf's level or -1. */
static int hw_walk(struct fixture *f, uintptr_t va,
		   uint64_t pte[PT_MAXLEVELS])
{
	const struct mode_case *c = f->c;
	uint64_t table = f->hat.h_root;

	for (int l = c->levels - 1; l >= 0; l--) {
		unsigned i = (va >> c->shift[l]) & (entries(c, l) - 1);

		pte[l] = table_at(table)[i];
		if (!(pte[l] & PTE_P))
			return -1;
		if (l == 0 || (pte[l] & PTE_PS))
			return l;
		table = pte[l] & PTE_ADDR;
	}
	return -1;
}

/*
 * A table entry grants R/W and U/S and is never NX, so that the leaf alone
 * decides; and it has none of its level's reserved bits set.
 */
static void expect_table_entry_ok(const struct mode_case *c, int l,
				  uint64_t pte)
{
	uint64_t rsvd = c->mode->lvl[l].rsvd |
			(l == c->levels - 1 ? c->rsvd_top : 0);
	uint64_t grant = (PTE_W | PTE_U) & ~rsvd;

	if ((pte & rsvd) != 0)
		fail_msg("%s%s entry %#llx sets reserved bits %#llx", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pte,
			 (unsigned long long)(pte & rsvd));
	if ((pte & grant) != grant || (pte & PTE_NX) != 0)
		fail_msg("%s%s entry %#llx does not grant W, U and exec", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pte);
}

/* A leaf above level 0: allowed there, and its frame aligned to its size. */
static void expect_large_leaf_ok(const struct mode_case *c, int l,
				 uint64_t pte)
{
	if (!c->large[l])
		fail_msg("%s%s entry %#llx is a large page, which %s has not "
			 "at that level", ctx, c->mode->lvl[l].name,
			 (unsigned long long)pte, c->name);
	if ((pte & PTE_ADDR & (span(c, l) - 1)) != 0)
		fail_msg("%s%s leaf %#llx: frame not aligned to its size", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pte);
}

/* va sign-extended from bit va_bits - 1, in a mode with two halves. */
static uintptr_t sign_extended(const struct mode_case *c, uintptr_t va)
{
	uintptr_t high = ~(uintptr_t)0 << c->va_bits;

	if (c->upper_start != 0 && (va >> (c->va_bits - 1)) & 1)
		return va | high;
	return va;
}

/*
 * Check the table at pa (level l, translating from va on) and every
 * table below it, noting where each sits (homes); return how many there
 * are. Below the root a table maps something, unless allow_empty (an
 * allocation failed mid-walk). A page table (level 0) holds only 4 KiB
 * leaves, so the scan stops at its first one.
 */
static unsigned long check_table(const struct mode_case *c, uint64_t pa,
				 int l, uintptr_t va, bool allow_empty)
{
	const uint64_t *t = table_at(pa);
	unsigned long tables = 1;
	bool empty = true;

	for (unsigned i = 0; i < entries(c, l) && (l > 0 || empty); i++) {
		uintptr_t sub;

		if (!(t[i] & PTE_P))
			continue;
		empty = false;
		if (l > 0 && (t[i] & PTE_PS)) {
			expect_large_leaf_ok(c, l, t[i]);
		} else if (l > 0) {
			expect_table_entry_ok(c, l, t[i]);
			sub = sign_extended(c, va | (uintptr_t)i << c->shift[l]);
			homes[home_index(t[i] & PTE_ADDR)].va = sub;
			homes[home_index(t[i] & PTE_ADDR)].level_plus1 = l;
			tables += check_table(c, t[i] & PTE_ADDR, l - 1, sub,
					      allow_empty);
		}
	}
	if (empty && !allow_empty && l != c->levels - 1)
		fail_msg("%sempty %s table at pa %#llx was not freed", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pa);
	return tables;
}

/* The tree is well formed and h_ptpages counts exactly its pages. */
static void check_tree_allowing_empty(struct fixture *f, bool allow_empty)
{
	unsigned long n = check_table(f->c, f->hat.h_root, f->c->levels - 1,
				      0, allow_empty);

	if (n != f->hat.h_ptpages || n != hat_ptpages_live())
		fail_msg("%sthe tree has %lu table pages, h_ptpages says %lu, "
			 "%lu are allocated", ctx, n, f->hat.h_ptpages,
			 hat_ptpages_live());
}

static void check_tree(struct fixture *f)
{
	check_tree_allowing_empty(f, false);
}

/* Only the root is left, and it maps nothing. */
static void expect_only_root(struct fixture *f)
{
	const uint64_t *root = table_at(f->hat.h_root);

	assert_int_equal(f->hat.h_ptpages, 1);
	assert_int_equal(hat_ptpages_live(), 1);
	for (unsigned i = 0; i < entries(f->c, f->c->levels - 1); i++)
		assert_int_equal(root[i], 0);
}

/* Does the entry for va at level l + 1 point to the table at pa? */
static bool still_linked(struct fixture *f, uintptr_t va, int l, uint64_t pa)
{
	const struct mode_case *c = f->c;
	uint64_t table = f->hat.h_root;

	for (int k = c->levels - 1; k > l; k--) {
		uint64_t pte = table_at(table)[(va >> c->shift[k]) &
					       (entries(c, k) - 1)];

		if (!(pte & PTE_P) || (pte & PTE_PS))
			return false;
		table = pte & PTE_ADDR;
	}
	return table == pa;
}

/*
 * A table page may go back to the allocator only when no CPU can reach
 * it: its parent entry cleared, then the span it translated flushed (the
 * CPU caches upper-level entries too). Checked for tables whose home the
 * last check_tree() saw.
 */
static void expect_unlinked_and_flushed(uint64_t pa)
{
	const struct mode_case *c = fx.c;
	int l = homes[home_index(pa)].level_plus1 - 1;
	uintptr_t va = homes[home_index(pa)].va;

	if (l < 0)
		return;
	homes[home_index(pa)].level_plus1 = 0;
	if (still_linked(&fx, va, l, pa))
		fail_msg("%s%s table at pa %#llx (va %#lx on) freed while its "
			 "parent entry still points to it", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pa,
			 (unsigned long)va);
	if (!flushed(&fx.hat, va, span(c, l + 1)))
		fail_msg("%s%s table at pa %#llx freed before a hat_tlb_flush "
			 "covered its span [%#lx, +%#llx)", ctx,
			 c->mode->lvl[l].name, (unsigned long long)pa,
			 (unsigned long)va, (unsigned long long)span(c, l + 1));
}

/* ---- addresses at index boundaries ---- */

#define VAS_MAX 40

struct va_set {
	uintptr_t va[VAS_MAX];
	int n;
};

static void va_add(const struct mode_case *c, struct va_set *s, uintptr_t va)
{
	assert_true(case_va_valid(c, va));
	for (int i = 0; i < s->n; i++)
		if (s->va[i] == va)
			return;
	assert_true(s->n < VAS_MAX);
	s->va[s->n++] = va;
}

/* The upper half's share of boundary_vas(). */
static void upper_boundary_vas(const struct mode_case *c, struct va_set *s,
			       uintptr_t ones)
{
	int top = c->levels - 1;

	va_add(c, s, c->upper_start);
	va_add(c, s, 0 - PAGESIZE);
	va_add(c, s, c->upper_start + ones - span(c, top));
	for (int l = 0; l < top; l++)
		va_add(c, s, c->upper_start +
				     ((uintptr_t)(entries(c, l) - 1) << c->shift[l]));
}

/*
 * Pages at the first and last entry of each level, and pages whose
 * indexes are all 1 but for one level's, which is 2.
 */
static void boundary_vas(const struct mode_case *c, struct va_set *s)
{
	int top = c->levels - 1;
	uintptr_t ones = 0;

	s->n = 0;
	va_add(c, s, 0);
	va_add(c, s, c->lower_end - PAGESIZE);
	va_add(c, s, c->lower_end - span(c, top));
	for (int l = 0; l < top; l++)
		va_add(c, s, (uintptr_t)(entries(c, l) - 1) << c->shift[l]);
	for (int l = 0; l <= top; l++)
		ones += span(c, l);
	va_add(c, s, ones);
	for (int l = 0; l <= top; l++)
		va_add(c, s, ones + span(c, l));
	if (c->upper_start != 0)
		upper_boundary_vas(c, s, ones);
	if (c->extra_valid != 0)
		va_add(c, s, c->extra_valid);
}

/* Distinct frames, half of them high enough to need all 52 address bits. */
static pfn_t test_pfn(int i)
{
	return (i & 1) ? (1ULL << 40) - 1 - (pfn_t)i : 0x100 + (pfn_t)i;
}

/* Every combination of W, X and U in turn. */
static unsigned test_prot(int i)
{
	return PROT_READ | (unsigned)(i % 8) << 1;
}

static void map_set(struct fixture *f, const struct va_set *s)
{
	for (int i = 0; i < s->n; i++)
		assert_int_equal(hat_memload(&f->hat, s->va[i], test_pfn(i),
					     test_prot(i), 0),
				 0);
}

static bool in_set(const struct va_set *s, uintptr_t va)
{
	for (int i = 0; i < s->n; i++)
		if (s->va[i] == va)
			return true;
	return false;
}

/* Valid pages next to the set's that are not in it are unmapped. */
static void expect_neighbours_unmapped(struct fixture *f,
				       const struct va_set *s)
{
	for (int i = 0; i < s->n; i++) {
		uintptr_t near[2] = { s->va[i] - PAGESIZE,
				      s->va[i] + PAGESIZE };

		for (int k = 0; k < 2; k++)
			if (case_va_valid(f->c, near[k]) && !in_set(s, near[k]))
				expect_unmapped(f, near[k]);
	}
}

/* ---- the checks ---- */

/*
 * hat_x86.c's mode tables say what the SDM says. Fails on a typo in a
 * table: a wrong shift, PAE's PDPT given 9 index bits, a large page
 * allowed where the hardware has none, or PDPTE reserved bits left out.
 */
static void mode_table_matches_the_sdm(void **state)
{
	const struct mode_case *c = ((struct fixture *)*state)->c;
	const struct pt_mode *m = c->mode;

	assert_int_equal(m->levels, c->levels);
	assert_int_equal(m->va_bits, c->va_bits);
	assert_int_equal(m->sign_extend, c->upper_start != 0);
	for (int l = 0; l < c->levels; l++) {
		assert_int_equal(m->lvl[l].shift, c->shift[l]);
		assert_int_equal(m->lvl[l].bits, c->bits[l]);
		assert_int_equal(m->lvl[l].large, c->large[l]);
		assert_int_equal(m->lvl[l].rsvd,
				 l == c->levels - 1 ? c->rsvd_top : 0);
	}
}

/*
 * Pages at the first and last entry of every level, at the top of the
 * lower half and in the upper half, each map their own frame and
 * protection, and their neighbours stay unmapped. Fails if an index is
 * cut from the wrong bits (two pages share an entry, so one frame shows
 * for both), if the upper half is not sign-extended right, if high
 * physical address bits are dropped, or if protections are mis-encoded.
 */
static void memload_translates_at_index_boundaries(void **state)
{
	struct fixture *f = *state;
	struct va_set s;

	boundary_vas(f->c, &s);
	map_set(f, &s);
	for (int i = 0; i < s.n; i++)
		expect_mapped(f, s.va[i], test_pfn(i), test_prot(i), 0, 0);
	expect_neighbours_unmapped(f, &s);
	check_tree(f);
}

/* Unmap the whole lower half, and the whole upper half, in one call each. */
static void unload_both_halves(struct fixture *f)
{
	assert_int_equal(hat_unload(&f->hat, 0, f->c->lower_end), 0);
	if (f->c->upper_start != 0)
		assert_int_equal(hat_unload(&f->hat, f->c->upper_start,
					    0 - f->c->upper_start),
				 0);
}

/*
 * Unmapping page by page, or a whole half at once (a range that ends at
 * the top of the address space), gives back every table but the root,
 * each only once its parent entry is cleared and its span flushed, and
 * hat_free gives back the root. Fails if empty tables are kept, if only
 * the lowest empty table is freed and not its emptied parents, if a
 * table is freed before it is unlinked or before the flush (a CPU may
 * still walk it), if h_ptpages miscounts, or if a range ending at 2^64
 * overflows.
 */
static void unmapping_everything_frees_all_tables_but_the_root(void **state)
{
	struct fixture *f = *state;
	uintptr_t big = 3 * SZ_2M;
	struct va_set s;

	boundary_vas(f->c, &s);
	map_set(f, &s);
	assert_int_equal(hat_devload(&f->hat, big, SZ_2M, 0x400, PROT_READ, 0),
			 0);
	assert_int_equal(hat_memload(&f->hat, big + PAGESIZE, 9, PROT_READ, 0),
			 0);
	check_tree(f);
	for (int i = 0; i < s.n; i++) {
		nflush = 0;
		assert_int_equal(hat_unload(&f->hat, s.va[i], PAGESIZE), 0);
	}
	assert_int_equal(hat_unload(&f->hat, big, SZ_2M), 0);
	expect_only_root(f);
	map_set(f, &s);
	check_tree(f);
	unload_both_halves(f);
	expect_only_root(f);
	free_hat(&f->hat);
	assert_int_equal(simmem_allocs(), simmem_frees());
	assert_int_equal(f->hat.h_ptpages, 0);
}

/* The leaf level that maps a 1 GiB-aligned GiB: the PDPT, or PAE's PD. */
static int gig_level(const struct mode_case *c)
{
	return c->large[2] ? 2 : 1;
}

/* [va, va + len) maps frames pfn.. with leaves at level l (3 pages). */
static void expect_run(struct fixture *f, uintptr_t va, uint64_t len,
		       pfn_t pfn, int l)
{
	uint64_t pages[3] = { 0, len / PAGESIZE / 2, len / PAGESIZE - 1 };

	for (int i = 0; i < 3; i++)
		expect_mapped(f, va + pages[i] * PAGESIZE, pfn + pages[i],
			      PROT_READ | PROT_WRITE, 0, l);
}

/* devload [va, va + len) read-write, expect leaves at level l, unmap. */
static void devload_one_size(struct fixture *f, uintptr_t va, uint64_t len,
			     pfn_t pfn, int l, unsigned long tables)
{
	assert_int_equal(hat_devload(&f->hat, va, len, pfn,
				     PROT_READ | PROT_WRITE, 0),
			 0);
	expect_run(f, va, len, pfn, l);
	assert_int_equal(f->hat.h_ptpages, tables);
	check_tree(f);
	assert_int_equal(hat_unload(&f->hat, va, len), 0);
	expect_only_root(f);
}

/*
 * 4K + 2M + 1G + 2M + 4K, laid so that each piece gets the largest page
 * that fits: 4 KiB, 2 MiB, 1 GiB (2 MiB pages on PAE), 2 MiB, 4 KiB.
 */
static void devload_mixed_sizes(struct fixture *f)
{
	uintptr_t va = SZ_1G - SZ_2M - PAGESIZE;
	uint64_t len = PAGESIZE + SZ_2M + SZ_1G + SZ_2M + PAGESIZE;
	pfn_t pfn = (4 * SZ_1G + va) >> PAGESHIFT;
	uint64_t p = pfn - (va >> PAGESHIFT); /* frame = p + va / 4K */

	assert_int_equal(hat_devload(&f->hat, va, len, pfn,
				     PROT_READ | PROT_WRITE, 0),
			 0);
	expect_run(f, va, PAGESIZE, pfn, 0);
	expect_run(f, SZ_1G - SZ_2M, SZ_2M, p + ((SZ_1G - SZ_2M) >> 12), 1);
	expect_run(f, SZ_1G, SZ_1G, p + (SZ_1G >> 12), gig_level(f->c));
	expect_run(f, 2 * SZ_1G, SZ_2M, p + (2 * SZ_1G >> 12), 1);
	expect_run(f, 2 * SZ_1G + SZ_2M, PAGESIZE,
		   p + ((2 * SZ_1G + SZ_2M) >> 12), 0);
	check_tree(f);
	assert_int_equal(hat_unload(&f->hat, va, len), 0);
	expect_only_root(f);
}

/*
 * hat_devload maps each piece with the largest page its virtual and
 * physical alignment and the length allow, and no table more than it
 * needs; PAE gets 2 MiB pages where the others get a 1 GiB one, as its
 * PDPT has no PS bit. Fails if devload always maps 4 KiB pages, ignores
 * the physical alignment (wrong frames), puts a 1 GiB leaf in a PAE PDPT
 * (a reserved bit: #GP when CR3 is loaded), or allocates stray tables.
 */
static void devload_uses_the_largest_pages_that_fit(void **state)
{
	struct fixture *f = *state;
	int levels = f->c->levels, g = gig_level(f->c);

	devload_one_size(f, 5 * SZ_2M, SZ_2M, (7 * SZ_2M) >> PAGESHIFT, 1,
			 levels - 1);
	devload_one_size(f, SZ_1G, SZ_1G, (3 * SZ_1G) >> PAGESHIFT, g,
			 levels - g);
	/* A frame 4 KiB off 2 MiB alignment: only 4 KiB pages fit. */
	devload_one_size(f, 8 * SZ_2M, SZ_2M, ((7 * SZ_2M) >> PAGESHIFT) + 1,
			 0, levels);
	devload_mixed_sizes(f);
}

/* A sample of the pages of [v, v + size): whole 2 MiB ends, one whole 2 MiB,
 * and some at random. */
static void check_unchanged_pages(struct fixture *f, uintptr_t v,
				  uint64_t size, pfn_t p, uintptr_t mid)
{
	struct test_rng rng = { .x = test_seed() };
	uintptr_t block = mid & ~(SZ_2M - 1);
	int outside = size > SZ_2M ? 1 : 0; /* untouched 2 MiB stay large */

	for (uintptr_t va = block; va < block + SZ_2M; va += PAGESIZE)
		if (va < mid || va > mid + 2 * PAGESIZE)
			expect_mapped(f, va, p + (va - v) / PAGESIZE,
				      PROT_READ | PROT_WRITE, HAT_NOCACHE, 0);
	for (uintptr_t b = v; b < v + size && outside; b += SZ_2M) {
		uintptr_t va[3] = { b, b + SZ_2M - PAGESIZE,
				    b + test_rng_below(&rng, 512) * PAGESIZE };

		for (int k = 0; k < 3 && b != block; k++)
			expect_mapped(f, va[k], p + (va[k] - v) / PAGESIZE,
				      PROT_READ | PROT_WRITE, HAT_NOCACHE, 1);
	}
}

/* Map a large page at level l, then unmap, protect and remap 3 pages. */
static void split_one_size(struct fixture *f, int l)
{
	uint64_t size = span(f->c, l);
	uintptr_t v = 2 * size, mid = v + size / 2;
	pfn_t p = (5 * size) >> PAGESHIFT, mid_pfn = p + size / 2 / PAGESIZE;

	assert_int_equal(hat_devload(&f->hat, v, size, p,
				     PROT_READ | PROT_WRITE, HAT_NOCACHE),
			 0);
	assert_int_equal(hat_unload(&f->hat, mid, PAGESIZE), 0);
	assert_int_equal(hat_chgprot(&f->hat, mid + PAGESIZE, PAGESIZE,
				     PROT_READ | PROT_EXEC | PROT_USER),
			 0);
	assert_int_equal(hat_memload(&f->hat, mid + 2 * PAGESIZE, 0x777,
				     PROT_READ, 0),
			 0);
	expect_unmapped(f, mid);
	expect_mapped(f, mid + PAGESIZE, mid_pfn + 1,
		      PROT_READ | PROT_EXEC | PROT_USER, HAT_NOCACHE, 0);
	expect_mapped(f, mid + 2 * PAGESIZE, 0x777, PROT_READ, 0, 0);
	check_unchanged_pages(f, v, size, p, mid);
	check_tree(f);
	assert_int_equal(hat_unload(&f->hat, v, size), 0);
	expect_only_root(f);
}

/*
 * Unmapping, protecting and remapping one 4 KiB page inside a 2 MiB or
 * 1 GiB page leaves every other page on its own frame with its old
 * protection and cache flags, and a split 1 GiB page keeps its other
 * 2 MiB as large pages. Fails if a split maps every small page to the
 * large page's first frame, drops the protection or HAT_NOCACHE, splits
 * by the wrong size, or unmaps the whole large page.
 */
static void split_keeps_the_rest_of_a_large_page(void **state)
{
	struct fixture *f = *state;

	split_one_size(f, 1);
	if (f->c->large[2])
		split_one_size(f, 2);
}

/* The leaf bits for va are those of a leaf for pfn/prot/flags at level l. */
static void expect_leaf_bits(struct fixture *f, uintptr_t va, int l,
			     pfn_t pfn, unsigned prot, unsigned flags)
{
	uint64_t pte[PT_MAXLEVELS], mask, want;
	int got = hw_walk(f, va, pte);

	assert_int_equal(got, l);
	mask = PTE_ADDR | PTE_P | PTE_W | PTE_U | PTE_PS | PTE_PCD | PTE_NX;
	want = (pfn << PAGESHIFT) | PTE_P | (l > 0 ? PTE_PS : 0) |
	       ((prot & PROT_WRITE) ? PTE_W : 0) |
	       ((prot & PROT_USER) ? PTE_U : 0) |
	       ((prot & PROT_EXEC) ? 0 : PTE_NX) |
	       ((flags & HAT_NOCACHE) ? PTE_PCD : 0);
	if ((pte[l] & mask) != want)
		fail_msg("va %#lx: leaf %#llx, want %#llx in the bits %#llx",
			 (unsigned long)va, (unsigned long long)pte[l],
			 (unsigned long long)want, (unsigned long long)mask);
	for (int k = f->c->levels - 1; k > l; k--)
		expect_table_entry_ok(f->c, k, pte[k]);
}

/* Map va with every right, then cut it down to prot. */
static void chgprot_down_to(struct fixture *f, uintptr_t va, unsigned prot)
{
	assert_int_equal(hat_memload(&f->hat, va, 0x321, PROT_ALL, 0), 0);
	assert_int_equal(hat_chgprot(&f->hat, va, PAGESIZE, prot), 0);
	expect_mapped(f, va, 0x321, prot | PROT_READ, 0, 0);
	expect_leaf_bits(f, va, 0, 0x321, prot, 0);
}

/*
 * Every combination of write, exec and user, whether set by memload or
 * by chgprot taking rights away, gives the leaf the right R/W, U/S and NX
 * bits, keeps HAT_NOCACHE, and works on a 2 MiB leaf without splitting
 * it; the table entries above grant everything. chgprot over nothing
 * maps nothing. Fails if NX is inverted, if chgprot ORs new bits into the
 * old ones (rights never go away), if table entries lack U/S (user pages
 * unreachable) or carry NX, or if chgprot allocates tables.
 */
static void protections_set_the_right_leaf_bits(void **state)
{
	struct fixture *f = *state;
	uintptr_t small = 0x40000000, nc = 0x40200000, big = 0x40400000;
	unsigned long tables;

	for (unsigned k = 0; k < 8; k++) {
		unsigned prot = PROT_READ | k << 1;

		chgprot_down_to(f, small + k * PAGESIZE, prot);
		assert_int_equal(hat_memload(&f->hat, nc + k * PAGESIZE, 0x55,
					     prot, HAT_NOCACHE),
				 0);
		expect_leaf_bits(f, nc + k * PAGESIZE, 0, 0x55, prot,
				 HAT_NOCACHE);
		assert_int_equal(hat_chgprot(&f->hat, nc + k * PAGESIZE,
					     PAGESIZE, PROT_ALL),
				 0);
		expect_mapped(f, nc + k * PAGESIZE, 0x55, PROT_ALL,
			      HAT_NOCACHE, 0);
	}
	assert_int_equal(hat_devload(&f->hat, big, SZ_2M, 0x200, PROT_READ, 0),
			 0);
	assert_int_equal(hat_chgprot(&f->hat, big, SZ_2M,
				     PROT_READ | PROT_WRITE | PROT_USER),
			 0);
	expect_leaf_bits(f, big, 1, 0x200, PROT_WRITE | PROT_USER, 0);
	tables = f->hat.h_ptpages;
	assert_int_equal(hat_chgprot(&f->hat, 3 * SZ_1G, 2 * SZ_2M, PROT_ALL),
			 0);
	expect_unmapped(f, 3 * SZ_1G);
	assert_int_equal(f->hat.h_ptpages, tables);
	check_tree(f);
}

/*
 * With a page and a 2 MiB page in each GiB of the 32-bit space, every
 * table entry is as the SDM wants it, and PAE's four PDPTEs carry none of
 * their reserved bits. Fails if pte_table() gives a PDPTE R/W or U/S (the
 * CPU refuses such a CR3 with #GP), or puts a large page in one.
 */
static void table_entries_have_no_reserved_bits(void **state)
{
	struct fixture *f = *state;
	const uint64_t *root = table_at(f->hat.h_root);
	int top = f->c->levels - 1;

	for (uintptr_t q = 0; q < 4; q++) {
		assert_int_equal(hat_memload(&f->hat, q * SZ_1G + PAGESIZE,
					     0x10 + q, PROT_ALL, 0),
				 0);
		assert_int_equal(hat_devload(&f->hat, q * SZ_1G + 4 * SZ_2M,
					     SZ_2M, 0x200 * (q + 1), PROT_ALL,
					     0),
				 0);
	}
	for (unsigned i = 0; i < entries(f->c, top); i++) {
		uint64_t rsvd = f->c->rsvd_top | f->c->mode->lvl[top].rsvd;

		if (root[i] & PTE_P)
			assert_int_equal(root[i] & rsvd, 0);
	}
	if (f->c->rsvd_top != 0)
		for (unsigned i = 0; i < 4; i++)
			assert_true(root[i] & PTE_P);
	check_tree(f);
}

/* Every call rejects [va, va + len) and leaves the hat as it was. */
static void expect_range_rejected(struct fixture *f, uintptr_t va,
				  uint64_t len)
{
	unsigned long allocs = simmem_allocs();
	struct hat *h = &f->hat;

	if (len == PAGESIZE)
		assert_int_equal(hat_memload(h, va, 1, PROT_READ, 0), -EINVAL);
	assert_int_equal(hat_devload(h, va, len, 1, PROT_READ, 0), -EINVAL);
	assert_int_equal(hat_unload(h, va, len), -EINVAL);
	assert_int_equal(hat_chgprot(h, va, len, PROT_READ), -EINVAL);
	assert_int_equal(simmem_allocs(), allocs);
}

/* The pages either side of each half's edges. */
static void expect_edges_valid(struct fixture *f)
{
	const struct mode_case *c = f->c;

	assert_true(hat_va_valid(c->mode, 0));
	assert_true(hat_va_valid(c->mode, c->lower_end - 1));
	assert_false(hat_va_valid(c->mode, c->lower_end));
	if (c->upper_start == 0)
		return;
	assert_false(hat_va_valid(c->mode, c->upper_start - 1));
	assert_true(hat_va_valid(c->mode, c->upper_start));
	assert_true(hat_va_valid(c->mode, ~(uintptr_t)0));
}

/*
 * Addresses the mode cannot translate (non-canonical, or above 4 GiB in
 * PAE) are refused with -EINVAL by every call, before any table is
 * allocated, and so is a range that runs off the end of a half, jumps
 * the hole from one half to the other, or wraps past 2^64; hat_va_valid
 * agrees, and the pages at the edges work. PAE has no halves: a range
 * across 2 GiB is fine. Fails if sign extension is not checked
 * (0x0000800000000000 lands in PML4 entry 256, the upper half's), if only
 * the ends of a range are checked (one across the hole walks the root
 * table round and unmaps outside the range), if PAE is given a hole, or
 * if va + len wrapping to 0 is taken as a small range.
 */
static void noncanonical_addresses_are_rejected(void **state)
{
	struct fixture *f = *state;
	const struct mode_case *c = f->c;

	for (int i = 0; i < 4; i++) {
		assert_false(hat_va_valid(c->mode, c->bad[i]));
		expect_range_rejected(f, c->bad[i], PAGESIZE);
		assert_int_equal(hat_getpfnum(&f->hat, c->bad[i]), PFN_INVALID);
	}
	expect_range_rejected(f, c->lower_end - PAGESIZE, 2 * PAGESIZE);
	expect_range_rejected(f, c->lower_end - SZ_2M, 2 * SZ_2M);
	expect_range_rejected(f, 0 - PAGESIZE, 2 * PAGESIZE);
	if (c->upper_start != 0) {
		expect_range_rejected(f, c->upper_start - PAGESIZE,
				      2 * PAGESIZE);
		expect_range_rejected(f, c->lower_end - PAGESIZE,
				      c->upper_start - c->lower_end +
					      2 * PAGESIZE);
	} else {
		assert_int_equal(hat_unload(&f->hat, 0, c->lower_end), 0);
		assert_int_equal(hat_chgprot(&f->hat, 0x7ffff000, 2 * PAGESIZE,
					     PROT_READ),
				 0);
	}
	expect_edges_valid(f);
	assert_int_equal(hat_memload(&f->hat, c->lower_end - PAGESIZE, 3,
				     PROT_READ, 0),
			 0);
	expect_mapped(f, c->lower_end - PAGESIZE, 3, PROT_READ, 0, 0);
	if (c->upper_start != 0) {
		assert_int_equal(hat_devload(&f->hat, c->upper_start, SZ_2M,
					     0x400, PROT_READ, 0),
				 0);
		expect_mapped(f, c->upper_start, 0x400, PROT_READ, 0, 1);
	}
}

/*
 * A va or length that is not whole pages, and an empty range, get
 * -EINVAL and change nothing. Fails if a misaligned va is rounded (the
 * page below gets mapped or unmapped), or if len 0 is taken as "all"
 * (va + len - 1 wraps) or unmaps the page at va.
 */
static void misaligned_or_empty_ranges_are_rejected(void **state)
{
	struct fixture *f = *state;
	uintptr_t va = 0x400000;

	assert_int_equal(hat_memload(&f->hat, va, 0x99, PROT_READ, 0), 0);
	expect_range_rejected(f, va + 1, PAGESIZE);
	expect_range_rejected(f, va + 0x800, PAGESIZE);
	expect_range_rejected(f, va, PAGESIZE + 0x10);
	expect_range_rejected(f, va, 0x800);
	expect_range_rejected(f, va, 0);
	expect_mapped(f, va, 0x99, PROT_READ, 0, 0);
	check_tree(f);
}

/*
 * memload at far fails for each table it needs in turn; nothing breaks.
 * Tables the failed walk did get may stay, empty, until an unload of
 * their range gives them back.
 */
static void memload_fails_at_each_level(struct fixture *f, uintptr_t far)
{
	for (int k = 0; k < f->c->levels - 1; k++) {
		simmem_fail_after(k);
		assert_int_equal(hat_memload(&f->hat, far, 5, PROT_READ, 0),
				 -ENOMEM);
		simmem_fail_after(-1);
		expect_unmapped(f, far);
		expect_mapped(f, 0, 4, PROT_READ, 0, 0);
		check_tree_allowing_empty(f, true);
		assert_int_equal(hat_unload(&f->hat, far, PAGESIZE), 0);
		check_tree(f);
	}
	assert_int_equal(hat_memload(&f->hat, far, 5, PROT_READ, 0), 0);
	expect_mapped(f, far, 5, PROT_READ, 0, 0);
}

/* With no page for a split, the large page at v stays whole. */
static void split_fails_cleanly(struct fixture *f, uintptr_t v)
{
	uintptr_t in = v + PAGESIZE;

	assert_int_equal(hat_devload(&f->hat, v, SZ_2M, 0x200, PROT_READ, 0),
			 0);
	simmem_fail_after(0);
	assert_int_equal(hat_memload(&f->hat, in, 7, PROT_ALL, 0), -ENOMEM);
	assert_int_equal(hat_unload(&f->hat, in, PAGESIZE), -ENOMEM);
	assert_int_equal(hat_chgprot(&f->hat, in, PAGESIZE, PROT_ALL), -ENOMEM);
	simmem_fail_after(-1);
	expect_mapped(f, v, 0x200, PROT_READ, 0, 1);
	expect_mapped(f, in, 0x201, PROT_READ, 0, 1);
	expect_mapped(f, v + SZ_2M - PAGESIZE, 0x3ff, PROT_READ, 0, 1);
}

/*
 * When hat_ptpage_alloc() returns 0, at any level of a walk or in a
 * split, the call returns -ENOMEM; mappings made before stay, h_ptpages
 * counts the pages really held, and unmapping and hat_free still give
 * every page back. Fails if the walker uses the 0 as a table (a panic
 * here, memory corruption in the kernel), counts a page it did not get,
 * or takes a large page apart before it has the page for the split.
 */
static void running_out_of_table_pages_gives_enomem(void **state)
{
	struct fixture *f = *state;
	struct hat other;
	uintptr_t ones = 0;

	for (int l = 0; l < f->c->levels; l++)
		ones += span(f->c, l);
	assert_int_equal(hat_memload(&f->hat, 0, 4, PROT_READ, 0), 0);
	memload_fails_at_each_level(f, ones);
	split_fails_cleanly(f, 5 * SZ_2M);
	simmem_fail_after(0);
	assert_int_equal(hat_devload(&f->hat, 2 * SZ_1G, SZ_2M, 0, PROT_READ, 0),
			 -ENOMEM);
	assert_int_equal(hat_init(&other, f->c->mode), -ENOMEM);
	simmem_fail_after(-1);
	check_tree_allowing_empty(f, true);
	unload_both_halves(f);
	expect_only_root(f);
}

/* The call (run by the caller) flushed [va, va + len). */
static void expect_flushed(struct fixture *f, uintptr_t va, uint64_t len)
{
	if (!flushed(&f->hat, va, len))
		fail_msg("hat_tlb_flush calls left part of [%#lx, +%#llx) "
			 "unflushed (%zu ranges logged)",
			 (unsigned long)va, (unsigned long long)len, nflush);
	nflush = 0;
}

/* Flushes for a 4 KiB page changed, protected and unmapped in turn. */
static void small_changes_flush(struct fixture *f, uintptr_t va)
{
	assert_int_equal(hat_memload(&f->hat, va, 1, PROT_ALL, 0), 0);
	nflush = 0;
	assert_int_equal(hat_memload(&f->hat, va, 2, PROT_ALL, 0), 0);
	expect_flushed(f, va, PAGESIZE);
	assert_int_equal(hat_chgprot(&f->hat, va, PAGESIZE, PROT_READ), 0);
	expect_flushed(f, va, PAGESIZE);
	assert_int_equal(hat_unload(&f->hat, va, PAGESIZE), 0);
	expect_flushed(f, va, PAGESIZE);
}

/* Flushes for a 2 MiB page split, protected whole and unmapped whole. */
static void large_changes_flush(struct fixture *f, uintptr_t v)
{
	assert_int_equal(hat_devload(&f->hat, v, 2 * SZ_2M, 0x400, PROT_ALL, 0),
			 0);
	nflush = 0;
	assert_int_equal(hat_unload(&f->hat, v + 7 * PAGESIZE, PAGESIZE), 0);
	expect_flushed(f, v, SZ_2M);
	assert_int_equal(hat_chgprot(&f->hat, v + SZ_2M, SZ_2M, PROT_READ), 0);
	expect_flushed(f, v + SZ_2M, SZ_2M);
	assert_int_equal(hat_unload(&f->hat, v + SZ_2M, SZ_2M), 0);
	expect_flushed(f, v + SZ_2M, SZ_2M);
	/* A large page put over a table of small ones: the old page goes. */
	assert_int_equal(hat_devload(&f->hat, v, SZ_2M, 0x600, PROT_ALL, 0), 0);
	expect_flushed(f, v + 3 * PAGESIZE, PAGESIZE);
}

/*
 * Every change to a present entry is followed, before the call returns,
 * by hat_tlb_flushes for this hat that together cover every page the old
 * entry mapped, and a split flushes the whole large page (the TLB may
 * hold it as one entry). How many calls does not matter: one per entry,
 * one per page, or one over everything. Fails if a replace, protect or
 * unmap skips the flush (the CPU keeps using the old translation), if a
 * split flushes only the page being changed, or if the flushes leave out
 * any page of the entry's span.
 */
static void changes_flush_the_tlb(void **state)
{
	struct fixture *f = *state;

	small_changes_flush(f, 0x5000);
	large_changes_flush(f, 4 * SZ_2M);
	if (f->c->large[2]) {
		assert_int_equal(hat_devload(&f->hat, SZ_1G, SZ_1G, 0x40000,
					     PROT_ALL, 0),
				 0);
		nflush = 0;
		assert_int_equal(hat_memload(&f->hat, SZ_1G + SZ_1G / 2, 3,
					     PROT_READ, 0),
				 0);
		expect_flushed(f, SZ_1G, SZ_1G);
	}
}

/* ---- the model-based random test ---- */

#define RANDOM_STEPS 17000 /* per mode */
#define SWEEP_EVERY 500	   /* steps between full checks of the hot zones */
#define HOT_PAGES 1024	   /* a hot zone: a GiB boundary +- this many pages */
#define SAMPLES_MAX 256

enum op_kind { OP_MEMLOAD, OP_DEVLOAD, OP_UNLOAD, OP_CHGPROT };

static const char *const op_names[] = { "memload", "devload", "unload",
					"chgprot" };

struct op {
	enum op_kind kind;
	uintptr_t va;
	uint64_t len;
	pfn_t pfn;
	unsigned prot, flags;
	bool bad; /* misaligned or empty: must get -EINVAL */
};

struct sample {
	uintptr_t va;
	struct model_page old;
};

struct run {
	struct fixture *f;
	struct test_rng rng;
	uint64_t seed;
	struct sample samples[SAMPLES_MAX];
	int nsamples;
};

static uint64_t below(struct run *r, uint64_t n)
{
	return test_rng_below(&r->rng, n);
}

static uint64_t model_pages(const struct mode_case *c)
{
	uint64_t n = 0;

	for (int a = 0; a < c->nareas; a++)
		n += c->areas[a].size / PAGESIZE;
	return n;
}

/* va's page in the model, or NULL outside every area (never mapped). */
static struct model_page *model_at(struct fixture *f, uintptr_t va)
{
	struct model_page *p = f->model;

	for (int a = 0; a < f->c->nareas; a++) {
		const struct area *ar = &f->c->areas[a];

		if (va - ar->start < ar->size)
			return p + (va - ar->start) / PAGESIZE;
		p += ar->size / PAGESIZE;
	}
	return NULL;
}

static struct model_page model_get(struct fixture *f, uintptr_t va)
{
	struct model_page *p = model_at(f, va);

	return p != NULL ? *p : (struct model_page){ 0 };
}

static bool same_page(struct model_page a, struct model_page b)
{
	return a.mapped == b.mapped &&
	       (!a.mapped || (a.pfn == b.pfn && a.prot == b.prot &&
			      a.nocache == b.nocache));
}

static void model_apply(struct fixture *f, const struct op *op)
{
	struct model_page *p = model_at(f, op->va);

	for (uint64_t i = 0; i < op->len / PAGESIZE; i++, p++) {
		if (op->kind == OP_UNLOAD)
			*p = (struct model_page){ 0 };
		else if (op->kind == OP_CHGPROT)
			p->prot = p->mapped ? op->prot : 0;
		else
			*p = (struct model_page){
				.pfn = op->pfn + i,
				.prot = op->prot,
				.nocache = (op->flags & HAT_NOCACHE) != 0,
				.mapped = 1,
			};
	}
}

/* Page offset `off` within area a, moved inside so len bytes fit. */
static uintptr_t place(const struct area *a, int64_t off, uint64_t len)
{
	if (off < 0)
		off = 0;
	if ((uint64_t)off > a->size - len)
		off = (int64_t)(a->size - len);
	return a->start + (uint64_t)off;
}

/*
 * A range in one area: mostly a few pages near a GiB boundary (where
 * level boundaries meet), sometimes a few MiB that may cut 2 MiB pages,
 * rarely a whole GiB or two.
 */
static void pick_range(struct run *r, bool one_page, struct op *op)
{
	const struct area *a = &r->f->c->areas[below(r, r->f->c->nareas)];
	int64_t hot = (int64_t)(below(r, a->size / SZ_1G + 1) * SZ_1G);
	unsigned p = one_page ? 999 : below(r, 1000);

	if (p >= 250) {
		op->len = (one_page ? 1 : 1 + below(r, 8)) * PAGESIZE;
		hot += ((int64_t)below(r, 512) - 256) * (int64_t)PAGESIZE;
	} else if (p >= 6) {
		op->len = (1 + below(r, 3)) * SZ_2M +
			  ((int64_t)below(r, 33) - 16) * (int64_t)PAGESIZE;
		hot += ((int64_t)below(r, 8) - 4) * (int64_t)SZ_2M;
		if (below(r, 2))
			hot += ((int64_t)below(r, 512) - 256) * (int64_t)PAGESIZE;
	} else {
		op->len = SZ_1G << below(r, 2);
		hot = (int64_t)(below(r, (a->size - op->len) / SZ_1G + 1) * SZ_1G);
	}
	op->va = place(a, hot, op->len);
}

/* Frames: 1 GiB-aligned for a GiB, mostly congruent with va mod 2 MiB. */
static pfn_t pick_pfn(struct run *r, const struct op *op)
{
	if (op->len >= SZ_1G)
		return (1 + below(r, 8)) << (30 - PAGESHIFT);
	switch (below(r, 4)) {
	case 0:
		return 1 + below(r, 1 << 20);
	case 1: /* near the top of 52-bit physical addresses */
		return (1ULL << 40) - (1 << 20) + below(r, 1 << 19);
	default:
		return ((1 + below(r, 1024)) << 9) +
		       ((op->va >> PAGESHIFT) & 511);
	}
}

/* Make op one the hat must refuse: misaligned va or length, or empty. */
static void spoil(struct run *r, struct op *op)
{
	switch (op->kind == OP_MEMLOAD ? 0 : below(r, 3)) {
	case 0:
		op->va += 0x800;
		break;
	case 1:
		op->len += 0x10;
		break;
	default:
		op->len = 0;
	}
	op->bad = true;
}

static struct op pick_op(struct run *r)
{
	struct op op = { 0 };
	unsigned k = below(r, 100);

	op.kind = k < 35 ? OP_MEMLOAD : k < 50 ? OP_DEVLOAD
				   : k < 80 ? OP_UNLOAD : OP_CHGPROT;
	pick_range(r, op.kind == OP_MEMLOAD, &op);
	op.pfn = pick_pfn(r, &op);
	op.prot = PROT_READ | (unsigned)below(r, 8) << 1;
	op.flags = below(r, 10) == 0 ? HAT_NOCACHE : 0;
	if (below(r, 50) == 0)
		spoil(r, &op);
	return op;
}

static int run_op(struct hat *hat, const struct op *op)
{
	switch (op->kind) {
	case OP_MEMLOAD:
		return hat_memload(hat, op->va, op->pfn, op->prot, op->flags);
	case OP_DEVLOAD:
		return hat_devload(hat, op->va, op->len, op->pfn, op->prot,
				   op->flags);
	case OP_UNLOAD:
		return hat_unload(hat, op->va, op->len);
	default:
		return hat_chgprot(hat, op->va, op->len, op->prot);
	}
}

static void describe(struct run *r, int step, const struct op *op)
{
	libc_snprintf(ctx, sizeof(ctx),
		      "%s, TEST_SEED=%llu, step %d: %s va %#lx len %#llx pfn "
		      "%#llx prot %#x flags %#x: ",
		      r->f->c->name, (unsigned long long)r->seed, step,
		      op_names[op->kind], (unsigned long)op->va,
		      (unsigned long long)op->len, (unsigned long long)op->pfn,
		      op->prot, op->flags);
}

static void add_sample(struct run *r, uintptr_t va)
{
	if (!case_va_valid(r->f->c, va) || r->nsamples == SAMPLES_MAX)
		return;
	r->samples[r->nsamples++] = (struct sample){ va, model_get(r->f, va) };
}

/* The first and last page of the size-aligned block holding va, and 4 more. */
static void add_block(struct run *r, uintptr_t va, uint64_t size)
{
	uintptr_t base = va & ~(size - 1);

	add_sample(r, base);
	add_sample(r, base + size - PAGESIZE);
	for (int i = 0; i < 4; i++)
		add_sample(r, base + below(r, size / PAGESIZE) * PAGESIZE);
}

/* A page near a GiB boundary, or anywhere in an area. */
static uintptr_t random_page(struct run *r, bool hot)
{
	const struct area *a = &r->f->c->areas[below(r, r->f->c->nareas)];
	int64_t off = (int64_t)(below(r, a->size / SZ_1G + 1) * SZ_1G) +
		      ((int64_t)below(r, 2 * HOT_PAGES) - HOT_PAGES) *
			      (int64_t)PAGESIZE;

	if (!hot)
		off = (int64_t)(below(r, a->size / PAGESIZE) * PAGESIZE);
	return place(a, off, PAGESIZE);
}

/*
 * The pages to check after op, with their translation before it: the
 * range (all of it, or its ends and some inside), the pages either side,
 * the 2 MiB and 1 GiB blocks its ends fall in (where splits happen), and
 * some random pages.
 */
static void pick_samples(struct run *r, const struct op *op)
{
	uintptr_t va = op->va & ~(PAGESIZE - 1);
	uint64_t pages = MAX(op->len / PAGESIZE, 1);
	uintptr_t last = va + (pages - 1) * PAGESIZE;

	r->nsamples = 0;
	for (uint64_t i = 0; i < pages && i < 32; i++) {
		add_sample(r, va + i * PAGESIZE);
		add_sample(r, last - i * PAGESIZE);
	}
	for (int i = 0; i < 64 && pages > 64; i++)
		add_sample(r, va + below(r, pages) * PAGESIZE);
	add_sample(r, va - PAGESIZE);
	add_sample(r, last + PAGESIZE);
	add_block(r, va, SZ_2M);
	add_block(r, last, SZ_2M);
	add_block(r, va, SZ_1G);
	add_block(r, last, SZ_1G);
	for (int i = 0; i < 24; i++)
		add_sample(r, random_page(r, i < 16));
}

static struct want want_of(struct model_page p)
{
	return (struct want){ p.mapped, p.pfn, p.prot,
			      p.nocache ? HAT_NOCACHE : 0, -1 };
}

/* Check va against the model; fail, showing the walk, if it differs. */
static void check_page(struct run *r, uintptr_t va)
{
	struct want w = want_of(model_get(r->f, va));
	char why[256];

	if (!translates_as(r->f, va, &w, why, sizeof(why))) {
		hat_ptwalk_print(&r->f->hat, va);
		fail_msg("%s%s", ctx, why);
	}
}

/* Every sample matches the model; one whose translation changed was flushed. */
static void check_samples(struct run *r)
{
	for (int i = 0; i < r->nsamples; i++) {
		const struct sample *s = &r->samples[i];

		check_page(r, s->va);
		if (s->old.mapped && !same_page(s->old, model_get(r->f, s->va)) &&
		    !flushed(&r->f->hat, s->va, PAGESIZE))
			fail_msg("%sva %#lx changed, but no hat_tlb_flush "
				 "covered it", ctx, (unsigned long)s->va);
	}
}

/* Every page within HOT_PAGES of every GiB boundary of every area. */
static void sweep_hot_zones(struct run *r)
{
	for (int a = 0; a < r->f->c->nareas; a++) {
		const struct area *ar = &r->f->c->areas[a];

		for (uint64_t g = 0; g <= ar->size; g += SZ_1G)
			for (int64_t i = -HOT_PAGES; i < HOT_PAGES; i++)
				if ((int64_t)g + i * (int64_t)PAGESIZE >= 0 &&
				    g + i * PAGESIZE < ar->size)
					check_page(r, ar->start + g +
							      i * PAGESIZE);
	}
}

static void random_step(struct run *r, int step)
{
	struct op op = pick_op(r);
	int rc;

	describe(r, step, &op);
	pick_samples(r, &op);
	nflush = 0;
	rc = run_op(&r->f->hat, &op);
	if (rc != (op.bad ? -EINVAL : 0))
		fail_msg("%sreturned %d, want %d", ctx, rc,
			 op.bad ? -EINVAL : 0);
	if (!op.bad)
		model_apply(r->f, &op);
	check_samples(r);
	check_tree(r->f);
	if (step % SWEEP_EVERY == 0)
		sweep_hot_zones(r);
}

/*
 * A seeded random run of maps (4 KiB to 2 GiB, with and without large
 * pages), unmaps and protection changes (ranges that cut large pages,
 * and misaligned ones that must be refused) agrees with a flat model
 * after every step, at the pages the step touched and at random ones;
 * every changed page was flushed; and the tree stays well formed: no
 * empty table below the root, no reserved bits, h_ptpages exact. Fails
 * on any walker bug the model can see: a lost or misplaced translation
 * after a split, an unload that runs past its range, a table freed
 * while in use (a panic in kpm_va) or never freed, a missed flush.
 */
static void random_ops_match_the_model(void **state)
{
	static struct run run;
	struct fixture *f = *state;
	struct run *r = &run;

	f->model = calloc(model_pages(f->c), sizeof(*f->model));
	assert_non_null(f->model);
	*r = (struct run){ .f = f, .seed = test_seed() };
	r->rng.x = r->seed;
	print_message("%s: seed %llu (TEST_SEED=<seed> to replay)\n",
		      f->c->name, (unsigned long long)r->seed);
	for (int step = 1; step <= RANDOM_STEPS; step++)
		random_step(r, step);
	ctx[0] = '\0';
	for (int a = 0; a < f->c->nareas; a++)
		assert_int_equal(hat_unload(&f->hat, f->c->areas[a].start,
					    f->c->areas[a].size),
				 0);
	expect_only_root(f);
}

/* ---- main: every check in every mode ---- */

static const struct {
	const char *name;
	CMUnitTestFunction fn;
} checks[] = {
#define CHECK(fn) { #fn, fn }
	CHECK(mode_table_matches_the_sdm),
	CHECK(memload_translates_at_index_boundaries),
	CHECK(unmapping_everything_frees_all_tables_but_the_root),
	CHECK(devload_uses_the_largest_pages_that_fit),
	CHECK(split_keeps_the_rest_of_a_large_page),
	CHECK(protections_set_the_right_leaf_bits),
	CHECK(table_entries_have_no_reserved_bits),
	CHECK(noncanonical_addresses_are_rejected),
	CHECK(misaligned_or_empty_ranges_are_rejected),
	CHECK(running_out_of_table_pages_gives_enomem),
	CHECK(changes_flush_the_tlb),
	CHECK(random_ops_match_the_model),
#undef CHECK
};

int main(void)
{
	static struct CMUnitTest tests[ARRAY_SIZE(cases) * ARRAY_SIZE(checks)];
	static char names[ARRAY_SIZE(tests)][80];
	size_t n = 0;

	signal(SIGALRM, timed_out);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		for (size_t k = 0; k < ARRAY_SIZE(checks); k++, n++) {
			libc_snprintf(names[n], sizeof(names[n]), "%s: %s",
				      cases[i].name, checks[k].name);
			tests[n] = (struct CMUnitTest){
				.name = names[n],
				.test_func = checks[k].fn,
				.setup_func = setup,
				.teardown_func = teardown,
				.initial_state = (void *)&cases[i],
			};
		}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
