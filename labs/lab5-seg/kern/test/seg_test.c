/*
 * seg_test.c — lab 5's layer from inside: the address space (part A), the
 * seg_vn driver (part B) and the page cache's hash (part C).
 *
 * Part A's tests use a driver of their own, segdummy, which holds no pages
 * and records what the address-space layer asks of it: so part A passes
 * or fails on its own, whatever state seg_vn is in. Parts B and C build
 * real address spaces with seg_vn over the initrd's files and look at what
 * the hat maps and what the page cache holds.
 */
#include <anon.h>
#include <as.h>
#include <errno.h>
#include <kernel.h>
#include <kstring.h>
#include <ktest.h>
#include <page.h>
#include <rand.h>
#include <seg.h>
#include <seg_vn.h>
#include <thread.h>
#include <vnode.h>

#include "vmtest.h"


/* ---- segdummy: a driver that records and splits, and maps nothing ---- */

struct dummy_log {
	int calls;
	uintptr_t addr[8];
	size_t len[8];
};
static struct dummy_log dlog;

static void dlog_add(uintptr_t addr, size_t len)
{
	if (dlog.calls < 8) {
		dlog.addr[dlog.calls] = addr;
		dlog.len[dlog.calls] = len;
	}
	dlog.calls++;
}

static const struct seg_ops segdummy_ops;

/* A dummy segment's data is its "offset": where its base was at creation. */
static int segdummy_create(struct seg *seg, void *arg)
{
	(void)arg;
	seg->s_ops = &segdummy_ops;
	seg->s_data = (void *)(seg->s_base - BASE);
	return 0;
}

/* Cut seg at addr; the new upper segment, or NULL. */
static struct seg *segdummy_split(struct seg *seg, uintptr_t addr)
{
	uintptr_t end = seg->s_base + seg->s_size;
	struct seg *n;

	seg->s_size = addr - seg->s_base;
	seg->s_as->a_size -= end - addr;
	n = seg_alloc(seg->s_as, addr, end - addr);
	if (n != NULL) {
		n->s_ops = &segdummy_ops;
		n->s_data = (void *)((uintptr_t)seg->s_data +
				     (addr - seg->s_base));
	}
	return n;
}

static int segdummy_unmap(struct seg *seg, uintptr_t addr, size_t len)
{
	dlog_add(addr, len);
	if (addr > seg->s_base)
		seg = segdummy_split(seg, addr);
	if (seg == NULL)
		return -ENOMEM;
	if (addr + len < seg->s_base + seg->s_size &&
	    segdummy_split(seg, addr + len) == NULL)
		return -ENOMEM;
	seg_free(seg);
	return 0;
}

static void segdummy_free(struct seg *seg)
{
	(void)seg;
}

static faultcode_t segdummy_fault(struct hat *hat, struct seg *seg,
				  uintptr_t addr, size_t len,
				  enum fault_type type, enum seg_rw rw)
{
	(void)hat, (void)seg, (void)type, (void)rw;
	dlog_add(addr, len);
	return FC_OK;
}

static int segdummy_setprot(struct seg *seg, uintptr_t addr, size_t len,
			    unsigned prot)
{
	(void)seg, (void)prot;
	dlog_add(addr, len);
	return 0;
}

static void segdummy_incore(struct seg *seg, uintptr_t addr, size_t len,
			    char *vec)
{
	(void)seg, (void)addr;
	for (size_t i = 0; i < len / PG; i++)
		vec[i] = 0;
}

static const struct seg_ops segdummy_ops = {
	.unmap = segdummy_unmap,
	.free = segdummy_free,
	.fault = segdummy_fault,
	.setprot = segdummy_setprot,
	.incore = segdummy_incore,
};

static struct as *test_as(void)
{
	struct as *as = as_alloc();

	if (as == NULL)
		ktest_fail(__FILE__, __LINE__, "as_alloc failed");
	ASSERT_NE(as, NULL);
	memset(&dlog, 0, sizeof(dlog));
	return as;
}

static int dmap(struct as *as, uintptr_t addr, size_t len)
{
	return as_map(as, addr, len, segdummy_create, NULL);
}

/* The segment at addr (a_lock taken for the lookup). */
static struct seg *seg_at(struct as *as, uintptr_t addr)
{
	struct seg *seg;

	spin_lock(&as->a_lock);
	seg = as_segat(as, addr);
	spin_unlock(&as->a_lock);
	return seg;
}

/* ---- part A ---- */

KTEST(seg, map_refuses_overlap)
{
	struct as *as = test_as();

	EXPECT_EQ(dmap(as, BASE, 4 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 2 * PG, 4 * PG), -ENOMEM);
	EXPECT_EQ(dmap(as, BASE - PG, 2 * PG), -ENOMEM);
	EXPECT_EQ(dmap(as, BASE - 2 * PG, 8 * PG), -ENOMEM);
	EXPECT_EQ(dmap(as, BASE + 4 * PG, PG), 0);   /* adjacent: fine */
	EXPECT_EQ(dmap(as, BASE - PG, PG), 0);
	EXPECT_EQ(as_nsegs(as), 3UL);
	EXPECT_EQ(as->a_size, 6 * PG);
	EXPECT_EQ(as_map(as, BASE + 100, PG, segdummy_create, NULL), -ENOMEM);
	as_free(as);
}

KTEST(seg, segat_finds_the_holder)
{
	struct as *as = test_as();

	EXPECT_EQ(dmap(as, BASE, 2 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 4 * PG, 2 * PG), 0);
	EXPECT_EQ(seg_at(as, BASE - 1), NULL);
	EXPECT_EQ(seg_at(as, BASE)->s_base, BASE);
	EXPECT_EQ(seg_at(as, BASE + 2 * PG - 1)->s_base, BASE);
	EXPECT_EQ(seg_at(as, BASE + 2 * PG), NULL);
	EXPECT_EQ(seg_at(as, BASE + 5 * PG + 7)->s_base, BASE + 4 * PG);
	EXPECT_EQ(seg_at(as, BASE + 6 * PG), NULL);
	as_free(as);
}

KTEST(seg, unmap_middle_leaves_two)
{
	struct as *as = test_as();
	struct seg *lo, *hi;

	EXPECT_EQ(dmap(as, BASE, 8 * PG), 0);
	EXPECT_EQ(as_unmap(as, BASE + 2 * PG, 3 * PG), 0);
	EXPECT_EQ(as_nsegs(as), 2UL);
	lo = seg_at(as, BASE);
	hi = seg_at(as, BASE + 5 * PG);
	ASSERT_NE(lo, NULL);
	ASSERT_NE(hi, NULL);
	EXPECT_EQ(lo->s_size, 2 * PG);
	EXPECT_EQ(hi->s_base, BASE + 5 * PG);
	EXPECT_EQ(hi->s_size, 3 * PG);
	EXPECT_EQ((uintptr_t)hi->s_data, 5 * PG);
	EXPECT_EQ(seg_at(as, BASE + 3 * PG), NULL);
	EXPECT_EQ(as->a_size, 5 * PG);
	as_free(as);
}

KTEST(seg, unmap_spans_segments_and_holes)
{
	struct as *as = test_as();

	EXPECT_EQ(dmap(as, BASE, 2 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 3 * PG, 2 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 6 * PG, 2 * PG), 0);
	/* From the middle of the first to the middle of the third. */
	EXPECT_EQ(as_unmap(as, BASE + PG, 6 * PG), 0);
	EXPECT_EQ(dlog.calls, 3);
	EXPECT_EQ(dlog.addr[0], BASE + PG);
	EXPECT_EQ(dlog.len[0], PG);
	EXPECT_EQ(dlog.addr[1], BASE + 3 * PG);
	EXPECT_EQ(dlog.len[1], 2 * PG);
	EXPECT_EQ(dlog.addr[2], BASE + 6 * PG);
	EXPECT_EQ(dlog.len[2], PG);
	EXPECT_EQ(as_nsegs(as), 2UL);
	EXPECT_EQ(as->a_size, 2 * PG);
	EXPECT_EQ(as_unmap(as, BASE + 100 * PG, PG), 0); /* nothing there */
	EXPECT_EQ(as_unmap(as, BASE + 1, PG), -EINVAL);
	as_free(as);
}

KTEST(seg, setprot_checks_the_whole_range_first)
{
	struct as *as = test_as();

	EXPECT_EQ(dmap(as, BASE, 2 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 3 * PG, 2 * PG), 0);
	EXPECT_EQ(as_setprot(as, BASE, 5 * PG, PROT_READ), -ENOMEM);
	EXPECT_EQ(dlog.calls, 0); /* nothing changed */
	EXPECT_EQ(dmap(as, BASE + 2 * PG, PG), 0);
	EXPECT_EQ(as_setprot(as, BASE + PG, 3 * PG, PROT_READ), 0);
	EXPECT_EQ(dlog.calls, 3);
	EXPECT_EQ(dlog.addr[0], BASE + PG);
	EXPECT_EQ(dlog.len[0], PG);
	EXPECT_EQ(dlog.addr[2], BASE + 3 * PG);
	EXPECT_EQ(dlog.len[2], PG);
	as_free(as);
}

KTEST(seg, fault_goes_to_each_segment)
{
	struct as *as = test_as();

	EXPECT_EQ(dmap(as, BASE, 2 * PG), 0);
	EXPECT_EQ(dmap(as, BASE + 2 * PG, 2 * PG), 0);
	EXPECT_EQ((int)as_fault(as, BASE + PG, 2 * PG, F_INVAL, S_READ), FC_OK);
	EXPECT_EQ(dlog.calls, 2);
	EXPECT_EQ(dlog.addr[0], BASE + PG);
	EXPECT_EQ(dlog.len[0], PG);
	EXPECT_EQ(dlog.addr[1], BASE + 2 * PG);
	EXPECT_EQ(dlog.len[1], PG);
	EXPECT_EQ((int)as_fault(as, BASE + 4 * PG, 1, F_INVAL, S_READ), FC_NOMAP);
	EXPECT_EQ((int)as_fault(as, BASE - 1, 1, F_INVAL, S_WRITE), FC_NOMAP);
	EXPECT_EQ((int)as_fault(as, USERLIMIT + PG, 1, F_INVAL, S_READ), FC_NOMAP);
	as_free(as);
}

/*
 * 3,000 segments, and a lookup must cost O(log n) tree steps: an AVL
 * tree of n nodes is at most 1.44 log2(n) + 2 = 19 deep here. A list, or
 * a walk from the first segment, takes about 1,500 steps per lookup.
 */
#define MANY 3000
#define MANY_DEPTH 19

KTEST_TIMEOUT(seg, lookup_is_logarithmic, 10)
{
	struct as *as = test_as();
	struct rand r;
	unsigned long steps;
	int wrong = 0;

	for (uintptr_t i = 0; i < MANY; i++)
		if (dmap(as, BASE + 2 * i * PG, PG) != 0)
			ktest_fail(__FILE__, __LINE__, "map %lu failed", i);
	ASSERT_EQ(as_nsegs(as), (unsigned long)MANY);
	rand_seed(&r, ktest_seed());
	steps = avl_steps;
	spin_lock(&as->a_lock);
	for (int k = 0; k < 1000; k++) {
		uintptr_t i = rand_below(&r, 2 * MANY);
		uintptr_t a = BASE + i * PG + rand_below(&r, PG);
		struct seg *seg = as_segat(as, a);

		/* Even pages are mapped, odd ones are holes. */
		wrong += i % 2 == 0 ? seg == NULL || seg->s_base !=
					  ROUNDDOWN(a, PG)
				    : seg != NULL;
	}
	spin_unlock(&as->a_lock);
	steps = avl_steps - steps;
	EXPECT_EQ(wrong, 0);
	ktest_diag("1000 lookups in %d segments: %lu tree steps", MANY, steps);
	EXPECT_LE(steps, 1000UL * 2 * MANY_DEPTH);
	as_free(as);
}

/* ---- part B: seg_vn over the initrd's files ---- */

KTEST(segvn, unmap_keeps_file_offsets)
{
	vnode_t *vp = pattern_vp();
	struct as *as = test_as();
	struct seg *hi;

	ASSERT_EQ(vnmap(as, BASE, 4 * PG, vp, 0, MAP_PRIVATE, PROT_READ), 0);
	EXPECT_EQ(as_unmap(as, BASE + PG, PG), 0);
	hi = seg_at(as, BASE + 2 * PG);
	ASSERT_NE(hi, NULL);
	EXPECT_EQ(hi->s_base, BASE + 2 * PG);
	EXPECT_EQ(((struct segvn_data *)hi->s_data)->offset, 2 * PG);
	/* And what it maps says so too. */
	EXPECT_EQ((int)as_fault(as, BASE + 2 * PG + 5, 1, F_INVAL, S_READ), FC_OK);
	EXPECT_EQ(as_byte(as, BASE + 2 * PG + 5), pattern_byte(2 * PG + 5));
	EXPECT_EQ((int)as_fault(as, BASE + PG, 1, F_INVAL, S_READ), FC_NOMAP);
	as_free(as);
}

KTEST(segvn, setprot_middle_leaves_three)
{
	struct as *as = test_as();
	struct seg *mid;

	ASSERT_EQ(vnmap(as, BASE, 6 * PG, NULL, 0, MAP_PRIVATE,
			PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ(as_setprot(as, BASE + 2 * PG, 2 * PG, PROT_READ), 0);
	EXPECT_EQ(as_nsegs(as), 3UL);
	mid = seg_at(as, BASE + 2 * PG);
	ASSERT_NE(mid, NULL);
	EXPECT_EQ(mid->s_size, 2 * PG);
	EXPECT_EQ((int)as_fault(as, BASE + 2 * PG, 1, F_INVAL, S_WRITE), FC_PROT);
	EXPECT_EQ((int)as_fault(as, BASE + 4 * PG, 1, F_INVAL, S_WRITE), FC_OK);
	EXPECT_EQ((int)as_fault(as, BASE + 2 * PG, 1, F_INVAL, S_READ), FC_OK);
	as_free(as);
}

KTEST(segvn, zero_fill_on_first_touch_only)
{
	struct as *as = test_as();
	uint64_t anon0 = anon_count();

	ASSERT_EQ(vnmap(as, BASE, 16 * PG, NULL, 0, MAP_PRIVATE,
			PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ(anon_count(), anon0); /* mapping allocates nothing */
	for (int i = 0; i < 16; i += 3)
		EXPECT_EQ((int)as_fault(as, BASE + i * PG, 1, F_INVAL, S_WRITE),
			  FC_OK);
	EXPECT_EQ(anon_count(), anon0 + 6);
	EXPECT_EQ(as_byte(as, BASE + 3 * PG + 100), 0);
	EXPECT_EQ(as_byte(as, BASE + PG), -1); /* untouched: not mapped */
	/* A second fault on a loaded page allocates nothing more. */
	EXPECT_EQ((int)as_fault(as, BASE, 1, F_PROT, S_WRITE), FC_OK);
	EXPECT_EQ(anon_count(), anon0 + 6);
	as_free(as);
	EXPECT_EQ(anon_count(), anon0);
}

KTEST(segvn, private_write_copies_the_file_page)
{
	vnode_t *vp = pattern_vp();
	struct as *as = test_as();
	page_t *cached;
	pfn_t read_pfn, write_pfn;

	ASSERT_EQ(vnmap(as, BASE, 2 * PG, vp, PG, MAP_PRIVATE,
			PROT_READ | PROT_WRITE), 0);
	EXPECT_EQ((int)as_fault(as, BASE, 1, F_INVAL, S_READ), FC_OK);
	read_pfn = hat_getpfnum(&as->a_hat, BASE);
	cached = page_lookup(vp, PG);
	ASSERT_NE(cached, NULL);
	EXPECT_EQ(read_pfn, page_pfn(cached)); /* the cache's own page */
	/* ... mapped read-only, or the next write would land in the file. */
	{
		struct hat_mapping m;

		ASSERT_TRUE(hat_probe(&as->a_hat, BASE, &m));
		EXPECT_EQ(m.prot & PROT_WRITE, 0U);
	}
	EXPECT_EQ((int)as_fault(as, BASE, 1, F_PROT, S_WRITE), FC_OK);
	write_pfn = hat_getpfnum(&as->a_hat, BASE);
	EXPECT_NE(write_pfn, read_pfn);          /* a copy */
	EXPECT_EQ(as_byte(as, BASE + 9), pattern_byte(PG + 9));
	*((uint8_t *)kpm_va(write_pfn << PAGESHIFT) + 9) ^= 0xff;
	EXPECT_EQ(*((uint8_t *)kpm_va(page_pfn(cached) << PAGESHIFT) + 9),
		  pattern_byte(PG + 9)); /* the file is untouched */
	as_free(as);
}

KTEST(segvn, faults_the_segment_refuses)
{
	vnode_t *vp = pattern_vp();
	struct as *as = test_as();

	ASSERT_EQ(vnmap(as, BASE, PG, NULL, 0, MAP_PRIVATE, PROT_READ), 0);
	ASSERT_EQ(vnmap(as, BASE + PG, PG, NULL, 0, MAP_PRIVATE, 0), 0);
	ASSERT_EQ(vnmap(as, BASE + 2 * PG, 8 * PG, vp, 0, MAP_PRIVATE,
			PROT_READ), 0);
	EXPECT_EQ((int)as_fault(as, BASE, 1, F_INVAL, S_WRITE), FC_PROT);
	EXPECT_EQ((int)as_fault(as, BASE, 1, F_INVAL, S_EXEC), FC_PROT);
	EXPECT_EQ((int)as_fault(as, BASE + PG, 1, F_INVAL, S_READ), FC_PROT);
	/* pattern.bin has 4 pages (the last one partly): the 5th is past EOF. */
	EXPECT_EQ((int)as_fault(as, BASE + 5 * PG, 1, F_INVAL, S_READ), FC_OK);
	EXPECT_EQ((int)as_fault(as, BASE + 6 * PG, 1, F_INVAL, S_READ), FC_OBJERR);
	as_free(as);
}

/* ---- part C: the page cache ---- */

/*
 * Two address spaces map one file page: the same physical page, read in
 * once (one major fault), found in the hash the second time (minor).
 */
KTEST(pagecache, second_mapping_shares_the_page)
{
	vnode_t *vp = pattern_vp();
	uint64_t off = PG, maj;
	struct as *a, *b;
	page_t *old;

	/*
	 * The file's second page, read in by this test: earlier tests may
	 * have cached it, and no process maps it between tests, so it is
	 * put out of the cache first.
	 */
	if ((old = page_lookup(vp, off)) != NULL) {
		page_hashout(old);
		page_free_pages(old, 0);
	}
	a = test_as();
	b = test_as();
	ASSERT_EQ(vnmap(a, BASE, PG, vp, off, MAP_SHARED, PROT_READ), 0);
	ASSERT_EQ(vnmap(b, BASE + 8 * PG, PG, vp, off, MAP_SHARED, PROT_READ),
		  0);
	maj = curthread->t_majflt;
	EXPECT_EQ((int)as_fault(a, BASE, 1, F_INVAL, S_READ), FC_OK);
	EXPECT_EQ(curthread->t_majflt, maj + 1);
	EXPECT_EQ((int)as_fault(b, BASE + 8 * PG, 1, F_INVAL, S_READ), FC_OK);
	EXPECT_EQ(curthread->t_majflt, maj + 1);
	EXPECT_EQ(hat_getpfnum(&a->a_hat, BASE),
		  hat_getpfnum(&b->a_hat, BASE + 8 * PG));
	ASSERT_NE(page_lookup(vp, off), NULL);
	EXPECT_EQ(hat_getpfnum(&a->a_hat, BASE), page_pfn(page_lookup(vp, off)));
	as_free(a);
	as_free(b);
}

/*
 * The hash against a model: random names put in and taken out, and every
 * lookup must find exactly the page the model says (or none). A vnode of
 * the test's own, so no real file's pages are touched.
 */
/*
 * More names than a hash of 1024 chains has chains: whatever the hash,
 * some share a chain, so a lookup that does not compare the whole name
 * returns the wrong page.
 */
#define HNAMES 640

/*
 * Name i's offset: 32 pages in a row, then a stride of 1024 pages, so
 * that a hash on the low bits of the page number puts many names of one
 * vnode on one chain too.
 */
static uint64_t name_off(int i)
{
	return ((uint64_t)(i % 32) + (uint64_t)(i / 32) * 1024) * PG;
}

KTEST(pagecache, hash_finds_every_page)
{
	static vnode_t vn[2];
	page_t *model[2][HNAMES] = { { NULL } };
	struct rand r;
	uint64_t cached0 = page_cache_count();
	int wrong = 0;

	for (int v = 0; v < 2; v++) {
		vn[v].v_type = VREG;
		spin_init(&vn[v].v_lock, "test_vnode", LR_VNODE);
	}
	rand_seed(&r, ktest_seed());
	for (int step = 0; step < 1500; step++) {
		int v = (int)rand_below(&r, 2), i = (int)rand_below(&r, HNAMES);
		uint64_t off = name_off(i);
		page_t *pp;

		if (model[v][i] == NULL) {
			pp = page_create_va(&vn[v], off);
			ASSERT_NE(pp, NULL);
			if (!page_hashin(pp, &vn[v], off)) {
				wrong++;
				page_free_pages(pp, 0);
				continue;
			}
			model[v][i] = pp;
		} else if (rand_below(&r, 2) == 0) {
			/* A second page for the same name must be refused. */
			pp = page_create_va(&vn[v], off);
			ASSERT_NE(pp, NULL);
			wrong += page_hashin(pp, &vn[v], off);
			page_free_pages(pp, 0);
		} else {
			page_hashout(model[v][i]);
			page_free_pages(model[v][i], 0);
			model[v][i] = NULL;
		}
		for (int w = 0; w < 2; w++)
			for (int j = step % 61; j < HNAMES; j += 61)
				wrong += page_lookup(&vn[w], name_off(j)) !=
					 model[w][j];
	}
	EXPECT_EQ(wrong, 0);
	for (int v = 0; v < 2; v++)
		for (int i = 0; i < HNAMES; i++)
			if (model[v][i] != NULL) {
				page_hashout(model[v][i]);
				page_free_pages(model[v][i], 0);
			}
	EXPECT_EQ(page_cache_count(), cached0);
}
