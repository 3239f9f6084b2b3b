/*
 * bench_buddy.c — figures for the buddy allocator: the real kern/mm/buddy.c,
 * compiled for the host at -O2 without sanitizers. A benchmark, not a
 * test: it prints figures and never passes or fails on them
 * (DESIGN.md section 6). `make bench` in this directory runs it.
 *
 *  1. ns per alloc+free pair at orders 0, 3 and 9, on 64 MiB of free
 *     memory. On free memory every block is order 10, so an order-k pair
 *     splits 10 - k times and merges as often: order 0 is the costliest.
 *  2. ns per order-0 operation with 64 MiB and with 4 GiB of simulated
 *     memory (16384 and 1048576 page_t), and their ratio, on free memory,
 *     on fragmented memory (every other page out: free lists 64 times as
 *     long at 4 GiB), and for random frees and allocations over the
 *     fragmented memory. Each operation is O(MAX_ORDER), so the first two
 *     ratios should be about 1; the random one also pays cache misses in
 *     a page_array 64 times as large.
 *
 * Each figure is the median of RUNS runs of OPS operations after one
 * warm-up run, with the fastest and slowest run; runs on the two memory
 * sizes alternate, so drift in the machine's speed hits both alike.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kenv.h>
#include <page.h>

#define RUNS 7
#define OPS (1L << 19)
#define SMALL_PAGES (64UL << 20 >> PAGESHIFT)
#define LARGE_PAGES (4UL << 30 >> PAGESHIFT)
#define LOW_PFNS 256 /* reserved, as the kernel's first 1 MiB */

/* What buddy.c uses from mm/page.c: the machine loaded now. */
page_t *page_array;
uint64_t page_array_npages;
zone_t zones[NZONES];

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_buddy: panic: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void die(const char *why)
{
	fprintf(stderr, "bench_buddy: %s: nothing to measure (the lab 3 "
		"stub?)\n", why);
	exit(1);
}

/* One simulated machine; load() makes it the allocator's. */
struct machine {
	const char *name;
	uint64_t npages;
	page_t *pages;
	zone_t zones[NZONES];
	page_t **held; /* the pages out, for the random workload */
	uint64_t nheld;
	uint64_t rng;
};

static void load(const struct machine *m)
{
	page_array = m->pages;
	page_array_npages = m->npages;
	for (int z = 0; z < NZONES; z++)
		zones[z] = m->zones[z];
}

static void save(struct machine *m)
{
	for (int z = 0; z < NZONES; z++)
		m->zones[z] = zones[z];
}

/* npages of RAM but the low 1 MiB, in DMA and Normal, all of it free. */
static void build(struct machine *m, const char *name, uint64_t npages)
{
	uint64_t dma_end = npages < DMA_LIMIT_PFN ? npages : DMA_LIMIT_PFN;

	*m = (struct machine){ .name = name, .npages = npages, .rng = 1 };
	m->pages = calloc(npages, sizeof(page_t));
	m->held = calloc(npages, sizeof(page_t *));
	if (m->pages == NULL || m->held == NULL)
		die("out of host memory");
	m->zones[ZONE_DMA] = (zone_t){ .z_name = "DMA", .z_end_pfn = dma_end };
	m->zones[ZONE_NORMAL] = (zone_t){ .z_name = "Normal",
					  .z_start_pfn = dma_end,
					  .z_end_pfn = npages };
	for (int z = 0; z < NZONES; z++)
		spin_init(&m->zones[z].z_lock, "zone_lock", LR_PAGE_ZONE);
	for (uint64_t pfn = 0; pfn < npages; pfn++) {
		m->pages[pfn].p_zone = (uint8_t)pfn_zone(pfn);
		m->pages[pfn].p_flags = pfn < LOW_PFNS ? P_RESERVED : 0;
	}
	load(m);
	for (uint64_t pfn = LOW_PFNS; pfn < npages; pfn++)
		page_free_pages(&page_array[pfn], 0); /* merges as it goes */
	save(m);
	for (unsigned o = 0; o <= MAX_ORDER; o++)
		if (zones[ZONE_NORMAL].z_free_area[o].fa_count != 0)
			return;
	die("the Normal zone holds no free block after the frees");
}

/* Take every page, then give back those at even pfns. */
static void fragment(struct machine *m)
{
	uint64_t n = 0;
	page_t *pp;

	load(m);
	while ((pp = page_alloc_pages(0, PG_TEST)) != NULL)
		m->held[n++] = pp;
	for (uint64_t i = 0; i < n; i++) {
		if (page_pfn(m->held[i]) % 2 == 0)
			page_free_pages(m->held[i], 0);
		else
			m->held[m->nheld++] = m->held[i];
	}
	if (m->nheld == 0)
		die("page_alloc_pages(0) returned NULL on free memory");
	save(m);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* A workload: OPS operations on the loaded machine m. */
typedef void (*workload)(struct machine *m, unsigned order);

static void pairs(struct machine *m, unsigned order)
{
	(void)m;
	for (long i = 0; i < OPS; i++) {
		page_t *pp = page_alloc_pages(order, PG_TEST);

		if (pp == NULL)
			die("page_alloc_pages returned NULL on free memory");
		page_free_pages(pp, order);
	}
}

/* Free a random page that is out, then take a page (xorshift64). */
static void random_swaps(struct machine *m, unsigned order)
{
	for (long i = 0; i < OPS; i++) {
		uint64_t j;

		m->rng ^= m->rng << 13;
		m->rng ^= m->rng >> 7;
		m->rng ^= m->rng << 17;
		j = m->rng % m->nheld;
		page_free_pages(m->held[j], order);
		m->held[j] = page_alloc_pages(order, PG_TEST);
		if (m->held[j] == NULL)
			die("page_alloc_pages returned NULL after a free");
	}
}

/* ns per operation of one timed run of w on m. */
static double run_once(workload w, struct machine *m, unsigned order)
{
	double t0, t1;

	load(m);
	t0 = now_ns();
	w(m, order);
	t1 = now_ns();
	save(m);
	return (t1 - t0) / OPS;
}

struct figure {
	double median, min, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static struct figure summarize(double t[RUNS])
{
	qsort(t, RUNS, sizeof(t[0]), cmp_double);
	return (struct figure){ t[RUNS / 2], t[0], t[RUNS - 1] };
}

/* w on each of the nm machines, runs alternating; the warm-up dropped. */
static void measure(workload w, unsigned order, struct machine *ms[], int nm,
		    struct figure out[])
{
	double t[2][RUNS];

	for (int r = -1; r < RUNS; r++)
		for (int i = 0; i < nm; i++) {
			double ns = run_once(w, ms[i], order);

			if (r >= 0)
				t[i][r] = ns;
		}
	for (int i = 0; i < nm; i++)
		out[i] = summarize(t[i]);
}

static void print_orders(struct machine *small)
{
	static const unsigned orders[] = { 0, 3, 9 };
	struct figure f;

	printf("%-38s %9s  (fastest .. slowest)\n",
	       "alloc+free pair, 64 MiB of free memory:", "median");
	for (size_t i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
		measure(pairs, orders[i], &small, 1, &f);
		printf("  order %-29u %6.1f ns  (%.1f .. %.1f)\n", orders[i],
		       f.median, f.min, f.max);
	}
}

static void print_sizes(const char *what, workload w, struct machine *ms[2])
{
	struct figure f[2];

	measure(w, 0, ms, 2, f);
	printf("  %-36s %6.1f ns %7.1f ns %7.2f\n", what, f[0].median,
	       f[1].median, f[1].median / f[0].median);
}

int main(void)
{
	struct machine small, large;
	struct machine *both[2] = { &small, &large };

	setvbuf(stdout, NULL, _IOLBF, 0);
	build(&small, "64 MiB", SMALL_PAGES);
	build(&large, "4 GiB", LARGE_PAGES);
	printf("bench_buddy: kern/mm/buddy.c at -O2, no sanitizers; each "
	       "figure is the median of %d runs of %ld operations, after a "
	       "warm-up run\n\n", RUNS, OPS);
	print_orders(&small);
	printf("\n%-38s %9s %10s %7s\n", "order 0, alloc+free pair:",
	       small.name, large.name, "ratio");
	print_sizes("alloc+free pairs, free memory", pairs, both);
	fragment(&small);
	fragment(&large);
	print_sizes("alloc+free pairs, fragmented", pairs, both);
	print_sizes("random free+alloc, fragmented", random_swaps, both);
	return 0;
}
