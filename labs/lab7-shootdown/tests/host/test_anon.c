/*
 * test_anon.c — anonymous memory on the host: the kernel's own
 * kern/vm/vm_anon.c and spinlocks, over the fake page allocator and kmem
 * of vmfake.h and simmem's pages.
 *
 * This is lab 6's host test. Lab 6 makes slots shared: anon_decref()
 * counts holders out, anon_dup() shares a range with another map,
 * anon_private() copies for a writer. On lab 6's stubs every test that
 * needs one of them fails and says which; the others pass.
 *
 * The unit tests each pin one behaviour down and say in their comment
 * which bug fails them. Where a test needs a slot with several holders
 * and is not about anon_dup, it raises an_refcnt by hand, as forks would
 * have. The random test runs seeded alloc, dup, private, write, free and
 * decref operations over four anon_maps against a model, and checks every
 * slot of every map, every count and every page after each step:
 *
 *	           0   1   2   3
 *	map 0    | a | . | b | . |     a: two holders, b and c one each;
 *	map 1    | . | a | . | c |     each page holds its slot's pattern
 *
 *	(map 1 got a from a dup of map 0's [0, 2) at 1; c, from an alloc)
 *
 * It prints its seed, and TEST_SEED=<seed> replays it (testutil.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sanitizer/asan_interface.h>

#include <anon.h>
#include <errno.h>
#include <kenv.h>
#include <page.h>
#include <spinlock.h>

#include "simmem.h"
#include "testutil.h"
#include "vmfake.h"

#define C ANON_CHUNK
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---- failures ---- */

#define RECENT 6
/* The random run while it runs: its seed, its step, its last operations. */
static struct {
	bool on;
	uint64_t seed;
	int step;
	char op[RECENT][120]; /* the newest at step % RECENT */
} run;

#define OP(...) \
	libc_snprintf(run.op[run.step % RECENT], sizeof(run.op[0]), __VA_ARGS__)

/* Before a failure's message: how to replay the run, and what it did. */
static void print_run(void)
{
	if (!run.on)
		return;
	print_error("random run: seed %lu (TEST_SEED=%lu replays it), step %d; "
		    "the last operations:\n", run.seed, run.seed, run.step);
	for (int k = RECENT - 1; k >= 0; k--)
		if (run.step - k >= 0)
			print_error("  step %d: %s\n", run.step - k,
				    run.op[(run.step - k) % RECENT]);
}

__attribute__((noreturn, format(printf, 1, 2))) static void
flunk(const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_run();
	if (run.on)
		fail_msg("step %d (%s): %s", run.step,
			 run.op[run.step % RECENT], why);
	else
		fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

/* ---- fixture ---- */

/* anon_count() when the test began: a failed test before may leak slots. */
static uint64_t anon_base;

static int setup(void **state)
{
	(void)state;
	simmem_reset();
	simmem_on_panic(print_run);
	vmfake_reset();
	run.on = false;
	anon_base = anon_count();
	return 0;
}

static uint64_t anon_slots(void)
{
	return anon_count() - anon_base;
}

static long anon_pages(void)
{
	return pages_in_use[PG_OWNER(PG_ANON)];
}

/* No slot, no anon page and no kmem object (map, chunk, slot) is left. */
static void expect_nothing_left(void)
{
	if (anon_slots() != 0 || anon_pages() != 0)
		flunk("%lu slots and %ld anon pages are left", anon_slots(),
		      anon_pages());
	if (kmem_live != 0)
		flunk("%ld kmem objects are left (maps, chunks or slots)",
		      kmem_live);
}

/* ---- pages: tag 0 is a page of zeros, any other tag a pattern ---- */

#define WORDS (PAGESIZE / sizeof(uint64_t))

static uint64_t pattern(uint64_t tag, size_t j)
{
	return tag == 0 ? 0 : tag ^ (j * 0x9e3779b97f4a7c15ULL);
}

static uint64_t *page_words(const page_t *pp)
{
	return kpm_va(page_pfn(pp) << PAGESHIFT);
}

static void page_fill(const page_t *pp, uint64_t tag)
{
	uint64_t *w = page_words(pp);

	for (size_t j = 0; j < WORDS; j++)
		w[j] = pattern(tag, j);
}

/* The first word of pp that is not tag's pattern, or WORDS. */
static size_t page_differs(const page_t *pp, uint64_t tag)
{
	const uint64_t *w = page_words(pp);

	for (size_t j = 0; j < WORDS; j++)
		if (w[j] != pattern(tag, j))
			return j;
	return WORDS;
}

/* ap's page holds tag's pattern; what names ap in the failure. */
static void expect_page(const struct anon *ap, uint64_t tag, const char *what)
{
	size_t j = page_differs(ap->an_page, tag);

	if (j < WORDS)
		flunk("%s: word %zu of its page is %#lx, not %#lx", what, j,
		      page_words(ap->an_page)[j], pattern(tag, j));
}

/*
 * ap's struct anon has not gone back to kmem. Asked before reading it, so
 * a slot freed too early fails the test with a message instead of
 * stopping the program with AddressSanitizer's report.
 */
static void expect_alive(const struct anon *ap, const char *what)
{
	if (__asan_region_is_poisoned((void *)ap, sizeof(*ap)) != NULL)
		flunk("%s: its struct anon was freed while held", what);
}

/*
 * The slots aps[], at indexes at[] of their map, are alive and count
 * want[] holders each; after names what the test just did.
 */
static void expect_holders(const size_t at[], struct anon *const aps[],
			   const uint32_t want[], size_t n, const char *after)
{
	for (size_t k = 0; k < n; k++) {
		if (__asan_region_is_poisoned(aps[k], sizeof(*aps[k])) != NULL)
			flunk("after %s, slot %zu was freed while it had %u "
			      "holders", after, at[k], want[k]);
		if (aps[k]->an_refcnt != want[k])
			flunk("after %s, slot %zu counts %u holders, not %u",
			      after, at[k], aps[k]->an_refcnt, want[k]);
	}
}

/* ---- helpers ---- */

static struct anon_map *new_map(size_t size)
{
	struct anon_map *amp = anonmap_alloc(size);

	if (amp == NULL)
		flunk("anonmap_alloc(%zu) returned NULL", size);
	return amp;
}

/* A new slot whose page holds tag's pattern. */
static struct anon *new_slot(uint64_t tag)
{
	struct anon *ap = anon_alloc(NULL);

	if (ap == NULL)
		flunk("anon_alloc(NULL) returned NULL");
	page_fill(ap->an_page, tag);
	return ap;
}

/*
 * n more holders for ap, as n forks would have made, for tests that are
 * not about anon_dup. The tests run on one thread: no anon_lock needed.
 */
static void add_holders(struct anon *ap, uint32_t n)
{
	ap->an_refcnt += n;
}

/* The slot at index of amp (its lock taken here), or NULL. */
static struct anon *slot(struct anon_map *amp, size_t index)
{
	struct anon *ap;

	spin_lock(&amp->am_lock);
	ap = anon_get(amp, index);
	spin_unlock(&amp->am_lock);
	return ap;
}

/* Put ap at index of amp, empty before (its lock taken here). */
static void put(struct anon_map *amp, size_t index, struct anon *ap)
{
	int err;

	spin_lock(&amp->am_lock);
	err = anon_set(amp, index, ap);
	spin_unlock(&amp->am_lock);
	if (err != 0)
		flunk("anon_set(%zu) returned %d", index, err);
}

/* Has amp made chunk c? (read under its lock, as anon.h asks) */
static bool has_chunk(struct anon_map *amp, size_t c)
{
	bool made;

	spin_lock(&amp->am_lock);
	made = amp->am_chunks[c] != NULL;
	spin_unlock(&amp->am_lock);
	return made;
}

/* anon_dup with both maps locked, the lower address first (segvn_dup). */
static void dup_ok(struct anon_map *src, size_t sindex, struct anon_map *dst,
		   size_t dindex, size_t npages)
{
	spinlock_t *lo = src < dst ? &src->am_lock : &dst->am_lock;
	spinlock_t *hi = src < dst ? &dst->am_lock : &src->am_lock;
	int err;

	spin_lock(lo);
	spin_lock(hi);
	err = anon_dup(src, sindex, dst, dindex, npages);
	spin_unlock(hi);
	spin_unlock(lo);
	if (err != 0)
		flunk("anon_dup of [%zu, %zu) to %zu returned %d, not 0%s",
		      sindex, sindex + npages, dindex, err,
		      err == -ENOSYS ? " (-ENOSYS: still lab 6's stub)" : "");
}

/* anon_private(ap), which has memory enough here and must not fail. */
static struct anon *private_ok(struct anon *ap)
{
	struct anon *nap = anon_private(ap);

	if (nap == NULL)
		flunk("anon_private returned NULL with memory to spare (lab "
		      "6's stub returns NULL)");
	return nap;
}

/* At index of amp, a slot of its own in place of a shared one (a COW). */
static void replace(struct anon_map *amp, size_t index, struct anon *nap)
{
	int err;

	spin_lock(&amp->am_lock);
	(void)anon_set(amp, index, NULL);
	err = anon_set(amp, index, nap);
	spin_unlock(&amp->am_lock);
	if (err != 0)
		flunk("anon_set(%zu) returned %d", index, err);
}

static void free_range(struct anon_map *amp, size_t index, size_t npages)
{
	spin_lock(&amp->am_lock);
	anon_free(amp, index, npages);
	spin_unlock(&amp->am_lock);
}

/*
 * After anon_dup of src's [sindex, sindex + n) to dst at dindex: every
 * index of dst holds the slot of the matching src index inside the
 * range, and no slot outside it.
 */
static void expect_shared(struct anon_map *src, size_t sindex,
			  struct anon_map *dst, size_t dindex, size_t n)
{
	for (size_t i = 0; i < dst->am_size; i++) {
		struct anon *want = NULL, *got = slot(dst, i);

		if (i >= dindex && i < dindex + n)
			want = slot(src, i - dindex + sindex);
		if (got != want)
			flunk("after anon_dup of [%zu, %zu) to %zu, slot %zu "
			      "of the copy is %p, not %p", sindex, sindex + n,
			      dindex, i, (void *)got, (void *)want);
	}
}

/* ---- unit tests ---- */

/*
 * anon_alloc(NULL) makes a slot with one holder and a page of zeros owned
 * by PG_ANON; anon_decref gives the page, the slot and its memory back.
 * Fails when the page is not zeroed (the fake allocator hands pages out
 * full of 0xdb, as the buddy allocator does), the count does not start
 * at 1, or the page is taken for another owner.
 */
static void alloc_without_from_is_zeroed(void **state)
{
	struct anon *ap;

	(void)state;
	ap = anon_alloc(NULL);
	assert_non_null(ap);
	assert_int_equal(ap->an_refcnt, 1);
	assert_non_null(ap->an_page);
	assert_int_equal(ap->an_page->p_owner, PG_OWNER(PG_ANON));
	expect_page(ap, 0, "a new zero-fill slot");
	assert_int_equal(anon_pages(), 1);
	assert_int_equal(anon_slots(), 1);
	anon_decref(ap);
	expect_nothing_left();
}

/*
 * anon_alloc(from) makes a slot with a page of its own holding a copy of
 * from's, and leaves from as it was. Fails when it shares from's page,
 * copies nothing or only part, or copies the wrong way (from overwritten
 * with the new page's junk).
 */
static void alloc_from_copies_the_page(void **state)
{
	struct anon *a, *b;

	(void)state;
	a = new_slot(0x1111);
	b = anon_alloc(a->an_page);
	assert_non_null(b);
	if (b == a || b->an_page == a->an_page)
		flunk("anon_alloc(from) shares from's page, not a copy");
	assert_int_equal(b->an_refcnt, 1);
	expect_page(b, 0x1111, "a copy made by anon_alloc(from)");
	expect_page(a, 0x1111, "the page anon_alloc(from) copied");
	page_fill(b->an_page, 0x2222);
	expect_page(a, 0x1111, "the original after a write to its copy");
	assert_int_equal(anon_pages(), 2);
	assert_int_equal(anon_slots(), 2);
	anon_decref(a);
	anon_decref(b);
	expect_nothing_left();
}

/*
 * With three holders, anon_decref drops one at a time: the slot and its
 * page stay, intact, until the last goes, and then both are freed. Fails
 * when anon_decref frees at the first call (the other holders' page is
 * gone), never frees (a leak), or does not count down (lab 6's stub,
 * which panics on a slot with more than one holder).
 */
static void decref_frees_only_at_the_last_reference(void **state)
{
	struct anon *ap;
	uint64_t pa;

	(void)state;
	ap = new_slot(0x3333);
	pa = page_pfn(ap->an_page) << PAGESHIFT;
	add_holders(ap, 2);
	for (uint32_t left = 2; left >= 1; left--) {
		anon_decref(ap);
		if (!simmem_is_live(pa) || anon_pages() != 1 ||
		    anon_slots() != 1)
			flunk("anon_decref freed the page or the slot with %u "
			      "holders left", left);
		expect_alive(ap, "a slot with holders left");
		if (ap->an_refcnt != left)
			flunk("after a decref the slot counts %u holders, not "
			      "%u", ap->an_refcnt, left);
		expect_page(ap, 0x3333, "a slot with holders left");
	}
	anon_decref(ap);
	if (simmem_is_live(pa))
		flunk("the last anon_decref kept the page");
	expect_nothing_left();
}

/*
 * anon_dup of src's [5, 15) to dst at 40 puts each full slot of the
 * range at the matching index of dst (5 -> 40, 9 -> 44), leaves every
 * other index of dst empty, adds exactly one holder to each shared slot
 * and none to those outside the range (2 and 15), copies no page and
 * changes nothing in src. Fails when it ignores the offset, takes one
 * slot too many at either end, copies instead of sharing, counts a share
 * twice or not at all, or is lab 6's stub (-ENOSYS).
 */
static void dup_shares_the_range_at_the_offset(void **state)
{
	static const size_t full[] = { 2, 5, 6, 9, 14, 15 };
	static const uint32_t shared[] = { 1, 2, 2, 2, 2, 1 };
	static const uint32_t once[] = { 1, 1, 1, 1, 1, 1 };
	struct anon *aps[ARRAY_SIZE(full)];
	struct anon_map *src, *dst;

	(void)state;
	src = new_map(32);
	dst = new_map(64);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		aps[k] = new_slot(0x400 + k);
		put(src, full[k], aps[k]);
	}
	dup_ok(src, 5, dst, 40, 10);
	expect_shared(src, 5, dst, 40, 10);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++)
		if (slot(src, full[k]) != aps[k])
			flunk("anon_dup changed slot %zu of the source",
			      full[k]);
	expect_holders(full, aps, shared, ARRAY_SIZE(full), "anon_dup");
	if (anon_slots() != ARRAY_SIZE(full) ||
	    anon_pages() != ARRAY_SIZE(full))
		flunk("anon_dup made slots or pages (%lu slots, %ld pages, "
		      "not %zu): it must share, not copy", anon_slots(),
		      anon_pages(), ARRAY_SIZE(full));
	anonmap_decref(dst);
	expect_holders(full, aps, once, ARRAY_SIZE(full),
		       "the copy's anonmap_decref");
	for (size_t k = 0; k < ARRAY_SIZE(full); k++)
		expect_page(aps[k], 0x400 + k, "a slot the source still holds");
	anonmap_decref(src);
	expect_nothing_left();
}

/*
 * A sparse source: a slot at the end of chunk 0, chunk 1 never made, two
 * slots at the start of chunk 2, one further on, one at the very end.
 * One dup starts three indexes before chunk 1 and runs to the end;
 * another starts inside chunk 1 and ends just past the start of chunk 2.
 * Each shares exactly the full slots of its range, and makes no chunk of
 * the destination where it shares nothing (anon.h: chunks are made as
 * they are first used). Fails when the skip over a chunk never made
 * lands one index off, or skips a whole chunk from the middle of one
 * (the slots at the start of chunk 2 go missing), when an empty slot is
 * "shared", or when dup makes chunks for empty ranges.
 */
static void dup_skips_empty_slots_and_untouched_chunks(void **state)
{
	static const size_t full[] = { C - 1, 2 * C, 2 * C + 1, 2 * C + 40,
				       4 * C - 1 };
	static const uint32_t both[] = { 2, 3, 3, 2, 2 };
	static const uint32_t b_only[] = { 1, 2, 2, 1, 1 };
	static const uint32_t none[] = { 1, 1, 1, 1, 1 };
	struct anon *aps[ARRAY_SIZE(full)];
	struct anon_map *src, *a, *b;

	(void)state;
	src = new_map(4 * C);
	a = new_map(4 * C);
	b = new_map(4 * C);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		aps[k] = new_slot(0x500 + k);
		put(src, full[k], aps[k]);
	}
	dup_ok(src, C - 3, a, 1, 3 * C + 3);
	dup_ok(src, C + 7, b, 0, C + 2);
	expect_shared(src, C - 3, a, 1, 3 * C + 3);
	expect_shared(src, C + 7, b, 0, C + 2);
	expect_holders(full, aps, both, ARRAY_SIZE(full), "two dups");
	/* a's chunk 2 and b's chunks 1 to 3 map only empty source slots. */
	if (has_chunk(a, 2) || has_chunk(b, 1) || has_chunk(b, 2) ||
	    has_chunk(b, 3))
		flunk("anon_dup made a chunk of the copy where it shares no "
		      "slot");
	assert_int_equal(anon_slots(), ARRAY_SIZE(full));
	anonmap_decref(a);
	expect_holders(full, aps, b_only, ARRAY_SIZE(full),
		       "the first copy's anonmap_decref");
	anonmap_decref(b);
	expect_holders(full, aps, none, ARRAY_SIZE(full),
		       "the second copy's anonmap_decref");
	anonmap_decref(src);
	expect_nothing_left();
}

/*
 * anon_private of a slot with three holders returns a new slot with one
 * holder and a page of its own holding the same bytes, and takes exactly
 * the caller's holder off the old slot, whose page the others keep,
 * unchanged by writes to the copy. Again with two holders: the last other
 * holder keeps the old slot and its page. Fails when anon_private returns
 * the old slot or its page, copies nothing, drops no holder or two, frees
 * the old slot while it is held, or is lab 6's stub (NULL).
 */
static void private_copies_and_drops_one_reference(void **state)
{
	struct anon *ap, *nap, *nap2;
	uint64_t pa;

	(void)state;
	ap = new_slot(0x6666);
	pa = page_pfn(ap->an_page) << PAGESHIFT;
	add_holders(ap, 2);
	nap = private_ok(ap);
	if (nap == ap)
		flunk("anon_private returned the shared slot itself");
	expect_alive(ap, "the shared slot after anon_private");
	if (nap->an_page == ap->an_page)
		flunk("anon_private's new slot shares the old one's page");
	if (nap->an_refcnt != 1)
		flunk("the private copy counts %u holders, not 1",
		      nap->an_refcnt);
	if (ap->an_refcnt != 2)
		flunk("the shared slot counts %u holders after anon_private, "
		      "not 2 (the caller's one dropped)", ap->an_refcnt);
	expect_page(nap, 0x6666, "the private copy");
	page_fill(nap->an_page, 0x7777);
	expect_page(ap, 0x6666, "the shared slot after a write to its copy");
	assert_int_equal(anon_slots(), 2);
	assert_int_equal(anon_pages(), 2);
	nap2 = private_ok(ap);
	if (nap2 == ap)
		flunk("anon_private returned the shared slot itself");
	expect_alive(ap, "a slot with one holder left after anon_private");
	if (ap->an_refcnt != 1 || !simmem_is_live(pa))
		flunk("the slot's last other holder is left with %u holders "
		      "and its page %s", ap->an_refcnt,
		      simmem_is_live(pa) ? "live" : "freed");
	expect_page(ap, 0x6666, "the slot after its second copy");
	expect_page(nap2, 0x6666, "the second private copy");
	assert_int_equal(nap2->an_refcnt, 1);
	assert_int_equal(anon_slots(), 3);
	anon_decref(ap);
	anon_decref(nap);
	anon_decref(nap2);
	expect_nothing_left();
}

/*
 * With no page for the copy, anon_private returns NULL and leaves the
 * slot as it was: its holders and its page (anon.h). Fails when it drops
 * the caller's holder before it has the copy (the fault fails and the
 * process has lost its page as well), or leaks the half-made slot.
 */
static void private_without_memory_keeps_the_reference(void **state)
{
	struct anon *ap, *nap;
	long objs;

	(void)state;
	ap = new_slot(0x9999);
	add_holders(ap, 1);
	objs = kmem_live;
	simmem_fail_after(0);
	nap = anon_private(ap);
	simmem_fail_after(-1);
	if (nap != NULL)
		flunk("anon_private returned a copy with no page to copy to");
	expect_alive(ap, "a slot anon_private could not copy");
	if (ap->an_refcnt != 2)
		flunk("anon_private with no memory left the slot %u holders, "
		      "not 2", ap->an_refcnt);
	expect_page(ap, 0x9999, "a slot anon_private could not copy");
	if (anon_slots() != 1 || anon_pages() != 1 || kmem_live != objs)
		flunk("anon_private with no memory left %lu slots, %ld pages, "
		      "%ld kmem objects; not 1, 1, %ld", anon_slots(),
		      anon_pages(), kmem_live, objs);
	anon_decref(ap);
	anon_decref(ap);
	expect_nothing_left();
}

/*
 * anon_free of [4, 7) empties 4, 5 and 6 and nothing else, freeing the
 * pages of 4 and 6; 5, which another map holds too, loses one holder and
 * keeps its page. Then a range from the last slot of chunk 0 across
 * chunk 1 (never made) to the first of chunk 2 frees those two and not
 * the one after. Fails when anon_free is off by one at either end, frees
 * a shared slot's page, or skips past a chunk never made by one too many.
 */
static void free_range_drops_exactly_its_slots(void **state)
{
	static const size_t full[] = { 3, 4, 5, 6, 7, C - 1, 2 * C, 2 * C + 1 };
	static const bool kept[] = { 1, 0, 0, 0, 1, 0, 0, 1 };
	struct anon *aps[ARRAY_SIZE(full)];
	struct anon_map *amp, *other;
	size_t nfull = 0;

	(void)state;
	amp = new_map(3 * C);
	other = new_map(4);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		aps[k] = new_slot(0x700 + k);
		put(amp, full[k], aps[k]);
	}
	put(other, 0, aps[2]);
	add_holders(aps[2], 1);
	free_range(amp, 4, 3);
	if (anon_pages() != 6 || anon_slots() != 6)
		flunk("anon_free of [4, 7) left %ld pages and %lu slots, not 6",
		      anon_pages(), anon_slots());
	expect_alive(aps[2], "a freed slot another map holds");
	if (aps[2]->an_refcnt != 1 || slot(other, 0) != aps[2])
		flunk("a shared slot counts %u holders after anon_free, not 1",
		      aps[2]->an_refcnt);
	expect_page(aps[2], 0x702, "a freed slot another map holds");
	free_range(amp, C - 1, C + 2);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++)
		if (slot(amp, full[k]) != (kept[k] ? aps[k] : NULL))
			flunk("after anon_free, slot %zu is %s", full[k],
			      kept[k] ? "gone" : "still there");
	for (size_t i = 0; i < 3 * C; i++)
		nfull += slot(amp, i) != NULL;
	assert_int_equal(nfull, 3);
	assert_int_equal(anon_pages(), 4);
	assert_int_equal(anon_slots(), 4);
	anonmap_decref(amp);
	anonmap_decref(other);
	expect_nothing_left();
}

/*
 * An anon_map with two holders (two segments) loses one at the first
 * anonmap_decref, and nothing is freed: its slots, pages and memory stay.
 * The second frees every slot, every page, the chunks and the map. Fails
 * when anonmap_decref frees at the first call, or leaks a slot, a chunk
 * or the map at the last.
 */
static void anonmap_decref_frees_only_at_the_last_reference(void **state)
{
	static const size_t full[] = { 0, C + 3, 2 * C };
	static const uint32_t once[] = { 1, 1, 1 };
	struct anon *aps[ARRAY_SIZE(full)];
	struct anon_map *amp;
	long objs;

	(void)state;
	amp = new_map(2 * C + 1);
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		aps[k] = new_slot(0x800 + k);
		put(amp, full[k], aps[k]);
	}
	__atomic_add_fetch(&amp->am_refcnt, 1, __ATOMIC_RELAXED);
	objs = kmem_live;
	anonmap_decref(amp);
	if (__asan_region_is_poisoned(amp, sizeof(*amp)) != NULL)
		flunk("anonmap_decref freed a map with another holder");
	if (amp->am_refcnt != 1 || anon_pages() != 3 || anon_slots() != 3 ||
	    kmem_live != objs)
		flunk("anonmap_decref of a map with two holders left refcnt "
		      "%u, %ld pages, %lu slots, %ld kmem objects; not 1, 3, "
		      "3, %ld", amp->am_refcnt, anon_pages(), anon_slots(),
		      kmem_live, objs);
	expect_holders(full, aps, once, ARRAY_SIZE(full),
		       "the decref of a map still held");
	for (size_t k = 0; k < ARRAY_SIZE(full); k++) {
		if (slot(amp, full[k]) != aps[k])
			flunk("slot %zu is gone from a map still held",
			      full[k]);
		expect_page(aps[k], 0x800 + k, "a slot of a map still held");
	}
	anonmap_decref(amp);
	expect_nothing_left();
}

/* anon_count() and the PG_ANON pages in use are both n. */
static void expect_count(uint64_t n, const char *after)
{
	if (anon_slots() != n || anon_pages() != (long)n)
		flunk("after %s, anon_count says %lu slots and %ld anon pages "
		      "are in use, not %lu", after, anon_slots(), anon_pages(),
		      n);
}

/*
 * anon_count() counts slots, not holders: +1 for each anon_alloc and each
 * anon_private, nothing for an anon_dup or a decref that leaves holders,
 * -1 for each slot freed. Fails when a count is missed or doubled on one
 * of those paths (memstat and the leak checks would then be wrong).
 */
static void count_tracks_slots(void **state)
{
	struct anon *a, *b, *c, *nap;
	struct anon_map *src, *dst;

	(void)state;
	a = new_slot(1);
	b = new_slot(2);
	expect_count(2, "two anon_allocs");
	c = anon_alloc(a->an_page);
	assert_non_null(c);
	expect_count(3, "an anon_alloc(from)");
	src = new_map(4);
	dst = new_map(4);
	put(src, 0, a);
	put(src, 1, b);
	dup_ok(src, 0, dst, 0, 2);
	expect_count(3, "an anon_dup");
	nap = private_ok(a);
	replace(dst, 0, nap);
	expect_count(4, "an anon_private");
	anonmap_decref(dst);
	expect_count(3, "the decref of a map holding a slot of its own");
	anon_decref(c);
	expect_count(2, "an anon_decref of the last holder");
	anonmap_decref(src);
	expect_count(0, "the last map's decref");
	expect_nothing_left();
}

/* ---- the model ---- */

#define NMAPS 4
#define RUN_OPS 5000
#define MAP_MAX (2 * C + 40)
/* Map sizes: inside one chunk, just past one, past two. */
static const size_t map_sizes[] = { 40, C + 24, MAP_MAX };

/* A slot the run made. */
struct mslot {
	struct anon *ap;
	uint32_t refs; /* holders: the map indexes holding it; 0 freed */
	uint64_t tag;  /* its page holds pattern(tag, ...) */
};

/* An anon_map of the run. */
struct mmap {
	struct anon_map *amp; /* NULL: none yet, or decref'd */
	size_t size;
	int cell[MAP_MAX];    /* the slot (model.slot) at each index, or -1 */
};

static struct {
	struct mmap map[NMAPS];
	struct mslot slot[RUN_OPS]; /* each step makes one slot at most */
	int nslots;
	long live; /* slots with holders */
	uint64_t next_tag;
} model;

/* Map m, made now (empty, of a random size) if there is none. */
static struct mmap *model_map(struct test_rng *r, int m)
{
	struct mmap *mm = &model.map[m];

	if (mm->amp != NULL)
		return mm;
	mm->size = map_sizes[test_rng_below(r, ARRAY_SIZE(map_sizes))];
	mm->amp = new_map(mm->size);
	for (size_t i = 0; i < MAP_MAX; i++)
		mm->cell[i] = -1;
	return mm;
}

static int model_new(struct anon *ap, uint64_t tag)
{
	int id = model.nslots++;

	model.slot[id] = (struct mslot){ .ap = ap, .refs = 1, .tag = tag };
	model.live++;
	return id;
}

static void model_drop(int id)
{
	if (--model.slot[id].refs == 0)
		model.live--;
}

/* Empty index i of map m, dropping its slot's holder. */
static void model_clear(struct mmap *mm, size_t i)
{
	if (mm->cell[i] >= 0)
		model_drop(mm->cell[i]);
	mm->cell[i] = -1;
}

/*
 * An index of a map of size n: anywhere, or half the time within six of
 * a chunk boundary inside the map, where the off-by-ones live.
 */
static size_t pick_index(struct test_rng *r, size_t n)
{
	size_t bounds = (n - 1) / C, i;

	if (bounds == 0 || test_rng_below(r, 2))
		return test_rng_below(r, n);
	i = (1 + test_rng_below(r, bounds)) * C - 6 + test_rng_below(r, 12);
	return MIN(i, n - 1);
}

/* A range of a map of size n: short, or long enough to span a chunk. */
static void pick_range(struct test_rng *r, size_t n, size_t *i, size_t *len)
{
	static const size_t longest[] = { 4, 24, C + 16 };
	size_t most = longest[test_rng_below(r, ARRAY_SIZE(longest))];

	*i = pick_index(r, n);
	*len = 1 + test_rng_below(r, MIN(most, n - *i));
}

/* A random full index of mm, or otherwise if mm has none. */
static size_t pick_full(struct test_rng *r, const struct mmap *mm,
			size_t otherwise)
{
	size_t n = 0, k;

	for (size_t i = 0; i < mm->size; i++)
		n += mm->cell[i] >= 0;
	if (n == 0)
		return otherwise;
	k = test_rng_below(r, n);
	for (size_t i = 0; i < mm->size; i++)
		if (mm->cell[i] >= 0 && k-- == 0)
			return i;
	return otherwise;
}

/* A random live slot, or -1 if none. */
static int pick_slot(struct test_rng *r)
{
	long k;

	if (model.live == 0)
		return -1;
	k = (long)test_rng_below(r, (uint64_t)model.live);
	for (int id = 0; id < model.nslots; id++)
		if (model.slot[id].refs > 0 && k-- == 0)
			return id;
	return -1;
}

/* A random full index whose slot is shared (or held once); false if none. */
static bool pick_cell(struct test_rng *r, bool shared, int *m, size_t *i)
{
	long n = 0, k = 0;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (n == 0)
				return false;
			k = (long)test_rng_below(r, (uint64_t)n);
		}
		for (*m = 0; *m < NMAPS; (*m)++) {
			const struct mmap *mm = &model.map[*m];

			for (*i = 0; mm->amp != NULL && *i < mm->size; (*i)++) {
				int id = mm->cell[*i];

				if (id < 0 ||
				    (model.slot[id].refs > 1) != shared)
					continue;
				if (pass == 0)
					n++;
				else if (k-- == 0)
					return true;
			}
		}
	}
	return false;
}

/* ---- the random run's operations ---- */

/* A new slot at an empty index, zero-filled or a copy of a live slot. */
static bool op_alloc(struct test_rng *r)
{
	int m = (int)test_rng_below(r, NMAPS);
	struct mmap *mm = model_map(r, m);
	int from = test_rng_below(r, 3) == 0 ? pick_slot(r) : -1;
	size_t i = pick_index(r, mm->size), k;
	struct anon *ap;

	for (k = 0; k < mm->size && mm->cell[(i + k) % mm->size] >= 0; k++)
		continue;
	if (k == mm->size) {
		OP("alloc: map %d is full", m);
		return false;
	}
	i = (i + k) % mm->size;
	OP("alloc map %d [%zu], %s #%d", m, i, from < 0 ? "zeros, as slot" :
	   "a copy of a slot, as slot", model.nslots);
	ap = anon_alloc(from < 0 ? NULL : model.slot[from].ap->an_page);
	if (ap == NULL)
		flunk("anon_alloc returned NULL");
	put(mm->amp, i, ap);
	mm->cell[i] = model_new(ap, from < 0 ? 0 : model.slot[from].tag);
	return true;
}

static bool range_empty(const struct mmap *mm, size_t i, size_t n)
{
	for (size_t k = i; k < i + n; k++)
		if (mm->cell[k] >= 0)
			return false;
	return true;
}

/* fork's share: a range of one map into an empty range of another. */
static bool op_dup(struct test_rng *r)
{
	int s = (int)test_rng_below(r, NMAPS);
	int d = (s + 1 + (int)test_rng_below(r, NMAPS - 1)) % NMAPS;
	struct mmap *ms = model_map(r, s), *md = model_map(r, d);
	size_t si, n, di = 0;
	int tries;

	pick_range(r, ms->size, &si, &n);
	/* Half the time from a slot of the map: a range of slots to share. */
	if (test_rng_below(r, 2)) {
		si = pick_full(r, ms, si);
		n = 1 + test_rng_below(r, MIN(n, ms->size - si));
	}
	for (tries = 0; tries < 16; tries++) {
		n = MIN(n, md->size);
		di = pick_index(r, md->size - n + 1);
		if (range_empty(md, di, n))
			break;
		n = 1 + test_rng_below(r, n);
	}
	if (tries == 16) {
		OP("dup: no empty range in map %d", d);
		return false;
	}
	OP("dup map %d [%zu, %zu) to map %d at %zu", s, si, si + n, d, di);
	dup_ok(ms->amp, si, md->amp, di, n);
	for (size_t k = 0; k < n; k++) {
		int id = ms->cell[si + k];

		if (id >= 0) {
			md->cell[di + k] = id;
			model.slot[id].refs++;
		}
	}
	return true;
}

/* A write fault on a shared slot: anon_private, as segvn_fault does. */
static bool op_private(struct test_rng *r)
{
	struct anon *ap, *nap;
	struct mmap *mm;
	size_t i;
	int m, id, err;

	if (!pick_cell(r, true, &m, &i)) {
		OP("private: no slot is shared");
		return false;
	}
	mm = &model.map[m];
	id = mm->cell[i];
	OP("private map %d [%zu] (slot #%d, %u holders), as slot #%d", m, i,
	   id, model.slot[id].refs, model.nslots);
	spin_lock(&mm->amp->am_lock);
	ap = anon_get(mm->amp, i);
	nap = anon_private(ap);
	if (nap == NULL) {
		spin_unlock(&mm->amp->am_lock);
		flunk("anon_private returned NULL with memory to spare (lab "
		      "6's stub returns NULL)");
	}
	(void)anon_set(mm->amp, i, NULL);
	err = anon_set(mm->amp, i, nap);
	spin_unlock(&mm->amp->am_lock);
	if (err != 0)
		flunk("anon_set(%zu) returned %d", i, err);
	model_drop(id);
	mm->cell[i] = model_new(nap, model.slot[id].tag);
	return true;
}

/* A store to a slot held once: in place, as the kernel would. */
static bool op_write(struct test_rng *r)
{
	size_t i;
	int m, id;
	uint64_t tag = model.next_tag++;

	if (!pick_cell(r, false, &m, &i)) {
		OP("write: no slot is held once");
		return false;
	}
	id = model.map[m].cell[i];
	OP("write map %d [%zu] (slot #%d): pattern %#lx", m, i, id, tag);
	page_fill(model.slot[id].ap->an_page, tag);
	model.slot[id].tag = tag;
	return true;
}

static bool op_free(struct test_rng *r)
{
	int m = (int)test_rng_below(r, NMAPS);
	struct mmap *mm = model_map(r, m);
	size_t i, n;

	pick_range(r, mm->size, &i, &n);
	OP("free map %d [%zu, %zu)", m, i, i + n);
	free_range(mm->amp, i, n);
	for (size_t k = i; k < i + n; k++)
		model_clear(mm, k);
	return true;
}

static void decref_map(struct mmap *mm)
{
	anonmap_decref(mm->amp);
	mm->amp = NULL;
	for (size_t i = 0; i < mm->size; i++)
		model_clear(mm, i);
}

static bool op_decref(struct test_rng *r)
{
	int m = (int)test_rng_below(r, NMAPS);

	if (model.map[m].amp == NULL) {
		OP("decref: map %d is gone already", m);
		return false;
	}
	OP("decref map %d (%zu indexes)", m, model.map[m].size);
	decref_map(&model.map[m]);
	return true;
}

/* ---- the invariants ---- */

/* Every index of every map holds the model's slot, or nothing. */
static void check_maps(void)
{
	for (int m = 0; m < NMAPS; m++) {
		struct mmap *mm = &model.map[m];

		if (mm->amp == NULL)
			continue;
		spin_lock(&mm->amp->am_lock);
		for (size_t i = 0; i < mm->size; i++) {
			struct anon *ap = anon_get(mm->amp, i);
			int id = mm->cell[i];

			if (ap == (id >= 0 ? model.slot[id].ap : NULL))
				continue;
			spin_unlock(&mm->amp->am_lock);
			if (id < 0)
				flunk("map %d [%zu] holds %p; the model says "
				      "it is empty", m, i, (void *)ap);
			flunk("map %d [%zu] holds %p; the model says slot #%d "
			      "(%p)", m, i, (void *)ap, id,
			      (void *)model.slot[id].ap);
		}
		spin_unlock(&mm->amp->am_lock);
	}
}

/* Every live slot: alive, its count, its page and the page's bytes. */
static void check_slots(void)
{
	for (int id = 0; id < model.nslots; id++) {
		const struct mslot *ms = &model.slot[id];
		const struct anon *ap = ms->ap;
		size_t j;

		if (ms->refs == 0)
			continue;
		if (__asan_region_is_poisoned((void *)ap, sizeof(*ap)) != NULL)
			flunk("slot #%d was freed with %u holders", id,
			      ms->refs);
		if (ap->an_refcnt != ms->refs)
			flunk("slot #%d counts %u holders; the model, %u", id,
			      ap->an_refcnt, ms->refs);
		if (ap->an_page == NULL ||
		    !simmem_is_live(page_pfn(ap->an_page) << PAGESHIFT) ||
		    ap->an_page->p_owner != PG_OWNER(PG_ANON))
			flunk("slot #%d has no live PG_ANON page", id);
		j = page_differs(ap->an_page, ms->tag);
		if (j < WORDS)
			flunk("slot #%d: word %zu of its page is %#lx, not "
			      "%#lx", id, j, page_words(ap->an_page)[j],
			      pattern(ms->tag, j));
	}
	if (anon_slots() != (uint64_t)model.live || anon_pages() != model.live)
		flunk("anon_count says %lu slots, %ld anon pages are in use; "
		      "the model has %ld slots", anon_slots(), anon_pages(),
		      model.live);
}

static void check_all(void)
{
	check_maps();
	check_slots();
	if (spin_nheld() != 0)
		flunk("%d spinlocks held after the operation", spin_nheld());
}

/*
 * Seeded alloc/dup/private/write/free/decref over four maps against the
 * model, every invariant checked after each step, then the decref of
 * every map must leave nothing. Fails on any bug the unit tests catch,
 * and on those only a sequence shows: a count off after a share of a
 * share, a copy of a copy, a slot freed under another map.
 */
static void random_ops_match_the_model(void **state)
{
	static bool (*const ops[])(struct test_rng *) = {
		op_alloc, op_dup, op_private, op_write, op_free, op_decref,
	};
	/* Out of 20: alloc 6, dup 4, private 4, write 2, free 3, decref 1. */
	static const unsigned below[] = { 6, 10, 14, 16, 19, 20 };
	unsigned long nops[ARRAY_SIZE(ops)] = { 0 }, idle = 0;
	long most = 0;
	struct test_rng rng;

	(void)state;
	run.seed = test_seed();
	rng.x = run.seed;
	print_message("random run: seed %lu (TEST_SEED=%lu replays it)\n",
		      run.seed, run.seed);
	__builtin_memset(&model, 0, sizeof(model));
	model.next_tag = 0x5107000000000001ULL;
	run.on = true;
	for (run.step = 0; run.step < RUN_OPS; run.step++) {
		unsigned k = (unsigned)test_rng_below(&rng, 20), op = 0;

		while (k >= below[op])
			op++;
		OP("(picking its operands)");
		if (ops[op](&rng))
			nops[op]++;
		else
			idle++;
		check_all();
		most = MAX(most, model.live);
	}
	OP("decref every map");
	for (int m = 0; m < NMAPS; m++)
		if (model.map[m].amp != NULL)
			decref_map(&model.map[m]);
	check_all();
	expect_nothing_left();
	run.on = false;
	print_message("random run: %d steps: %lu allocs, %lu dups, %lu "
		      "privates, %lu writes, %lu frees, %lu decrefs, %lu with "
		      "nothing to do; %d slots made, at most %ld live\n",
		      RUN_OPS, nops[0], nops[1], nops[2], nops[3], nops[4],
		      nops[5], idle, model.nslots, most);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(alloc_without_from_is_zeroed),
		T(alloc_from_copies_the_page),
		T(decref_frees_only_at_the_last_reference),
		T(dup_shares_the_range_at_the_offset),
		T(dup_skips_empty_slots_and_untouched_chunks),
		T(private_copies_and_drops_one_reference),
		T(private_without_memory_keeps_the_reference),
		T(free_range_drops_exactly_its_slots),
		T(anonmap_decref_frees_only_at_the_last_reference),
		T(count_tracks_slots),
		T(random_ops_match_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
