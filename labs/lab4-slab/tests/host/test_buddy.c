/*
 * test_buddy.c — the buddy allocator (kern/mm/buddy.c) on the host, over a
 * simulated page_array laid out to tempt every merge that must not happen.
 *
 * mm/page.c is not linked: page_init() needs the memory map and the boot
 * allocator. Instead the fixture builds page_array, page_array_npages and
 * zones[] itself, marks the holes P_RESERVED, and gives the RAM to
 * page_free_pages() in the largest aligned blocks that fit, run by run and
 * zone by zone, as page_init() does. The machine, NPAGES pages of 4 KiB:
 *
 *   pfn 0    16        576   608  614       992 1000 1008 1024      2048
 *       |res.| RAM ... | o5  |hole| o1 ...  | o3 | o3 | o4 | o10 ...  |
 *       '------------ DMA [0, 1000) --------'---- Normal [1000, 6216) ...
 *
 *   2048  2560   2600      3072    4096    5120    6144 6208 6216
 *   | o9  | hole | o3 ...  | o10   | o10   | o10   | o6 | o3 | end
 *
 * The kernel's zone boundary (16 MiB) is aligned far beyond MAX_ORDER, so
 * no buddy pair ever straddles it; here it sits at pfn 1000, and the
 * blocks at 992 and 1000 are free buddies in different zones. traps[]
 * lists every block whose buddy must not be merged with, and why.
 *
 * A reserved page_t means only P_RESERVED: page.h gives its other fields
 * no meaning. So the fixture makes the page_t of each hole page that is a
 * trap's buddy look like a free head of the trap's order (P_FREE,
 * p_order): then only the hole check (c in buddy.c's essay) stops the
 * merge, not the P_FREE check (d) as well.
 *
 * The last block's buddy is the pfn past the end of page_array, and ASan
 * reports any read of the memory after page_array. zones[]' z_present,
 * where free_area[MAX_ORDER + 1] would be, is poisoned too. Either bug then
 * stops the test with ASan's report and a stack through buddy.c.
 *
 * The allocator is checked against a model: the blocks handed out and,
 * per pfn, the block that holds it. Every allocation is checked as it
 * returns; the free lists, marks and counts are walked and compared with
 * the model where a test says check_invariants(). The random run is a
 * seeded 10^6 operations; it prints its seed, and TEST_SEED=<seed>
 * replays it. The last test runs four threads as CPUs (curcpu.h here),
 * allocating and freeing at once, each claiming the pages it is handed,
 * and then walks the lists: it is what the zone lock is for.
 *
 * Each test's comment names the bugs that make it fail.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <sanitizer/asan_interface.h>

#include <cpuvar.h>
#include <kenv.h>
#include <page.h>
#include "testutil.h"

#define NPAGES 6216u  /* pfns 0 .. 6215: 24 MiB */
#define BOUNDARY 1000 /* DMA [0, 1000), Normal [1000, NPAGES) */
#define NO_PFN UINT64_MAX
#define HOLE UINT32_MAX /* owner_of[] of a reserved pfn */
#define TEST_TIMEOUT 60 /* seconds per test; all of them take under 1 */

/* What buddy.c uses from mm/page.c, which this test replaces. */
page_t *page_array;
uint64_t page_array_npages;
zone_t zones[NZONES];

static const struct hole {
	uint64_t start, end;
} holes[] = {
	{ 0, 16 },     /* like the kernel's first 1 MiB */
	{ 608, 614 },  /* in DMA */
	{ 2560, 2600 }, /* in Normal */
};

/* A block the fixture frees whole, whose buddy it must never merge with. */
static const struct trap {
	uint64_t pfn;
	unsigned order;
	const char *buddy; /* what lies at pfn ^ 2^order */
} traps[] = {
	{ 16, 4, "pfn 0, reserved low memory" },
	{ 576, 5, "pfn 608, the DMA hole" },
	{ 614, 1, "pfn 612, the DMA hole" },
	{ 992, 3, "pfn 1000, free but in the Normal zone" },
	{ 1000, 3, "pfn 992, free but in the DMA zone" },
	{ 2048, 9, "pfn 2560, the Normal hole" },
	{ 2600, 3, "pfn 2592, the Normal hole" },
	{ 4096, 10, "pfn 5120, free, but 10 is MAX_ORDER" },
	{ 5120, 10, "pfn 4096, free, but 10 is MAX_ORDER" },
	{ 6208, 3, "pfn 6216, past the end of page_array" },
};

typedef uint64_t fa_counts[NZONES][MAX_ORDER + 1];

/* The layout, worked out once by layout_init(). */
static uint32_t ram_below[NPAGES + 1]; /* RAM pages in [0, pfn) */
static uint64_t ram_pages[NZONES];
static uint64_t ram_total;
static fa_counts merged; /* free_area when all RAM is free and merged */
static struct bait {
	uint64_t pfn;
	unsigned order;
} baits[ARRAY_SIZE(traps)]; /* hole pages that look like free heads */
static size_t nbaits;

/* The model: what the allocator handed out. */
struct block {
	uint64_t pfn;
	unsigned order, owner;
};
static struct block live[NPAGES];
static size_t nlive;
static uint64_t live_pages;
static uint32_t owner_of[NPAGES];   /* 1 + head pfn of its live block; 0 free */
static uint32_t live_index[NPAGES]; /* a live head's index in live[] */
static page_t hole_copy[NPAGES];    /* page_array as set up, for the holes */

/* Work space of check_invariants(). */
static uint8_t head_order[NPAGES]; /* 1 + order of a listed free head */
static bool in_free_block[NPAGES];

static struct {
	uint8_t *map; /* page_array's mapping and its guard page */
	size_t len;
} fx;

static const char *const zname[NZONES] = { "DMA", "Normal" };

/* ---- failures and panics ---- */

static char ctx[128]; /* what the test is doing, printed on failure */
static void (*print_more)(void); /* the random run's recent operations */

static void print_ctx(void)
{
	if (ctx[0] != '\0')
		print_error("%s\n", ctx);
	if (print_more != NULL)
		print_more();
}

__attribute__((noreturn, format(printf, 1, 2))) static void
flunk(const char *fmt, ...)
{
	char why[320];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_ctx();
	fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

static sigjmp_buf panic_jmp;
static bool panic_expected;
static char panic_msg[256];
static __thread bool in_worker; /* a pthread: no cmocka calls there */

/*
 * The host kenv.h's panic, as this test provides it: caught, a failure,
 * or (in a worker thread, which cmocka cannot fail) the end of the program.
 */
void panic(const char *fmt, ...)
{
	va_list ap;

	if (in_worker) {
		char msg[256];

		va_start(ap, fmt);
		libc_vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fprintf(stderr, "test_buddy: panic on cpu%d: %s\n",
			curcpu()->cpu_id, msg);
		abort();
	}
	va_start(ap, fmt);
	libc_vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (panic_expected) {
		/*
		 * A kernel stops at a panic; this test goes on, so the locks
		 * the panicking call held are dropped here, as if it had
		 * never run.
		 */
		for (int z = 0; z < NZONES; z++)
			spin_init(&zones[z].z_lock, "zone_lock", LR_PAGE_ZONE);
		cpus[0].cpu_nlocks = 0;
		siglongjmp(panic_jmp, 1);
	}
	flunk("unexpected panic: %s", panic_msg);
}

/* page_free_pages(pfn, order), which must panic; its message. */
static const char *free_must_panic(uint64_t pfn, unsigned order)
{
	panic_msg[0] = '\0';
	panic_expected = true;
	if (sigsetjmp(panic_jmp, 0) == 0) {
		page_free_pages(&page_array[pfn], order);
		panic_expected = false;
		flunk("page_free_pages(pfn %lu, order %u) returned: it should "
		      "have panicked", pfn, order);
	}
	panic_expected = false;
	return panic_msg;
}

/*
 * The panic names page_free_pages; its wording is the student's (only the
 * kernel grader matches words, "page_free_pages: double free of pfn").
 */
static void expect_panic_names_function(const char *msg)
{
	if (strstr(msg, "page_free_pages") == NULL)
		flunk("panic \"%s\" should name page_free_pages", msg);
}

/* ---- the layout ---- */

static int zone_of(uint64_t pfn)
{
	return pfn < BOUNDARY ? ZONE_DMA : ZONE_NORMAL;
}

static bool is_hole(uint64_t pfn)
{
	for (size_t i = 0; i < ARRAY_SIZE(holes); i++)
		if (pfn >= holes[i].start && pfn < holes[i].end)
			return true;
	return false;
}

/* Is [b, b + 2^k) aligned, all RAM, in one zone, inside page_array? */
static bool block_is_ram(uint64_t b, unsigned k)
{
	uint64_t end = b + (1UL << k);

	return b % (1UL << k) == 0 && end <= NPAGES &&
	       zone_of(b) == zone_of(end - 1) &&
	       ram_below[end] - ram_below[b] == end - b;
}

/* Is (b, k) a block of all RAM that no larger such block contains? */
static bool is_maximal(uint64_t b, unsigned k)
{
	return block_is_ram(b, k) &&
	       (k == MAX_ORDER || !block_is_ram(b & ~((2UL << k) - 1), k + 1));
}

/* Does the layout still make t a block with a buddy it must not take? */
static bool trap_is_set(const struct trap *t)
{
	uint64_t q = t->pfn ^ (1UL << t->order);

	if (!is_maximal(t->pfn, t->order))
		return false;
	if (q >= NPAGES || is_hole(q))
		return true;
	return is_maximal(q, t->order) &&
	       (zone_of(q) != zone_of(t->pfn) || t->order == MAX_ORDER);
}

/* Bait the hole page that is t's buddy, if it is one; false if taken. */
static bool add_bait(const struct trap *t)
{
	uint64_t q = t->pfn ^ (1UL << t->order);

	if (q >= NPAGES || !is_hole(q))
		return true;
	for (size_t i = 0; i < nbaits; i++)
		if (baits[i].pfn == q)
			return false;
	baits[nbaits++] = (struct bait){ q, t->order };
	return true;
}

/* Work out the layout's RAM, merged free_area and baits; check traps[]. */
static int layout_init(void **state)
{
	(void)state;
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++) {
		ram_below[pfn + 1] = ram_below[pfn] + !is_hole(pfn);
		ram_pages[zone_of(pfn)] += !is_hole(pfn);
	}
	ram_total = ram_pages[ZONE_DMA] + ram_pages[ZONE_NORMAL];
	for (unsigned k = 0; k <= MAX_ORDER; k++)
		for (uint64_t b = 0; b < NPAGES; b += 1UL << k)
			merged[zone_of(b)][k] += is_maximal(b, k);
	for (size_t i = 0; i < ARRAY_SIZE(traps); i++)
		if (!trap_is_set(&traps[i]) || !add_bait(&traps[i])) {
			print_error("test_buddy: the layout no longer sets the "
				    "trap at pfn %lu order %u\n",
				    traps[i].pfn, traps[i].order);
			return -1;
		}
	return 0;
}

/* ---- the fixture: page_array, zones, RAM given to the allocator ---- */

/*
 * NPAGES zeroed page_t, then poison to the end of the page, then an
 * unmapped page: reading a page_t past the end is reported where it
 * happens (by ASan; without it, the guard page stops the test).
 */
static page_t *map_page_array(void)
{
	size_t bytes = NPAGES * sizeof(page_t);
	size_t span = (bytes + sizeof(page_t) + PAGESIZE - 1) & ~(PAGESIZE - 1);

	fx.len = span + PAGESIZE;
	fx.map = mmap(NULL, fx.len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fx.map == MAP_FAILED ||
	    mprotect(fx.map + span, PAGESIZE, PROT_NONE) != 0)
		return NULL;
	ASAN_POISON_MEMORY_REGION(fx.map + bytes, span - bytes);
	return (page_t *)fx.map;
}

/*
 * z_present, which buddy.c never reads, is where free_area[MAX_ORDER + 1]
 * would be: poisoned, a merge past MAX_ORDER is reported where it happens.
 */
static void poison_past_free_area(bool on)
{
	for (int z = 0; z < NZONES; z++)
		if (on)
			ASAN_POISON_MEMORY_REGION(&zones[z].z_present,
						  sizeof(zones[z].z_present));
		else
			ASAN_UNPOISON_MEMORY_REGION(&zones[z].z_present,
						    sizeof(zones[z].z_present));
}

static void init_zones(void)
{
	zones[ZONE_DMA] = (zone_t){ .z_name = zname[ZONE_DMA],
				    .z_start_pfn = 0,
				    .z_end_pfn = BOUNDARY,
				    .z_present = ram_pages[ZONE_DMA] };
	zones[ZONE_NORMAL] = (zone_t){ .z_name = zname[ZONE_NORMAL],
				       .z_start_pfn = BOUNDARY,
				       .z_end_pfn = NPAGES,
				       .z_present = ram_pages[ZONE_NORMAL] };
	for (int z = 0; z < NZONES; z++)
		spin_init(&zones[z].z_lock, "zone_lock", LR_PAGE_ZONE);
}

/* Zones, holes and baits in page_array; the model knows the holes. */
static void mark_pages(void)
{
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++) {
		page_array[pfn].p_zone = (uint8_t)zone_of(pfn);
		if (is_hole(pfn)) {
			page_array[pfn].p_flags = P_RESERVED;
			owner_of[pfn] = HOLE;
		}
	}
	for (size_t i = 0; i < nbaits; i++) {
		page_array[baits[i].pfn].p_flags |= P_FREE;
		page_array[baits[i].pfn].p_order = (uint8_t)baits[i].order;
	}
	__builtin_memcpy(hole_copy, page_array, sizeof(hole_copy));
}

/* The order of the largest aligned block at pfn that ends by end. */
static unsigned largest_block(uint64_t pfn, uint64_t end)
{
	unsigned k = 0;

	while (k < MAX_ORDER && pfn % (2UL << k) == 0 &&
	       pfn + (2UL << k) <= end)
		k++;
	return k;
}

/* Give every run of RAM within a zone to the allocator, as page_init. */
static void give_ram(void)
{
	uint64_t pfn = 0;

	while (pfn < NPAGES) {
		uint64_t end = pfn;

		while (end < NPAGES && !is_hole(end) &&
		       zone_of(end) == zone_of(pfn))
			end++;
		if (end == pfn)
			end++; /* a hole */
		else
			while (pfn < end) {
				unsigned k = largest_block(pfn, end);

				page_array[pfn].p_order = (uint8_t)k;
				page_free_pages(&page_array[pfn], k);
				pfn += 1UL << k;
			}
		pfn = end;
	}
}

/* A test ran too long: a list with a cycle, a loop that never ends. */
static void timed_out(int sig)
{
	(void)sig;
	print_ctx();
	print_error("test_buddy: a test ran for %d s: a cycle in a free "
		    "list?\n", TEST_TIMEOUT);
	exit(1);
}

static int setup(void **state)
{
	(void)state;
	signal(SIGALRM, timed_out);
	alarm(TEST_TIMEOUT);
	ctx[0] = '\0';
	print_more = NULL;
	nlive = 0;
	live_pages = 0;
	__builtin_memset(owner_of, 0, sizeof(owner_of));
	page_array = map_page_array();
	if (page_array == NULL)
		return -1;
	page_array_npages = NPAGES;
	init_zones();
	poison_past_free_area(true);
	mark_pages();
	give_ram();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	print_more = NULL;
	poison_past_free_area(false);
	ASAN_UNPOISON_MEMORY_REGION(fx.map, fx.len - PAGESIZE);
	munmap(fx.map, fx.len);
	page_array = NULL;
	return 0;
}

/* ---- taking and giving, checked against the model ---- */

/* Does zone z have a free block of order k or larger, by its counts? */
static bool zone_has(int z, unsigned k)
{
	for (unsigned o = k; o <= MAX_ORDER; o++)
		if (zones[z].z_free_area[o].fa_count != 0)
			return true;
	return false;
}

/* The pfn of a page_t the allocator gave, or a failure if it is not one. */
static uint64_t pfn_of(const page_t *pp, const char *who)
{
	uintptr_t off = (uintptr_t)pp - (uintptr_t)page_array;

	if (off % sizeof(page_t) != 0 || off / sizeof(page_t) >= NPAGES)
		flunk("%s: %p is not a page_t in page_array", who, (void *)pp);
	return off / sizeof(page_t);
}

/* Where an order-k block at pfn, for a request with flags, may lie. */
static void expect_placed(uint64_t pfn, unsigned k, unsigned flags,
			  bool normal_had)
{
	int z = zone_of(pfn);

	if (pfn % (1UL << k) != 0)
		flunk("order-%u block at pfn %lu is not aligned to %lu pages",
		      k, pfn, 1UL << k);
	if (pfn + (1UL << k) > NPAGES || zone_of(pfn + (1UL << k) - 1) != z)
		flunk("order-%u block at pfn %lu crosses the zone boundary "
		      "(%u) or the end (%u)", k, pfn, BOUNDARY, NPAGES);
	if ((flags & PG_DMA) && z != ZONE_DMA)
		flunk("a PG_DMA request got pfn %lu, in the Normal zone", pfn);
	if (!(flags & PG_DMA) && z == ZONE_DMA && normal_had)
		flunk("an order-%u Normal request got DMA pfn %lu while the "
		      "Normal zone had a free block of order >= %u", k, pfn, k);
}

static void expect_head(const page_t *pp, uint64_t pfn, unsigned k,
			unsigned flags)
{
	if (pp->p_flags & (P_FREE | P_RESERVED))
		flunk("the head of the order-%u block at pfn %lu has p_flags "
		      "%#x: P_FREE (or P_RESERVED) is still set", k, pfn,
		      pp->p_flags);
	if (pp->p_order != k || pp->p_owner != PG_OWNER(flags))
		flunk("the head of the order-%u block at pfn %lu has p_order "
		      "%u, p_owner %u; want %u, %u", k, pfn, pp->p_order,
		      pp->p_owner, k, PG_OWNER(flags));
}

/* Note the block as handed out; none of its pages may be out already. */
static void record(uint64_t pfn, unsigned k, unsigned owner)
{
	for (uint64_t p = pfn; p < pfn + (1UL << k); p++) {
		if (owner_of[p] == HOLE)
			flunk("order-%u block at pfn %lu holds reserved pfn "
			      "%lu", k, pfn, p);
		if (owner_of[p] != 0)
			flunk("order-%u block at pfn %lu holds pfn %lu, which "
			      "is in the live block at pfn %u too", k, pfn, p,
			      owner_of[p] - 1);
		owner_of[p] = (uint32_t)pfn + 1;
	}
	live_index[pfn] = (uint32_t)nlive;
	live[nlive++] = (struct block){ pfn, k, owner };
	live_pages += 1UL << k;
}

/*
 * page_alloc_pages(k, flags), checked: NULL only if no zone the request
 * may use has a block of order k or more; else a block placed and marked
 * as page.h says, none of it handed out already. Its pfn, or NO_PFN.
 */
static uint64_t take(unsigned k, unsigned flags)
{
	bool dma_had = zone_has(ZONE_DMA, k);
	bool normal_had = zone_has(ZONE_NORMAL, k);
	page_t *pp = page_alloc_pages(k, flags);
	uint64_t pfn;

	if (pp == NULL) {
		if (dma_had || (normal_had && !(flags & PG_DMA)))
			flunk("page_alloc_pages(%u, %#x) returned NULL while "
			      "the %s zone had a free block of order >= %u",
			      k, flags, dma_had ? "DMA" : "Normal", k);
		return NO_PFN;
	}
	pfn = pfn_of(pp, "page_alloc_pages");
	expect_placed(pfn, k, flags, normal_had);
	expect_head(pp, pfn, k, flags);
	record(pfn, k, PG_OWNER(flags));
	return pfn;
}

/* take(), where a block of order k must be free. */
static uint64_t must_take(unsigned k, unsigned flags)
{
	uint64_t pfn = take(k, flags);

	if (pfn == NO_PFN)
		flunk("page_alloc_pages(%u, %#x) returned NULL with memory "
		      "free", k, flags);
	return pfn;
}

/* take(k, flags) must give pfn want (NO_PFN: NULL), for reason why. */
static void expect_take(unsigned k, unsigned flags, uint64_t want,
			const char *why)
{
	uint64_t pfn = take(k, flags);

	if (pfn != want)
		flunk("page_alloc_pages(%u, %#x) gave pfn %ld, want %ld (-1 is "
		      "NULL): %s", k,
		      flags, (long)pfn, (long)want, why);
}

static void expect_live_pages(uint64_t want, const char *what)
{
	if (live_pages != want)
		flunk("the allocator handed out %lu pages before NULL, want "
		      "%lu: %s", live_pages, want, what);
}

/* page_free_pages() the live block live[i]; the model forgets it. */
static void give(size_t i)
{
	struct block b = live[i];

	page_free_pages(&page_array[b.pfn], b.order);
	for (uint64_t p = b.pfn; p < b.pfn + (1UL << b.order); p++)
		owner_of[p] = 0;
	live_pages -= 1UL << b.order;
	live[i] = live[--nlive];
	live_index[live[i].pfn] = (uint32_t)i;
}

/* Give back the live block whose head is pfn. */
static void give_pfn(uint64_t pfn)
{
	if (owner_of[pfn] != pfn + 1)
		flunk("pfn %lu heads no allocated block: the test expected "
		      "the allocator to have handed it out", pfn);
	give(live_index[pfn]);
}

/* Give back every live block, the last of live[] first. */
static void give_all(void)
{
	while (nlive > 0)
		give(nlive - 1);
}

/* Take blocks of the orders pick(i) gives, then of order 0, until none. */
static void fill(unsigned (*pick)(size_t i), unsigned flags)
{
	for (size_t i = 0;; i++)
		if (take(pick(i), flags) == NO_PFN &&
		    take(0, flags) == NO_PFN)
			return;
}

static unsigned order_0(size_t i)
{
	(void)i;
	return 0;
}

/* Every order, mixed so that small and large requests interleave. */
static unsigned mixed_orders(size_t i)
{
	static const unsigned orders[] = { 3, 0, 10, 1, 5, 0, 2, 9, 0, 4,
					   7, 1, 0, 6, 8, 2, 0, 1 };

	return orders[i % ARRAY_SIZE(orders)];
}

/* ---- the allocator's state, walked ---- */

static void expect_counts(const fa_counts want, const char *when)
{
	for (int z = 0; z < NZONES; z++)
		for (unsigned o = 0; o <= MAX_ORDER; o++)
			if (zones[z].z_free_area[o].fa_count != want[z][o])
				flunk("%s: zone %s has %lu free blocks of "
				      "order %u, want %lu", when, zname[z],
				      zones[z].z_free_area[o].fa_count, o,
				      want[z][o]);
}

/* The free block (pfn, k) on zone z's list: marked, placed, all free. */
static void expect_free_block(const page_t *pp, uint64_t pfn, int z,
			      unsigned k)
{
	if ((pp->p_flags & (P_FREE | P_RESERVED)) != P_FREE ||
	    pp->p_order != k)
		flunk("zone %s order %u lists pfn %lu with p_flags %#x and "
		      "p_order %u", zname[z], k, pfn, pp->p_flags, pp->p_order);
	if (pfn % (1UL << k) != 0 || pfn + (1UL << k) > NPAGES ||
	    zone_of(pfn) != z || zone_of(pfn + (1UL << k) - 1) != z)
		flunk("zone %s order %u lists pfn %lu: not an aligned block "
		      "inside the zone [%lu, %lu)", zname[z], k, pfn,
		      zones[z].z_start_pfn, zones[z].z_end_pfn);
	for (uint64_t p = pfn; p < pfn + (1UL << k); p++) {
		if (owner_of[p] != 0 || in_free_block[p])
			flunk("the free order-%u block at pfn %lu holds pfn "
			      "%lu, which is %s", k, pfn, p,
			      owner_of[p] == HOLE ? "reserved" :
			      owner_of[p] != 0    ? "allocated" :
						    "in another free block");
		in_free_block[p] = true;
	}
	head_order[pfn] = (uint8_t)(k + 1);
}

/* Walk zone z's list of order k: links, count, blocks; its pages. */
static uint64_t walk_list(int z, unsigned k)
{
	const struct free_area *fa = &zones[z].z_free_area[k];
	const page_t *prev = NULL;
	uint64_t n = 0;

	for (const page_t *pp = fa->fa_head; pp != NULL; pp = pp->p_next) {
		uint64_t pfn = pfn_of(pp, "a free list");

		if (pp->p_prev != prev)
			flunk("zone %s order %u: p_prev of pfn %lu does not "
			      "point at the block before it", zname[z], k, pfn);
		if (++n > NPAGES)
			flunk("zone %s order %u: the list has a cycle",
			      zname[z], k);
		expect_free_block(pp, pfn, z, k);
		prev = pp;
	}
	if (n != fa->fa_count)
		flunk("zone %s order %u: fa_count is %lu, the list holds %lu",
		      zname[z], k, fa->fa_count, n);
	return n << k;
}

/* P_FREE marks exactly the listed heads; no two free buddies are apart. */
static void expect_marks_and_merges(void)
{
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++) {
		unsigned k = head_order[pfn] - 1u;
		uint64_t q;

		if (owner_of[pfn] == HOLE)
			continue;
		if (!!(page_array[pfn].p_flags & P_FREE) != !!head_order[pfn])
			flunk("pfn %lu is marked P_FREE but heads no listed "
			      "free block", pfn);
		if (head_order[pfn] == 0 || k == MAX_ORDER)
			continue;
		q = pfn ^ (1UL << k);
		if (q < NPAGES && zone_of(q) == zone_of(pfn) &&
		    head_order[q] == k + 1)
			flunk("free order-%u blocks at pfn %lu and %lu are "
			      "buddies in one zone, yet not merged", k, pfn, q);
	}
}

/* The allocator wrote no hole's page_t and no live block's head. */
static void expect_untouched(void)
{
	for (uint64_t pfn = 0; pfn < NPAGES; pfn++)
		if (owner_of[pfn] == HOLE &&
		    libc_memcmp(&page_array[pfn], &hole_copy[pfn],
				sizeof(page_t)) != 0)
			flunk("the page_t of reserved pfn %lu was written",
			      pfn);
	for (size_t i = 0; i < nlive; i++) {
		const page_t *pp = &page_array[live[i].pfn];

		if (pp->p_order != live[i].order ||
		    pp->p_owner != live[i].owner)
			flunk("the head of the allocated block at pfn %lu "
			      "changed: p_order %u, p_owner %u", live[i].pfn,
			      pp->p_order, pp->p_owner);
	}
}

/*
 * The whole state against the model: each list well linked and counted,
 * each free block aligned, in its zone, of RAM nobody holds; free + live
 * pages = RAM; only heads marked; no unmerged buddies; holes untouched.
 */
static void check_invariants(void)
{
	uint64_t free_pages = 0;

	__builtin_memset(head_order, 0, sizeof(head_order));
	__builtin_memset(in_free_block, 0, sizeof(in_free_block));
	for (int z = 0; z < NZONES; z++)
		for (unsigned k = 0; k <= MAX_ORDER; k++)
			free_pages += walk_list(z, k);
	if (free_pages + live_pages != ram_total)
		flunk("%lu pages free and %lu allocated, but there are %lu "
		      "pages of RAM", free_pages, live_pages, ram_total);
	expect_marks_and_merges();
	expect_untouched();
}

/* Everything given back: the state is the fully merged one again. */
static void expect_all_merged(const char *when)
{
	give_all();
	check_invariants();
	expect_counts(merged, when);
}

/* ---- the tests ---- */

/*
 * The fixture freed RAM as page_init does; the free lists now hold the
 * layout's maximal blocks. Fails with no allocator at all (the stub), a
 * merge across the zone boundary (992 + 1000) or into a hole (a bait),
 * merging beyond MAX_ORDER (4096 + 5120) or reading the page_t past the
 * end (ASan reports both), a free that forgets P_FREE or the count.
 */
static void setup_gives_the_merged_state(void **state)
{
	(void)state;
	check_invariants();
	expect_counts(merged, "after the setup's frees");
}

/*
 * A block of every order: aligned to its size, head marked with order and
 * owner and not P_FREE; freed, the state is as before. Fails on a split
 * that returns the wrong half or size, a head left P_FREE, p_order or
 * p_owner not set, a free that does not merge back. Above MAX_ORDER: NULL.
 */
static void every_order_is_aligned_and_marked(void **state)
{
	(void)state;
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		libc_snprintf(ctx, sizeof(ctx), "order %u:", k);
		must_take(k, PG_TEST);
		check_invariants();
		give_all();
		expect_counts(merged, "after the free");
	}
	assert_null(page_alloc_pages(MAX_ORDER + 1, PG_TEST));
	expect_counts(merged, "after an order-11 request");
}

/* The counts an order-k request leaves in zone z if it splits order j. */
static void split_counts(fa_counts want, int z, unsigned k, unsigned j)
{
	want[z][j]--;
	for (unsigned o = k; o < j; o++)
		want[z][o]++;
}

/*
 * Each request whose order has no free block splits the smallest larger
 * one, and one more of every order in between is left free. Fails when
 * the allocator takes a larger block than needed, stops splitting early,
 * or puts a half back at the wrong order.
 */
static void split_leaves_one_block_per_order(void **state)
{
	int splits = 0;

	(void)state;
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		unsigned j = k;
		fa_counts want;

		while (j <= MAX_ORDER && merged[ZONE_NORMAL][j] == 0)
			j++;
		if (j > MAX_ORDER || j == k)
			continue;
		__builtin_memcpy(want, merged, sizeof(want));
		split_counts(want, ZONE_NORMAL, k, j);
		libc_snprintf(ctx, sizeof(ctx), "order %u from order %u:", k,
			      j);
		must_take(k, PG_TEST);
		expect_counts(want, "after the split");
		give_all();
		splits++;
	}
	assert_true(splits > 0); /* the layout has such an order */
}

/*
 * With only order-10 blocks left in Normal, an order-0 request splits one
 * ten times: the halves are the buddies, at every order, of the page it
 * returns. Fails like the test above, and when a half is put back at the
 * wrong place (overlapping the page returned or leaving a gap).
 */
static void full_split_leaves_every_buddy(void **state)
{
	uint64_t pfn;
	fa_counts want;

	(void)state;
	for (unsigned o = 0; o < MAX_ORDER; o++)
		for (uint64_t n = 0; n < merged[ZONE_NORMAL][o]; n++)
			must_take(o, PG_TEST);
	__builtin_memcpy(want, merged, sizeof(want));
	for (unsigned o = 0; o < MAX_ORDER; o++)
		want[ZONE_NORMAL][o] = 0;
	split_counts(want, ZONE_NORMAL, 0, MAX_ORDER);
	pfn = must_take(0, PG_TEST);
	expect_counts(want, "after splitting an order-10 block");
	for (unsigned o = 0; o < MAX_ORDER; o++) {
		uint64_t half = (pfn ^ (1UL << o)) & ~((1UL << o) - 1);

		if (!(page_array[half].p_flags & P_FREE) ||
		    page_array[half].p_order != o)
			flunk("after taking pfn %lu from an order-10 block, "
			      "pfn %lu should head a free order-%u block", pfn,
			      half, o);
	}
	check_invariants();
	expect_all_merged("after giving everything back");
}

/*
 * Take every page of RAM in blocks of mixed orders: no pfn is handed out
 * twice or reserved, and all RAM is handed out. Fails on a split that
 * hands out a half it also keeps free, a block over a hole, a free list
 * that still holds an allocated block.
 */
static void no_page_is_handed_out_twice(void **state)
{
	(void)state;
	fill(mixed_orders, PG_KERNEL);
	expect_live_pages(ram_total, "all RAM");
	check_invariants();
}

static int by_pfn_down(const void *a, const void *b)
{
	const struct block *x = a, *y = b;

	return (x->pfn < y->pfn) - (x->pfn > y->pfn);
}

/* Reorder live[] so that give_all() frees in the order plan names. */
static void arrange(const char *plan, struct test_rng *rng)
{
	if (plan[0] == 'u' || plan[0] == 'd') /* up, down by pfn */
		qsort(live, nlive, sizeof(live[0]), by_pfn_down);
	if (plan[0] == 'd')
		for (size_t i = 0; i < nlive / 2; i++) {
			struct block t = live[i];

			live[i] = live[nlive - 1 - i];
			live[nlive - 1 - i] = t;
		}
	if (plan[0] == 's') /* shuffled */
		for (size_t i = nlive; i > 1; i--) {
			size_t j = test_rng_below(rng, i);
			struct block t = live[i - 1];

			live[i - 1] = live[j];
			live[j] = t;
		}
	for (size_t i = 0; i < nlive; i++)
		live_index[live[i].pfn] = (uint32_t)i;
}

/*
 * Take all RAM, give it back in several orders: each time the free lists
 * end as merged as at the start. Fails when a free does not merge, stops
 * merging early, merges into the wrong head (the pfn not rounded down),
 * or loses a block from its list.
 */
static void freeing_everything_merges_back(void **state)
{
	static const struct plan {
		const char *order;
		unsigned (*pick)(size_t i);
	} plans[] = {
		{ "up by pfn", order_0 },
		{ "down by pfn", order_0 },
		{ "shuffled", order_0 },
		{ "last taken first", mixed_orders },
		{ "shuffled", mixed_orders },
	};
	uint64_t seed = test_seed();
	struct test_rng rng = { .x = seed };

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(plans); i++) {
		libc_snprintf(ctx, sizeof(ctx),
			      "blocks of order %s, freed %s (seed %lu):",
			      plans[i].pick == order_0 ? "0" : "0..10",
			      plans[i].order, seed);
		fill(plans[i].pick, PG_TEST);
		expect_live_pages(ram_total, "all RAM");
		arrange(plans[i].order, &rng);
		expect_all_merged("after freeing all");
	}
}

/* Every page of trap t, given back one at a time. */
static void give_trap_pages(const struct trap *t)
{
	for (uint64_t p = t->pfn; p < t->pfn + (1UL << t->order); p++)
		give_pfn(p);
}

/*
 * Take all RAM page by page, give back the pages of every trap: each
 * merges into its block and no further. Fails without the zone check (992
 * and 1000 merge), the hole check (a bait is merged with), the MAX_ORDER
 * stop (ASan: free_area[11]), the pfn range check (ASan: the page_t
 * past the end) or with any check made after reading the buddy's page_t.
 */
static void merges_stop_at_zones_holes_and_the_end(void **state)
{
	(void)state;
	fill(order_0, PG_TEST);
	for (size_t i = 0; i < ARRAY_SIZE(traps); i++)
		give_trap_pages(&traps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(traps); i++) {
		const page_t *pp = &page_array[traps[i].pfn];

		if (!(pp->p_flags & P_FREE) || pp->p_order != traps[i].order)
			flunk("pfn %lu should head a free order-%u block: its "
			      "buddy is %s", traps[i].pfn, traps[i].order,
			      traps[i].buddy);
	}
	check_invariants();
	expect_all_merged("after giving everything back");
}

/*
 * Once all RAM is out, every request gets NULL (no panic), with and
 * without PG_DMA; a page given back is the one handed out next, and four
 * buddies given back make an order-2 block. Fails when exhaustion panics
 * or returns a page twice, or frees do not make memory usable again.
 */
static void exhaustion_returns_null_and_recovers(void **state)
{
	(void)state;
	fill(order_0, PG_TEST);
	expect_live_pages(ram_total, "all RAM");
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		expect_take(k, PG_TEST, NO_PFN, "all RAM is out");
		expect_take(k, PG_DMA | PG_TEST, NO_PFN, "all RAM is out");
	}
	give_pfn(3333);
	expect_take(0, PG_TEST, 3333, "the only free page");
	for (uint64_t p = 3336; p < 3340; p++)
		give_pfn(p);
	expect_take(2, PG_TEST, 3336, "the only free pages");
	check_invariants();
	expect_all_merged("after giving everything back");
}

/*
 * PG_DMA requests get DMA pages only, all of them, and leave Normal
 * alone; DMA has no order-9 block, Normal does. Fails when PG_DMA is
 * ignored or falls back to Normal.
 */
static void dma_requests_stay_in_dma(void **state)
{
	fa_counts want = { { 0 } };

	(void)state;
	expect_take(9, PG_DMA | PG_KERNEL, NO_PFN, "DMA has no order-9 block");
	fill(order_0, PG_DMA | PG_KERNEL);
	expect_live_pages(ram_pages[ZONE_DMA], "all of DMA");
	__builtin_memcpy(want[ZONE_NORMAL], merged[ZONE_NORMAL],
			 sizeof(want[ZONE_NORMAL]));
	expect_counts(want, "with all of DMA taken");
	expect_all_merged("after giving everything back");
}

/*
 * Normal requests use Normal until it is empty, then DMA; an order-8
 * request finds DMA's order-8 block at 256 when Normal has none. Fails
 * without the fallback, or with one taken while Normal still has memory.
 */
static void normal_falls_back_to_dma(void **state)
{
	uint64_t pfn;

	(void)state;
	do
		pfn = take(0, PG_KERNEL);
	while (pfn != NO_PFN && zone_of(pfn) == ZONE_NORMAL);
	if (pfn == NO_PFN)
		flunk("NULL after %lu pages: no fallback to DMA", live_pages);
	expect_live_pages(ram_pages[ZONE_NORMAL] + 1,
			  "all of Normal, then one DMA page");
	give_pfn(pfn);
	expect_take(8, PG_KERNEL, 256, "DMA's only order-8 block");
	expect_all_merged("after giving everything back");
}

/*
 * Freeing a block whose head is free panics, naming page_free_pages: a
 * lone free page, and the head of a block two frees merged (the head
 * check of lab 3's Part C). Fails when such a double free goes unnoticed
 * (and corrupts the lists). A page absorbed into a lower buddy's block is
 * not tried: the walk-up check that would see it is optional.
 */
static void double_free_panics(void **state)
{
	(void)state;
	fill(order_0, PG_TEST);
	give_pfn(3000); /* its buddy, 3001, is still out */
	expect_panic_names_function(free_must_panic(3000, 0));
	give_pfn(3002);
	give_pfn(3003); /* merged: 3002 heads an order-1 block */
	expect_panic_names_function(free_must_panic(3002, 0));
}

/*
 * Freeing a reserved page (low memory, a hole) or a pfn not aligned to
 * the order panics, naming page_free_pages. Fails when such a free is
 * taken: a hole would be handed out, a block would overlap another. A
 * free with another order than the allocation's is not tried: comparing
 * with the head's p_order is optional (lab 3, Part C).
 */
static void freeing_reserved_or_misaligned_panics(void **state)
{
	uint64_t pfn;

	(void)state;
	expect_panic_names_function(free_must_panic(5, 0));
	expect_panic_names_function(free_must_panic(2580, 0));
	pfn = must_take(1, PG_TEST);
	expect_panic_names_function(free_must_panic(pfn + 1, 1));
}

/* ---- the random run ---- */

#define STRESS_OPS 1000000
#define CHECK_EVERY 100    /* ops between check_invariants() */
#define DRAIN_EVERY 100000 /* ops between giving everything back */
#define PHASE_OPS 10000    /* ops at one allocation rate */
#define RECENT 8           /* ops printed on failure */

struct op {
	unsigned long n;
	char kind; /* 'a'lloc, 'f'ree */
	unsigned order, flags;
	uint64_t pfn; /* freed, or handed out (NO_PFN: NULL) */
	bool done;    /* the call returned */
};

static struct {
	uint64_t seed;
	struct test_rng rng;
	struct op recent[RECENT];
	unsigned long n;
	unsigned long got[MAX_ORDER + 1], null[MAX_ORDER + 1], frees;
} run;

static void print_op(const struct op *op)
{
	if (op->kind == 'f')
		print_error("  op %lu: free pfn %lu order %u\n", op->n,
			    op->pfn, op->order);
	else if (!op->done)
		print_error("  op %lu: alloc order %u flags %#x\n", op->n,
			    op->order, op->flags);
	else if (op->pfn == NO_PFN)
		print_error("  op %lu: alloc order %u flags %#x -> NULL\n",
			    op->n, op->order, op->flags);
	else
		print_error("  op %lu: alloc order %u flags %#x -> pfn %lu\n",
			    op->n, op->order, op->flags, op->pfn);
}

/* The seed, the op that failed and those before it. */
static void print_run(void)
{
	print_error("random run: seed %lu (TEST_SEED=%lu replays), failed at "
		    "op %lu; invariants are checked every %d ops. Last ops:\n",
		    run.seed, run.seed, run.n, CHECK_EVERY);
	for (unsigned long i = run.n < RECENT ? 0 : run.n + 1 - RECENT;
	     i <= run.n; i++)
		print_op(&run.recent[i % RECENT]);
}

/* Orders 0..10, each half as likely as the one below (10 as 9). */
static unsigned random_order(void)
{
	return (unsigned)__builtin_ctzll(test_rng_next(&run.rng) |
					 (1ULL << MAX_ORDER));
}

static unsigned random_flags(void)
{
	static const unsigned owners[] = { 0, PG_KERNEL, PG_PTABLE, PG_TEST };
	uint64_t r = test_rng_next(&run.rng);

	return owners[r % 4] | ((r >> 8) % 4 == 0 ? PG_DMA : 0);
}

/* How often each order was handed out and refused, to show the reach. */
static void print_reach(void)
{
	print_message("random run: %lu frees; per order, blocks handed out / "
		      "NULL:\n ", run.frees);
	for (unsigned k = 0; k <= MAX_ORDER; k++)
		print_message(" %u: %lu/%lu", k, run.got[k], run.null[k]);
	print_message("\n");
}

static void stress_op(void)
{
	static const unsigned alloc_percent[] = { 60, 90, 50, 25, 75, 55 };
	unsigned pct = alloc_percent[run.n / PHASE_OPS %
				     ARRAY_SIZE(alloc_percent)];
	struct op *op = &run.recent[run.n % RECENT];

	*op = (struct op){ .n = run.n };
	if (nlive == 0 || test_rng_below(&run.rng, 100) < pct) {
		op->kind = 'a';
		op->order = random_order();
		op->flags = random_flags();
		op->pfn = take(op->order, op->flags);
		(op->pfn == NO_PFN ? run.null : run.got)[op->order]++;
	} else {
		size_t i = test_rng_below(&run.rng, nlive);

		op->kind = 'f';
		op->order = live[i].order;
		op->pfn = live[i].pfn;
		give(i);
		run.frees++;
	}
	op->done = true;
}

/*
 * 10^6 seeded random allocations (orders 0..10, with and without PG_DMA,
 * with owners) and frees, in phases from nearly empty to exhausted, each
 * checked as it returns; the whole state every 100 ops; everything given
 * back (and fully merged) every 100000. Fails on any bug above that a
 * mix of operations reaches, the order of events included: a list
 * corrupted by a remove, a count off by one, a merge that leaves its
 * buddy listed.
 */
static void random_run_matches_the_model(void **state)
{
	(void)state;
	run = (__typeof__(run)){ .seed = test_seed() };
	run.rng.x = run.seed;
	print_message("random run: seed %lu (TEST_SEED=<seed> to replay)\n",
		      run.seed);
	print_more = print_run;
	for (run.n = 0; run.n < STRESS_OPS; run.n++) {
		stress_op();
		if (run.n % CHECK_EVERY == CHECK_EVERY - 1)
			check_invariants();
		if (run.n % DRAIN_EVERY == DRAIN_EVERY - 1)
			expect_all_merged("all given back");
	}
	expect_all_merged("all given back at the end");
	print_reach();
}

/* ---- CPUs at once ---- */

#define NTHREADS 4
#define THREAD_OPS 400000
#define THREAD_HELD 16 /* blocks a thread holds at once */

/* 1 + the CPU whose live block holds the pfn, 0 if none: claimed with an
 * atomic exchange, so two CPUs handed one page find out. */
static int claim[NPAGES];

struct worker {
	pthread_t tid;
	int cpu;
	uint64_t seed;
	struct block held[THREAD_HELD]; /* order 0 with pfn NO_PFN: none */
	unsigned long allocs, nulls;
	const char *failure;
	uint64_t bad_pfn;
};

/* Note a failure (the first) and stop the worker. */
static bool worker_fails(struct worker *w, const char *why, uint64_t pfn)
{
	w->failure = why;
	w->bad_pfn = pfn;
	return false;
}

/* Claim each page of the block the allocator handed w: none is RAM
 * another CPU holds, or a hole; the head is marked as page.h says. */
static bool worker_claims(struct worker *w, const struct block *b)
{
	const page_t *pp = &page_array[b->pfn];

	if (b->pfn % (1UL << b->order) != 0)
		return worker_fails(w, "a block not aligned to its size",
				    b->pfn);
	if ((pp->p_flags & (P_FREE | P_RESERVED)) || pp->p_order != b->order ||
	    pp->p_owner != b->owner)
		return worker_fails(w, "a head marked free, or with the wrong "
				    "order or owner", b->pfn);
	for (uint64_t p = b->pfn; p < b->pfn + (1UL << b->order); p++) {
		if (owner_of[p] == HOLE)
			return worker_fails(w, "a block over a hole", p);
		if (__atomic_exchange_n(&claim[p], w->cpu + 1,
					__ATOMIC_ACQ_REL) != 0)
			return worker_fails(w, "a page another CPU holds", p);
	}
	return true;
}

/* Give back w's block b, releasing its pages' claims first. */
static bool worker_gives(struct worker *w, struct block *b)
{
	const page_t *pp = &page_array[b->pfn];

	if (pp->p_order != b->order || pp->p_owner != b->owner)
		return worker_fails(w, "a held block's head changed", b->pfn);
	for (uint64_t p = b->pfn; p < b->pfn + (1UL << b->order); p++)
		if (__atomic_exchange_n(&claim[p], 0, __ATOMIC_ACQ_REL) !=
		    w->cpu + 1)
			return worker_fails(w, "a held page claimed by another "
					    "CPU", p);
	page_free_pages(&page_array[b->pfn], b->order);
	b->pfn = NO_PFN;
	return true;
}

/* Slot k: give back its block, take one of a random order and owner. */
static bool worker_op(struct worker *w, struct test_rng *rng, size_t k)
{
	static const unsigned owners[] = { PG_KERNEL, PG_PTABLE, PG_TEST };
	struct block *b = &w->held[k];
	uint64_t r = test_rng_next(rng);
	unsigned flags = owners[r % 3] | ((r >> 8) % 8 == 0 ? PG_DMA : 0);
	page_t *pp;

	if (b->pfn != NO_PFN && !worker_gives(w, b))
		return false;
	b->order = (unsigned)((r >> 16) % 6);
	b->owner = PG_OWNER(flags);
	pp = page_alloc_pages(b->order, flags);
	if (pp == NULL) {
		w->nulls++;
		return true;
	}
	b->pfn = (uint64_t)(pp - page_array);
	if (b->pfn >= NPAGES)
		return worker_fails(w, "a page_t outside page_array", b->pfn);
	w->allocs++;
	return worker_claims(w, b);
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct test_rng rng = { w->seed };

	in_worker = true;
	host_curcpu = &cpus[w->cpu];
	for (size_t k = 0; k < THREAD_HELD; k++)
		w->held[k].pfn = NO_PFN;
	for (unsigned long op = 0; op < THREAD_OPS; op++)
		if (!worker_op(w, &rng, test_rng_below(&rng, THREAD_HELD)))
			return NULL;
	for (size_t k = 0; k < THREAD_HELD; k++)
		if (w->held[k].pfn != NO_PFN && !worker_gives(w, &w->held[k]))
			return NULL;
	return NULL;
}

/*
 * NTHREADS threads, each a CPU, allocate (orders 0..5, some PG_DMA) and
 * free at once, each claiming the pages it is handed: no page goes to two
 * CPUs or into a hole, no head is marked wrong; and once all is given
 * back the free lists are walked: linked, counted and merged as at the
 * start. Fails without the zone lock (or with one that does not cover a
 * whole split or merge): a page handed out twice, a corrupted list, a
 * count off, an ASSERT in buddy.c, or a list with a cycle (the timeout).
 */
static void cpus_at_once_keep_the_lists_whole(void **state)
{
	static struct worker w[NTHREADS];
	unsigned long allocs = 0;

	(void)state;
	ncpus = NTHREADS;
	for (int i = 0; i < NTHREADS; i++)
		cpus[i] = (struct cpu){ .cpu_self = &cpus[i], .cpu_id = i,
					.cpu_online = 1 };
	__builtin_memset(claim, 0, sizeof(claim));
	libc_snprintf(ctx, sizeof(ctx), "%d threads, seed %lu:", NTHREADS,
		      test_seed());
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .cpu = i, .seed = test_seed() + i };
		if (pthread_create(&w[i].tid, NULL, worker_run, &w[i]) != 0)
			flunk("pthread_create failed");
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(w[i].tid, NULL);
	ncpus = 1;
	for (int i = 0; i < NTHREADS; i++) {
		if (w[i].failure != NULL)
			flunk("cpu%d: %s (pfn %lu)", i, w[i].failure,
			      w[i].bad_pfn);
		allocs += w[i].allocs;
	}
	if (allocs < NTHREADS * THREAD_OPS / 2)
		flunk("only %lu of %d allocations succeeded", allocs,
		      NTHREADS * THREAD_OPS);
	check_invariants();
	expect_counts(merged, "after the threads gave everything back");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(setup_gives_the_merged_state),
		T(every_order_is_aligned_and_marked),
		T(split_leaves_one_block_per_order),
		T(full_split_leaves_every_buddy),
		T(no_page_is_handed_out_twice),
		T(freeing_everything_merges_back),
		T(merges_stop_at_zones_holes_and_the_end),
		T(exhaustion_returns_null_and_recovers),
		T(dma_requests_stay_in_dma),
		T(normal_falls_back_to_dma),
		T(double_free_panics),
		T(freeing_reserved_or_misaligned_panics),
		T(random_run_matches_the_model),
		T(cpus_at_once_keep_the_lists_whole),
	};
#undef T

	return cmocka_run_group_tests(tests, layout_init, NULL);
}
