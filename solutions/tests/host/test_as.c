/*
 * test_as.c — the address-space layer on the host: the kernel's own
 * kern/vm/vm_as.c, seg_vn.c, vm_anon.c, vm_page.c and lib/avl.c, with
 * small fakes for what they call outside themselves:
 *
 *	hat	a table of <hat, va> -> <pfn, prot>, so a test sees exactly
 *		what is mapped and with which protection
 *	pages	vmfake.h's page_alloc_pages() over simmem's pages, counted
 *		by owner (PG_ANON, PG_CACHE): a leaked page shows in a count,
 *		a page used after it is freed panics in kpm_va()
 *	kmem	vmfake.h's: malloc, behind a header naming the cache and the
 *		size, with a count of live objects
 *	files	vnodes whose VOP_GETPAGE reads an in-memory file into the
 *		page cache as ramfs does, counting the reads
 *	CPU	hostcpu.c's CPU 0 running fake_thread; the spinlocks are the
 *		kernel's, lock-order checker included
 *
 * The unit tests each pin one behaviour down and say in their comment
 * which bug fails them. The random test runs seeded map, munmap,
 * mprotect, fault and mincore operations over a 64-page window against a
 * model (one entry per page) and checks every invariant after each step:
 *
 *	window   0x40000000                                    +64 pages
 *	model    |anon priv|..|file 1 shared @2|anon shared|..|file 0 priv|
 *	tree     seg        seg                seg    seg      seg
 *	hat      x  x          x   x               x             x
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

#include <anon.h>
#include <as.h>
#include <avl.h>
#include <cpuvar.h>
#include <errno.h>
#include <hat.h>
#include <kenv.h>
#include <kmem.h>
#include <page.h>
#include <seg.h>
#include <seg_vn.h>
#include <thread.h>
#include <vmstat.h>
#include <vnode.h>

#include "simmem.h"
#include "testutil.h"
#include "vmfake.h"

#define P PAGESIZE
#define ROUNDUP(x, a) (((x) + (a) - 1) / (a) * (a))
#define MIN(a, b) ((a) < (b) ? (a) : (b))

/* ---- failures ---- */

static char ctx[160];            /* what the test is doing */
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
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	print_ctx();
	fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

/* ---- the fake hat: a table of translations ---- */

struct fake_hment {
	const struct hat *h; /* NULL: a free entry */
	uintptr_t va;
	pfn_t pfn;
	unsigned prot;
};

#define HMENTS 4096
static struct fake_hment hments[HMENTS];
static int hats_live;

static struct fake_hment *hment_find(const struct hat *h, uintptr_t va)
{
	for (int i = 0; i < HMENTS; i++)
		if (hments[i].h == h && hments[i].va == va)
			return &hments[i];
	return NULL;
}

int hat_alloc_user(struct hat *hat)
{
	hat->h_root = 1; /* not 0: the hat exists */
	hats_live++;
	return 0;
}

/* as_free() must have unloaded every page before the hat goes. */
void hat_free_user(struct hat *hat)
{
	for (int i = 0; i < HMENTS; i++)
		if (hments[i].h == hat)
			flunk("hat_free_user: %#lx is still mapped (pfn %#lx) "
			      "as the address space is freed", hments[i].va,
			      hments[i].pfn);
	hat->h_root = 0;
	hats_live--;
}

int hat_memload(struct hat *hat, uintptr_t va, pfn_t pfn, unsigned prot,
		unsigned flags)
{
	struct fake_hment *e = hment_find(hat, va);

	if (va % P != 0 || flags != 0 || !simmem_is_live(pfn << PAGESHIFT))
		flunk("hat_memload(%#lx, pfn %#lx, flags %#x): misaligned, "
		      "flagged, or not a live page", va, pfn, flags);
	if (e == NULL)
		e = hment_find(NULL, 0);
	if (e == NULL)
		flunk("hat_memload: the fake hat's table is full");
	*e = (struct fake_hment){ .h = hat, .va = va, .pfn = pfn,
				  .prot = prot };
	return 0;
}

int hat_unload(struct hat *hat, uintptr_t va, size_t len)
{
	for (int i = 0; i < HMENTS; i++)
		if (hments[i].h == hat && hments[i].va - va < len)
			hments[i] = (struct fake_hment){ 0 };
	return 0;
}

int hat_chgprot(struct hat *hat, uintptr_t va, size_t len, unsigned prot)
{
	for (int i = 0; i < HMENTS; i++)
		if (hments[i].h == hat && hments[i].va - va < len)
			hments[i].prot = prot;
	return 0;
}

/* ---- pages (vmfake.h) ---- */

static uint64_t page_word(pfn_t pfn)
{
	return *(uint64_t *)kpm_va(pfn << PAGESHIFT);
}

static void page_word_set(pfn_t pfn, uint64_t v)
{
	*(uint64_t *)kpm_va(pfn << PAGESHIFT) = v;
}

/* ---- files ---- */

struct tfile {
	vnode_t vn;
	uint8_t *data;
	unsigned reads; /* pages read in: major faults */
};

#define NFILES 2
static struct tfile files[NFILES];
/* Bytes of each file: 5.5 pages (a partial last page) and 9 pages. */
static const size_t file_size[NFILES] = { 5 * P + P / 2, 9 * P };

/* The word a file page starts with, before anyone writes to it. */
static uint64_t file_tag0(int f, uint64_t pg)
{
	return 0xf11e000000000000ULL | (uint64_t)f << 32 | pg;
}

static uint64_t file_npages(int f)
{
	return ROUNDUP(file_size[f], P) / P;
}

/* VOP_GETPAGE: the cached page, or one read in, as ramfs_getpage() does. */
static int tfile_getpage(vnode_t *vp, uint64_t off, page_t **ppp,
			 bool *major)
{
	struct tfile *tf = vp->v_data;
	size_t n;
	page_t *pp;
	uint8_t *va;

	*major = false;
	if (off % P != 0)
		flunk("VOP_GETPAGE(%s, %#lx): offset not page-aligned",
		      vp->v_path, off);
	if (off >= ROUNDUP(vp->v_size, P))
		return -EFAULT;
	pp = page_lookup(vp, off);
	if (pp == NULL) {
		pp = page_create_va(vp, off);
		if (pp == NULL)
			return -ENOMEM;
		va = kpm_va(page_pfn(pp) << PAGESHIFT);
		n = MIN(P, vp->v_size - off);
		__builtin_memcpy(va, tf->data + off, n);
		__builtin_memset(va + n, 0, P - n);
		if (!page_hashin(pp, vp, off))
			flunk("page_hashin(%s, %#lx) refused a new name",
			      vp->v_path, off);
		*major = true;
		tf->reads++;
	}
	*ppp = pp;
	return 0;
}

static const struct vnodeops tfile_ops = {
	.vop_name = "testfs",
	.vop_getpage = tfile_getpage,
};

static void files_init(void)
{
	static const char *const names[NFILES] = { "file0", "file1" };

	for (int f = 0; f < NFILES; f++) {
		struct tfile *tf = &files[f];

		free(tf->data);
		*tf = (struct tfile){ .data = malloc(file_size[f]) };
		for (size_t i = 0; i < file_size[f]; i++)
			tf->data[i] = (uint8_t)(i * 7 + f + 1);
		for (uint64_t pg = 0; pg < file_npages(f); pg++) {
			uint64_t t = file_tag0(f, pg);

			__builtin_memcpy(tf->data + pg * P, &t, sizeof(t));
		}
		tf->vn.v_ops = &tfile_ops;
		tf->vn.v_type = VREG;
		spin_init(&tf->vn.v_lock, "tfile.v_lock", LR_VNODE);
		tf->vn.v_size = file_size[f];
		tf->vn.v_path = names[f];
		tf->vn.v_data = tf;
	}
}

/* Empty the page cache of the files (the kernel never does). */
static void files_drop_cache(void)
{
	for (int f = 0; f < NFILES; f++)
		for (uint64_t pg = 0; pg < file_npages(f); pg++) {
			page_t *pp = page_lookup(&files[f].vn, pg * P);

			if (pp != NULL) {
				page_hashout(pp);
				page_free_pages(pp, 0);
			}
		}
}

static page_t *cached(int f, uint64_t pg)
{
	return page_lookup(&files[f].vn, pg * P);
}

/* ---- fixture ---- */

static kthread_t fake_thread;
static struct as *as;
/* anon_count() when the test began: a failed test before may leak slots. */
static uint64_t anon_base;

static uint64_t anon_slots(void)
{
	return anon_count() - anon_base;
}

static int setup(void **state)
{
	(void)state;
	simmem_reset();
	simmem_on_panic(print_ctx);
	vmfake_reset();
	__builtin_memset(hments, 0, sizeof(hments));
	hats_live = 0;
	ctx[0] = '\0';
	print_more = NULL;
	fake_thread = (kthread_t){ .t_tid = 1, .t_name = "test_as" };
	cpus[0].cpu_thread = &fake_thread;
	files_init();
	anon_base = anon_count();
	as = as_alloc();
	if (as == NULL)
		flunk("as_alloc() returned NULL (vm_as.c still a stub?)");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	files_drop_cache();
	return 0;
}

/* ---- helpers ---- */

/* as_map() of npages at addr with seg_vn. */
static int map_in(struct as *a, uintptr_t addr, size_t npages, int file,
		  uint64_t off, unsigned type, unsigned prot, unsigned maxprot)
{
	struct segvn_crargs args = {
		.vp = file >= 0 ? &files[file].vn : NULL,
		.offset = off,
		.type = type,
		.prot = prot,
		.maxprot = maxprot,
	};

	return as_map(a, addr, npages * P, segvn_create, &args);
}

static int map(uintptr_t addr, size_t npages, int file, uint64_t off,
	       unsigned type, unsigned prot)
{
	return map_in(as, addr, npages, file, off, type, prot, PROT_READ |
		      PROT_WRITE | PROT_EXEC);
}

#define ANON (-1)
#define RW (PROT_READ | PROT_WRITE)

static struct seg *seg_at(struct as *a, uintptr_t addr)
{
	struct seg *seg;

	spin_lock(&a->a_lock);
	seg = as_segat(a, addr);
	spin_unlock(&a->a_lock);
	return seg;
}

static struct segvn_data *svd_at(struct as *a, uintptr_t addr)
{
	struct seg *seg = seg_at(a, addr);

	if (seg == NULL)
		flunk("no segment holds %#lx", addr);
	return seg->s_data;
}

static faultcode_t fault_in(struct as *a, uintptr_t addr, enum seg_rw rw)
{
	return as_fault(a, addr, 1, F_INVAL, rw);
}

static faultcode_t fault(uintptr_t addr, enum seg_rw rw)
{
	return fault_in(as, addr, rw);
}

/* The translation of addr in a's hat; fails the test if there is none. */
static struct fake_hment *mapped_in(struct as *a, uintptr_t addr)
{
	struct fake_hment *e = hment_find(&a->a_hat, addr);

	if (e == NULL)
		flunk("%#lx is not mapped in the hat", addr);
	return e;
}

static struct fake_hment *mapped(uintptr_t addr)
{
	return mapped_in(as, addr);
}

static void expect_seg(uintptr_t addr, uintptr_t base, size_t npages)
{
	struct seg *seg = seg_at(as, addr);

	if (seg == NULL || seg->s_base != base || seg->s_size != npages * P)
		flunk("the segment at %#lx is [%#lx, %#lx), not [%#lx, %#lx)",
		      addr, seg ? seg->s_base : 0,
		      seg ? seg->s_base + seg->s_size : 0, base,
		      base + npages * P);
}

/* The anon slot at index of amp (its lock taken here), or NULL. */
static struct anon *slot(struct anon_map *amp, size_t index)
{
	struct anon *ap;

	spin_lock(&amp->am_lock);
	ap = anon_get(amp, index);
	spin_unlock(&amp->am_lock);
	return ap;
}

/* as_free(), then nothing may be left: no page, no object, no hat. */
static void free_and_expect_nothing_left(struct as **ap)
{
	as_free(*ap);
	*ap = NULL;
	if (pages_in_use[PG_OWNER(PG_ANON)] != 0 || anon_slots() != 0)
		flunk("as_free left %ld anon pages (%lu slots)",
		      pages_in_use[PG_OWNER(PG_ANON)],
		      (unsigned long)anon_slots());
	if (kmem_live != 0)
		flunk("as_free left %ld kmem objects", kmem_live);
	if (hats_live != 0)
		flunk("as_free left %d hats", hats_live);
}

#define A0 0x100000UL /* where the unit tests map */

/* ---- unit tests ---- */

/*
 * A range that overlaps a segment at either end, inside or around it is
 * refused with -ENOMEM and changes nothing; one that only touches a
 * segment is fine. Fails when as_map() skips the overlap check (or checks
 * only the segment below), or refuses a neighbour (an off-by-one).
 */
static void map_refuses_overlap(void **state)
{
	(void)state;
	assert_int_equal(map(A0 + 4 * P, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(map(A0 + 16 * P, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(map(A0 + 3 * P, 2, ANON, 0, MAP_PRIVATE, RW), -ENOMEM);
	assert_int_equal(map(A0 + 7 * P, 2, ANON, 0, MAP_PRIVATE, RW), -ENOMEM);
	assert_int_equal(map(A0 + 5 * P, 1, ANON, 0, MAP_PRIVATE, RW), -ENOMEM);
	assert_int_equal(map(A0 + 2 * P, 8, ANON, 0, MAP_PRIVATE, RW), -ENOMEM);
	assert_int_equal(map(A0 + 4 * P, 4, 0, 0, MAP_SHARED, RW), -ENOMEM);
	assert_int_equal(map(A0 + 2 * P, 20, ANON, 0, MAP_PRIVATE, RW),
			 -ENOMEM);
	assert_int_equal(as_nsegs(as), 2);
	assert_int_equal(as->a_size, 8 * P);
	/* Touching both neighbours: the whole gap between them. */
	assert_int_equal(map(A0 + 8 * P, 8, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(map(A0, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(as_nsegs(as), 4);
	assert_int_equal(as->a_size, 20 * P);
	assert_true(avl_verify(&as->a_segtree) > 0);
	free_and_expect_nothing_left(&as);
}

/*
 * Unmapping the middle of a private file mapping leaves two segments:
 * the first keeps its offset, the second starts deeper in the file and
 * in the anon_map, and each page still reaches its own file page and its
 * own private copy. Fails when segvn_split() does not advance the
 * offset or the anon_index, or as_unmap() frees the whole segment.
 */
static void unmap_middle_leaves_two_segments(void **state)
{
	struct segvn_data *lo, *hi;
	struct fake_hment *e;

	(void)state;
	/* Pages 0..7 of the mapping are pages 1..8 of file 1. */
	assert_int_equal(map(A0, 8, 1, P, MAP_PRIVATE, RW), 0);
	assert_int_equal(fault(A0 + 6 * P, S_WRITE), FC_OK);
	page_word_set(mapped(A0 + 6 * P)->pfn, 0x600d);
	assert_int_equal(fault(A0 + 3 * P, S_READ), FC_OK);
	assert_int_equal(as_unmap(as, A0 + 3 * P, 2 * P), 0);
	expect_seg(A0, A0, 3);
	expect_seg(A0 + 5 * P, A0 + 5 * P, 3);
	assert_null(seg_at(as, A0 + 3 * P));
	assert_null(seg_at(as, A0 + 4 * P));
	assert_null(hment_find(&as->a_hat, A0 + 3 * P));
	assert_int_equal(as_nsegs(as), 2);
	assert_int_equal(as->a_size, 6 * P);
	lo = svd_at(as, A0);
	hi = svd_at(as, A0 + 5 * P);
	assert_int_equal(lo->offset, P);
	assert_int_equal(lo->anon_index, 0);
	assert_int_equal(hi->offset, 6 * P);
	assert_int_equal(hi->anon_index, 5);
	assert_ptr_equal(lo->amp, hi->amp);
	/* Page 5 reads file page 6; page 6 is still the private copy. */
	assert_int_equal(fault(A0 + 5 * P, S_READ), FC_OK);
	assert_int_equal(page_word(mapped(A0 + 5 * P)->pfn), file_tag0(1, 6));
	assert_int_equal(fault(A0 + 6 * P, S_READ), FC_OK);
	e = mapped(A0 + 6 * P);
	assert_int_equal(page_word(e->pfn), 0x600d);
	assert_true(e->prot & PROT_WRITE);
	/* Trim both ends; then the whole of what is left. */
	assert_int_equal(as_unmap(as, A0, P), 0);
	assert_int_equal(as_unmap(as, A0 + 7 * P, P), 0);
	expect_seg(A0 + P, A0 + P, 2);
	expect_seg(A0 + 5 * P, A0 + 5 * P, 2);
	assert_int_equal(svd_at(as, A0 + P)->offset, 2 * P);
	assert_int_equal(svd_at(as, A0 + P)->anon_index, 1);
	assert_int_equal(as_unmap(as, A0, 8 * P), 0);
	assert_int_equal(as_nsegs(as), 0);
	assert_int_equal(as->a_size, 0);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	free_and_expect_nothing_left(&as);
}

/*
 * mprotect of the middle of a segment leaves three, the middle one with
 * the new protection and its translations no longer writable; a range
 * with a hole is refused with -ENOMEM before anything changes, and a
 * protection beyond maxprot with -EACCES. Fails when setprot changes the
 * whole segment, leaves a writable translation behind, or ignores the
 * hole or maxprot.
 */
static void setprot_middle_leaves_three_segments(void **state)
{
	struct fake_hment *e;

	(void)state;
	assert_int_equal(map(A0, 6, ANON, 0, MAP_PRIVATE, RW), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(fault(A0 + i * P, S_WRITE), FC_OK);
	assert_int_equal(as_setprot(as, A0 + 2 * P, 2 * P, PROT_READ), 0);
	assert_int_equal(as_nsegs(as), 3);
	expect_seg(A0, A0, 2);
	expect_seg(A0 + 2 * P, A0 + 2 * P, 2);
	expect_seg(A0 + 4 * P, A0 + 4 * P, 2);
	assert_int_equal(svd_at(as, A0)->prot, RW);
	assert_int_equal(svd_at(as, A0 + 2 * P)->prot, PROT_READ);
	assert_int_equal(svd_at(as, A0 + 2 * P)->anon_index, 2);
	assert_int_equal(svd_at(as, A0 + 4 * P)->prot, RW);
	assert_int_equal(svd_at(as, A0 + 4 * P)->anon_index, 4);
	e = hment_find(&as->a_hat, A0 + 2 * P);
	assert_true(e == NULL || !(e->prot & PROT_WRITE));
	assert_int_equal(fault(A0 + 2 * P, S_WRITE), FC_PROT);
	assert_int_equal(fault(A0 + 2 * P, S_READ), FC_OK);
	assert_false(mapped(A0 + 2 * P)->prot & PROT_WRITE);
	assert_int_equal(fault(A0 + 4 * P, S_WRITE), FC_OK);
	/* A hole: nothing changes, not even the part before it. */
	assert_int_equal(as_unmap(as, A0 + 5 * P, P), 0);
	assert_int_equal(as_setprot(as, A0 + 4 * P, 2 * P, PROT_READ),
			 -ENOMEM);
	assert_int_equal(svd_at(as, A0 + 4 * P)->prot, RW);
	assert_int_equal(as_nsegs(as), 3);
	/* maxprot: read-only for good. */
	assert_int_equal(map_in(as, A0 + 8 * P, 2, ANON, 0, MAP_PRIVATE,
				PROT_READ, PROT_READ), 0);
	assert_int_equal(as_setprot(as, A0 + 8 * P, 2 * P, RW), -EACCES);
	assert_int_equal(fault(A0 + 8 * P, S_WRITE), FC_PROT);
	free_and_expect_nothing_left(&as);
}

/*
 * A fault with no segment there is FC_NOMAP: below, between and above
 * segments, and past USERLIMIT. Fails when as_fault() takes the segment
 * above an address for the one holding it.
 */
static void fault_unmapped_is_nomap(void **state)
{
	(void)state;
	assert_int_equal(fault(A0, S_READ), FC_NOMAP);
	assert_int_equal(map(A0 + 2 * P, 2, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(map(A0 + 6 * P, 2, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(fault(A0 + P, S_READ), FC_NOMAP);
	assert_int_equal(fault(A0 + 4 * P, S_WRITE), FC_NOMAP);
	assert_int_equal(fault(A0 + 5 * P + 123, S_READ), FC_NOMAP);
	assert_int_equal(fault(A0 + 8 * P, S_READ), FC_NOMAP);
	assert_int_equal(fault(USERLIMIT + P, S_READ), FC_NOMAP);
	assert_int_equal(fault(A0 + 3 * P + 5, S_READ), FC_OK);
	assert_null(hment_find(&as->a_hat, A0 + 4 * P));
	free_and_expect_nothing_left(&as);
}

/*
 * A write to a read-only mapping and any access to a PROT_NONE one are
 * FC_PROT, and load nothing. Fails when segvn_fault() loads the page
 * before checking the access, or checks only writes.
 */
static void write_to_readonly_is_prot(void **state)
{
	(void)state;
	assert_int_equal(map(A0, 2, ANON, 0, MAP_PRIVATE, PROT_READ), 0);
	assert_int_equal(map(A0 + 2 * P, 1, ANON, 0, MAP_PRIVATE, 0), 0);
	assert_int_equal(fault(A0, S_WRITE), FC_PROT);
	assert_null(hment_find(&as->a_hat, A0));
	assert_int_equal(fault(A0, S_EXEC), FC_PROT);
	assert_int_equal(fault(A0 + 2 * P, S_READ), FC_PROT);
	assert_null(hment_find(&as->a_hat, A0 + 2 * P));
	assert_int_equal(fault(A0 + P, S_READ), FC_OK);
	assert_int_equal(mapped(A0 + P)->prot, PROT_READ | PROT_USER);
	free_and_expect_nothing_left(&as);
}

/*
 * A file mapping that runs past the end of the file: the partial last
 * page maps, zero beyond the end; the page after it is FC_OBJERR (SIGBUS)
 * and loads nothing. Fails when the end-of-file check is missing or
 * rounds the size down.
 */
static void read_past_eof_is_objerr(void **state)
{
	uint8_t *va;

	(void)state;
	assert_int_equal(map(A0, 8, 0, 0, MAP_SHARED, PROT_READ), 0);
	assert_int_equal(fault(A0 + 5 * P, S_READ), FC_OK);
	va = kpm_va(mapped(A0 + 5 * P)->pfn << PAGESHIFT);
	assert_int_equal(*(uint64_t *)va, file_tag0(0, 5));
	assert_int_equal(va[P / 2 - 1], files[0].data[5 * P + P / 2 - 1]);
	assert_int_equal(va[P / 2], 0);
	assert_int_equal(va[P - 1], 0);
	assert_int_equal(fault(A0 + 6 * P, S_READ), FC_OBJERR);
	assert_int_equal(fault(A0 + 7 * P, S_READ), FC_OBJERR);
	assert_null(hment_find(&as->a_hat, A0 + 6 * P));
	/* A private mapping too, and its writes. */
	assert_int_equal(map(A0 + 8 * P, 2, 0, 5 * P, MAP_PRIVATE, RW), 0);
	assert_int_equal(fault(A0 + 9 * P, S_WRITE), FC_OBJERR);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	free_and_expect_nothing_left(&as);
}

/*
 * The first touch of anonymous memory maps a new zeroed page with the
 * segment's protection, one page and one slot per page touched, and
 * unmapping gives them back. Fails when the page is not zeroed, mapped
 * without write, or leaked at unmap. (Pages come from the fake
 * allocator full of 0xdb, as the buddy allocator leaves them.)
 */
static void anon_fault_maps_zeroed_page_writable(void **state)
{
	struct fake_hment *e;
	uint8_t *va;

	(void)state;
	assert_int_equal(map(A0, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	assert_int_equal(fault(A0 + P, S_WRITE), FC_OK);
	e = mapped(A0 + P);
	assert_int_equal(e->prot, RW | PROT_USER);
	va = kpm_va(e->pfn << PAGESHIFT);
	for (size_t i = 0; i < P; i++)
		if (va[i] != 0)
			flunk("byte %zu of a new anon page is %#x", i, va[i]);
	assert_int_equal(page_array[e->pfn].p_owner, PG_OWNER(PG_ANON));
	assert_int_equal(fault(A0 + 2 * P, S_READ), FC_OK);
	assert_int_not_equal(mapped(A0 + 2 * P)->pfn, e->pfn);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 2);
	assert_int_equal(anon_slots(), 2);
	/* Touched again: the same page, no new one. */
	assert_int_equal(fault(A0 + P, S_READ), FC_OK);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 2);
	assert_int_equal(as_unmap(as, A0, 4 * P), 0);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	free_and_expect_nothing_left(&as);
}

/*
 * A read of a private file mapping maps the page cache's own page,
 * read-only, reading the file once (a major fault); a write then maps a
 * copy, writable, and the cache page stays as it was. Fails when a
 * private read copies (a page wasted), maps the cache page writable (a
 * write would reach the file), or the write fault maps the cache page.
 */
static void private_file_write_maps_a_copy(void **state)
{
	struct fake_hment *e;
	page_t *pp;
	pfn_t copy;

	(void)state;
	assert_int_equal(map(A0, 4, 1, 2 * P, MAP_PRIVATE, RW), 0);
	assert_int_equal(fault(A0 + P, S_READ), FC_OK);
	pp = cached(1, 3);
	assert_non_null(pp);
	e = mapped(A0 + P);
	assert_int_equal(e->pfn, page_pfn(pp));
	assert_int_equal(e->prot, PROT_READ | PROT_USER);
	assert_int_equal(fake_thread.t_majflt, 1);
	assert_int_equal(files[1].reads, 1);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	assert_int_equal(fault(A0 + P, S_READ), FC_OK);
	assert_int_equal(fake_thread.t_majflt, 1);
	/* The write: a copy of its own. */
	assert_int_equal(fault(A0 + P, S_WRITE), FC_OK);
	e = mapped(A0 + P);
	copy = e->pfn;
	assert_int_not_equal(copy, page_pfn(pp));
	assert_true(e->prot & PROT_WRITE);
	assert_int_equal(page_word(copy), file_tag0(1, 3));
	page_word_set(copy, 0xc0b1);
	assert_int_equal(page_word(page_pfn(pp)), file_tag0(1, 3));
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 1);
	assert_int_equal(page_cache_count(), 1);
	/* A first touch that writes copies at once. */
	assert_int_equal(fault(A0 + 2 * P, S_WRITE), FC_OK);
	assert_int_not_equal(mapped(A0 + 2 * P)->pfn, page_pfn(cached(1, 4)));
	assert_int_equal(page_word(mapped(A0 + 2 * P)->pfn), file_tag0(1, 4));
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 2);
	free_and_expect_nothing_left(&as);
}

/*
 * A write to a shared file mapping maps the cache page itself, writable,
 * so another mapping of the file, private or shared, sees the write.
 * Fails when a shared write copies the page.
 */
static void shared_file_write_maps_the_cache_page(void **state)
{
	struct fake_hment *e;

	(void)state;
	assert_int_equal(map(A0, 4, 1, 0, MAP_SHARED, RW), 0);
	assert_int_equal(map(A0 + 8 * P, 4, 1, 0, MAP_PRIVATE, PROT_READ), 0);
	assert_int_equal(fault(A0 + 2 * P, S_WRITE), FC_OK);
	e = mapped(A0 + 2 * P);
	assert_int_equal(e->pfn, page_pfn(cached(1, 2)));
	assert_int_equal(e->prot, RW | PROT_USER);
	page_word_set(e->pfn, 0x5a5a);
	assert_int_equal(fault(A0 + 10 * P, S_READ), FC_OK);
	assert_int_equal(mapped(A0 + 10 * P)->pfn, e->pfn);
	assert_int_equal(page_word(mapped(A0 + 10 * P)->pfn), 0x5a5a);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 0);
	assert_int_equal(files[1].reads, 1);
	free_and_expect_nothing_left(&as);
}

/*
 * as_gap() hands out the highest free range of the length asked below
 * MMAP_TOP, skipping holes too small, and ignores what lies above
 * MMAP_TOP (the stack). Fails when it returns the lowest gap, a hole
 * one page too small, or a range overlapping a segment.
 */
static void gap_is_highest_free_range(void **state)
{
	uintptr_t a;

	(void)state;
	assert_int_equal(as_gap(as, 2 * P, &a), 0);
	assert_int_equal(a, MMAP_TOP - 2 * P);
	assert_int_equal(map(USERLIMIT - 8 * P, 8, ANON, 0, MAP_PRIVATE, RW),
			 0);
	assert_int_equal(map(MMAP_TOP - 4 * P, 4, ANON, 0, MAP_PRIVATE, RW),
			 0);
	assert_int_equal(as_gap(as, 2 * P, &a), 0);
	assert_int_equal(a, MMAP_TOP - 6 * P);
	/* A 3-page hole at [top - 7, top - 4). */
	assert_int_equal(map(MMAP_TOP - 10 * P, 3, ANON, 0, MAP_PRIVATE, RW),
			 0);
	assert_int_equal(as_gap(as, 3 * P, &a), 0);
	assert_int_equal(a, MMAP_TOP - 7 * P);
	assert_int_equal(as_gap(as, 4 * P, &a), 0);
	assert_int_equal(a, MMAP_TOP - 14 * P);
	assert_int_equal(map(a, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	/* A segment across MMAP_TOP: the gap is below it. */
	assert_int_equal(as_unmap(as, MMAP_TOP - 4 * P, 4 * P), 0);
	assert_int_equal(map(MMAP_TOP - P, 2, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(as_gap(as, 3 * P, &a), 0);
	assert_int_equal(a, MMAP_TOP - 4 * P);
	assert_int_equal(as_gap(as, MMAP_TOP, &a), -ENOMEM);
	free_and_expect_nothing_left(&as);
}

static unsigned long ncompar, nwalk;
static int (*seg_compar_real)(const void *, const void *);

static int seg_compar_counted(const void *a, const void *b)
{
	ncompar++;
	return seg_compar_real(a, b);
}

/* The linker sends vm_as.c's avl_walk() calls here (Makefile: --wrap). */
void *__real_avl_walk(avl_tree_t *t, void *obj, int direction);
void *__wrap_avl_walk(avl_tree_t *t, void *obj, int direction)
{
	nwalk++;
	return __real_avl_walk(t, obj, direction);
}

#define NSEGS 10000

/*
 * With 10,000 segments, a fault, an munmap and an mmap each look at no
 * more segments than twice the tree's height (comparator calls, through a
 * counting wrapper around vm_as.c's comparator, plus avl_walk steps), and
 * the tree stays balanced. Fails when a lookup walks the segments in
 * order, or the tree degenerates into a list.
 */
static void lookup_in_10000_segments_is_logarithmic(void **state)
{
	static const unsigned probes[] = { 0, 1, NSEGS / 2, NSEGS - 2,
					   NSEGS - 1, 3 * NSEGS / 4 };
	int height;

	(void)state;
	for (unsigned i = 0; i < NSEGS; i++)
		assert_int_equal(map(A0 + 2 * i * P, 1, ANON, 0, MAP_PRIVATE,
				     RW), 0);
	height = avl_verify(&as->a_segtree);
	/* An AVL tree of n nodes is below 1.45 log2(n + 2) high: 19 here. */
	if (height < 0 || height > 19)
		flunk("a tree of %d segments is %d high", NSEGS, height);
	seg_compar_real = as->a_segtree.avl_compar;
	as->a_segtree.avl_compar = seg_compar_counted;
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		uintptr_t a = A0 + 2 * probes[i] * P;
		const char *what[] = { "as_fault", "as_unmap", "as_map" };
		unsigned long n[3], w[3];

		ncompar = nwalk = 0;
		assert_int_equal(fault(a, S_READ), FC_OK);
		n[0] = ncompar, w[0] = nwalk, ncompar = nwalk = 0;
		assert_int_equal(as_unmap(as, a, P), 0);
		n[1] = ncompar, w[1] = nwalk, ncompar = nwalk = 0;
		assert_int_equal(map(a, 1, ANON, 0, MAP_PRIVATE, RW), 0);
		n[2] = ncompar, w[2] = nwalk;
		for (int k = 0; k < 3; k++)
			if (n[k] + w[k] > 2 * (unsigned long)height + 4)
				flunk("%s at segment %u of %d: %lu comparisons "
				      "and %lu walk steps in a tree %d high",
				      what[k], probes[i], NSEGS, n[k], w[k],
				      height);
	}
	as->a_segtree.avl_compar = seg_compar_real;
	assert_int_equal(as_nsegs(as), NSEGS);
	free_and_expect_nothing_left(&as);
}

/* ---- the model ---- */

#define WIN_BASE 0x40000000UL
#define WIN_PAGES 64
#define RUN_OPS 4000
#define NOBJS (RUN_OPS + 1)

/* An anon_map one mmap made; its slots, by index, as the model sees them. */
struct mobj {
	struct anon_map *amp;
	bool shared;        /* MAP_SHARED anon: slots outlive the pages */
	size_t npages;
	bool slot[WIN_PAGES];
	pfn_t pfn[WIN_PAGES];
	uint64_t tag[WIN_PAGES]; /* the page's first word */
};

/* One page of the window. */
struct mpage {
	bool mapped;
	bool shared;
	unsigned prot, maxprot;
	int obj;        /* its anon_map in model.objs, or -1 (shared file) */
	size_t idx;     /* its slot there */
	int file;       /* -1: anonymous */
	uint64_t fpage; /* the file page it maps */
};

/* A file page in the page cache. */
struct mfpage {
	bool cached;
	pfn_t pfn;
	uint64_t tag;
};

static struct {
	struct mpage pg[WIN_PAGES];
	struct mobj *objs;
	int nobjs;
	struct mfpage fp[NFILES][16];
	uint64_t next_tag;
} model;

static bool obj_live(int o)
{
	for (int i = 0; i < WIN_PAGES; i++)
		if (model.pg[i].mapped && model.pg[i].obj == o)
			return true;
	return false;
}

static uintptr_t win_va(int i)
{
	return WIN_BASE + (uintptr_t)i * P;
}

/* The first word a read of page i must see, and where the page is. */
static uint64_t expected_tag(int i, pfn_t *pfn)
{
	const struct mpage *m = &model.pg[i];

	if (m->obj >= 0 && model.objs[m->obj].slot[m->idx]) {
		*pfn = model.objs[m->obj].pfn[m->idx];
		return model.objs[m->obj].tag[m->idx];
	}
	if (m->file < 0)
		flunk("expected_tag: anon page %d has no slot", i);
	*pfn = model.fp[m->file][m->fpage].pfn;
	return model.fp[m->file][m->fpage].tag;
}

/* Note that file page <f, pg> is cached now, and where. */
static void model_cache(int f, uint64_t pg)
{
	page_t *pp = cached(f, pg);

	if (pp == NULL)
		flunk("file%d page %lu is not in the page cache after a fault",
		      f, pg);
	if (!model.fp[f][pg].cached)
		model.fp[f][pg] = (struct mfpage){ .cached = true,
			.pfn = page_pfn(pp), .tag = file_tag0(f, pg) };
}

/* Note that page i has a slot now (its content: tag), and where. */
static void model_slot(int i, uint64_t tag)
{
	const struct mpage *m = &model.pg[i];
	struct mobj *o = &model.objs[m->obj];
	struct anon *ap = slot(o->amp, m->idx);

	if (ap == NULL)
		flunk("page %d has no anon slot after a fault", i);
	o->slot[m->idx] = true;
	o->pfn[m->idx] = page_pfn(ap->an_page);
	o->tag[m->idx] = tag;
}

/* ---- the random run's operations ---- */

#define RECENT 8
static struct {
	uint64_t seed;
	int step;
	char op[RECENT][120]; /* the last operations, newest at step % RECENT */
} run;

static void print_run(void)
{
	print_error("random run: seed %lu (TEST_SEED=%lu replays it), step %d; "
		    "the last operations:\n", run.seed, run.seed, run.step);
	for (int k = RECENT - 1; k >= 0; k--)
		if (run.step - k >= 0)
			print_error("  %d: %s\n", run.step - k,
				    run.op[(run.step - k) % RECENT]);
}

#define OP(...) \
	libc_snprintf(run.op[run.step % RECENT], sizeof(run.op[0]), __VA_ARGS__)

static const unsigned prots[] = { 0, PROT_READ, RW, PROT_READ | PROT_EXEC,
				  RW | PROT_EXEC };

static void op_map(struct test_rng *r)
{
	int s = (int)test_rng_below(r, WIN_PAGES);
	int n = 1 + (int)test_rng_below(r, MIN(12, WIN_PAGES - s));
	int file = (int)test_rng_below(r, NFILES + 2) - 2; /* half anon */
	bool shared = test_rng_below(r, 2);
	unsigned prot = prots[test_rng_below(r, ARRAY_SIZE(prots))];
	unsigned maxprot = test_rng_below(r, 2) ? RW | PROT_EXEC :
			   prot | prots[test_rng_below(r, ARRAY_SIZE(prots))];
	uint64_t fpage = file >= 0 ? test_rng_below(r, file_npages(file) + 2) : 0;
	bool free_range = true;
	int err, o = -1;

	if (file < 0)
		file = -1;
	OP("map [%d, %d) %s %s @%lu prot %#x max %#x", s, s + n,
	   file < 0 ? "anon" : files[file].vn.v_path,
	   shared ? "shared" : "private", fpage, prot, maxprot);
	for (int i = s; i < s + n; i++)
		free_range &= !model.pg[i].mapped;
	err = map_in(as, win_va(s), n, file, fpage * P,
		     shared ? MAP_SHARED : MAP_PRIVATE, prot, maxprot);
	if (err != (free_range ? 0 : -ENOMEM))
		flunk("as_map returned %d, not %d", err,
		      free_range ? 0 : -ENOMEM);
	if (err != 0)
		return;
	if (file < 0 || !shared) {
		o = model.nobjs++;
		model.objs[o] = (struct mobj){ .amp = svd_at(as, win_va(s))->amp,
			.shared = shared, .npages = n };
		if (model.objs[o].amp == NULL)
			flunk("a %s mapping has no anon_map",
			      file < 0 ? "anonymous" : "private");
	}
	for (int i = s; i < s + n; i++)
		model.pg[i] = (struct mpage){ .mapped = true, .shared = shared,
			.prot = prot, .maxprot = maxprot, .obj = o,
			.idx = (size_t)(i - s), .file = file,
			.fpage = fpage + (uint64_t)(i - s) };
}

static void op_unmap(struct test_rng *r)
{
	int s = (int)test_rng_below(r, WIN_PAGES);
	int n = 1 + (int)test_rng_below(r, MIN(20, WIN_PAGES - s));
	int err;

	OP("unmap [%d, %d)", s, s + n);
	err = as_unmap(as, win_va(s), n * P);
	if (err != 0)
		flunk("as_unmap returned %d", err);
	for (int i = s; i < s + n; i++) {
		struct mpage *m = &model.pg[i];

		if (m->mapped && m->obj >= 0 && !m->shared)
			model.objs[m->obj].slot[m->idx] = false;
		m->mapped = false;
	}
}

static void op_setprot(struct test_rng *r)
{
	int s = (int)test_rng_below(r, WIN_PAGES);
	int n = 1 + (int)test_rng_below(r, MIN(12, WIN_PAGES - s));
	unsigned prot = prots[test_rng_below(r, ARRAY_SIZE(prots))];
	int want = 0, err, stop = s + n;

	OP("setprot [%d, %d) %#x", s, s + n, prot);
	for (int i = s; i < s + n; i++)
		if (!model.pg[i].mapped)
			want = -ENOMEM;
	/* Segments change in address order up to one whose maxprot forbids. */
	for (int i = s; i < s + n && want == 0; i++)
		if (prot & ~model.pg[i].maxprot) {
			want = -EACCES;
			stop = i;
		}
	err = as_setprot(as, win_va(s), n * P, prot);
	if (err != want)
		flunk("as_setprot returned %d, not %d", err, want);
	for (int i = s; i < stop && want != -ENOMEM; i++)
		model.pg[i].prot = prot;
}

static faultcode_t fault_expected(int i, enum seg_rw rw)
{
	const struct mpage *m = &model.pg[i];

	if (!m->mapped)
		return FC_NOMAP;
	if ((rw == S_WRITE && !(m->prot & PROT_WRITE)) ||
	    (rw == S_EXEC && !(m->prot & PROT_EXEC)) || m->prot == 0)
		return FC_PROT;
	if (m->obj >= 0 && model.objs[m->obj].slot[m->idx])
		return FC_OK;
	if (m->file >= 0 && m->fpage >= file_npages(m->file))
		return FC_OBJERR;
	return FC_OK;
}

/* After a fault that succeeded: what it must have made, then the page. */
static void fault_update(int i, enum seg_rw rw)
{
	const struct mpage *m = &model.pg[i];
	bool has_slot = m->obj >= 0 && model.objs[m->obj].slot[m->idx];

	if (has_slot)
		return;
	if (m->file < 0) {
		model_slot(i, 0);
		return;
	}
	model_cache(m->file, m->fpage);
	if (!m->shared && rw == S_WRITE)
		model_slot(i, model.fp[m->file][m->fpage].tag);
}

static void op_fault(struct test_rng *r)
{
	int i = (int)test_rng_below(r, WIN_PAGES);
	enum seg_rw rw = (enum seg_rw)test_rng_below(r, 3);
	faultcode_t fc, want = fault_expected(i, rw);
	struct fake_hment *e;
	uint64_t tag;
	pfn_t pfn;

	OP("fault %d %s", i, rw == S_WRITE ? "write" :
	   rw == S_EXEC ? "exec" : "read");
	fc = as_fault(as, win_va(i) + test_rng_below(r, P), 1, F_INVAL, rw);
	if (fc != want)
		flunk("as_fault returned %d, not %d", fc, want);
	if (fc != FC_OK)
		return;
	fault_update(i, rw);
	e = mapped(win_va(i));
	tag = expected_tag(i, &pfn);
	if (e->pfn != pfn)
		flunk("page %d maps pfn %#lx, not %#lx", i, e->pfn, pfn);
	if (page_word(pfn) != tag)
		flunk("page %d reads %#lx, not %#lx", i, page_word(pfn), tag);
	if (rw == S_WRITE) {
		if (!(e->prot & PROT_WRITE))
			flunk("a write fault on page %d mapped it read-only",
			      i);
		tag = model.next_tag++;
		page_word_set(pfn, tag);
		if (model.pg[i].obj >= 0 &&
		    model.objs[model.pg[i].obj].slot[model.pg[i].idx])
			model.objs[model.pg[i].obj].tag[model.pg[i].idx] = tag;
		else
			model.fp[model.pg[i].file][model.pg[i].fpage].tag = tag;
	}
}

static void op_incore(struct test_rng *r)
{
	int s = (int)test_rng_below(r, WIN_PAGES);
	int n = 1 + (int)test_rng_below(r, MIN(12, WIN_PAGES - s));
	char vec[WIN_PAGES];
	int want = 0, err;

	OP("incore [%d, %d)", s, s + n);
	for (int i = s; i < s + n; i++)
		if (!model.pg[i].mapped)
			want = -ENOMEM;
	err = as_incore(as, win_va(s), n * P, vec);
	if (err != want)
		flunk("as_incore returned %d, not %d", err, want);
	for (int i = s; i < s + n && want == 0; i++) {
		const struct mpage *m = &model.pg[i];
		bool in = (m->obj >= 0 && model.objs[m->obj].slot[m->idx]) ||
			  (m->file >= 0 && m->fpage < 16 &&
			   model.fp[m->file][m->fpage].cached);

		if (vec[i - s] != in)
			flunk("as_incore says page %d is%s resident", i,
			      vec[i - s] ? "" : " not");
	}
}

/* ---- the invariants ---- */

static size_t model_mapped_bytes(void)
{
	size_t n = 0;

	for (int i = 0; i < WIN_PAGES; i++)
		n += model.pg[i].mapped ? P : 0;
	return n;
}

/* The tree: valid, segments aligned and apart, the window's pages only. */
static void check_tree(void)
{
	uintptr_t prev_end = 0;
	unsigned long nsegs = 0;
	size_t covered = 0;

	if (avl_verify(&as->a_segtree) < 0)
		flunk("the segment tree is broken (see the log)");
	for (struct seg *seg = avl_first(&as->a_segtree); seg != NULL;
	     seg = AVL_NEXT(&as->a_segtree, seg)) {
		const struct segvn_data *svd = seg->s_data;

		nsegs++;
		if (seg->s_base % P != 0 || seg->s_size % P != 0 ||
		    seg->s_size == 0 || seg->s_base < prev_end ||
		    seg->s_base < WIN_BASE ||
		    seg->s_base + seg->s_size > win_va(WIN_PAGES))
			flunk("segment [%#lx, %#lx): misaligned, empty, outside "
			      "the window or overlapping the one before",
			      seg->s_base, seg->s_base + seg->s_size);
		if (seg->s_as != as || seg->s_ops != &segvn_ops)
			flunk("segment at %#lx: wrong s_as or s_ops",
			      seg->s_base);
		prev_end = seg->s_base + seg->s_size;
		for (size_t k = 0; k < seg->s_size / P; k++) {
			int i = (int)((seg->s_base - WIN_BASE) / P + k);
			const struct mpage *m = &model.pg[i];

			if (!m->mapped)
				flunk("page %d is in a segment but unmapped", i);
			if (svd->prot != m->prot || svd->maxprot != m->maxprot ||
			    svd->type != (m->shared ? MAP_SHARED : MAP_PRIVATE))
				flunk("page %d: prot %#x max %#x type %u, not "
				      "%#x %#x %s", i, svd->prot, svd->maxprot,
				      svd->type, m->prot, m->maxprot,
				      m->shared ? "shared" : "private");
			if (svd->vp != (m->file >= 0 ? &files[m->file].vn : NULL) ||
			    (m->file >= 0 && svd->offset + k * P != m->fpage * P))
				flunk("page %d: maps %s at %#lx, not file%d page "
				      "%lu", i, svd->vp ? svd->vp->v_path : "anon",
				      svd->offset + k * P, m->file, m->fpage);
			if (svd->amp != (m->obj >= 0 ? model.objs[m->obj].amp :
					 NULL) ||
			    (m->obj >= 0 && svd->anon_index + k != m->idx))
				flunk("page %d: anon_map %p slot %zu, not %p "
				      "slot %zu", i, (void *)svd->amp,
				      svd->anon_index + k,
				      m->obj >= 0 ? (void *)model.objs[m->obj].amp :
				      NULL, m->idx);
			covered++;
		}
	}
	for (int i = 0; i < WIN_PAGES; i++)
		covered -= model.pg[i].mapped;
	if (covered != 0)
		flunk("the segments miss %zd mapped pages", -(ssize_t)covered);
	if (as->a_size != model_mapped_bytes())
		flunk("a_size is %zu, not %zu", as->a_size,
		      model_mapped_bytes());
	if (as_nsegs(as) != nsegs)
		flunk("as_nsegs says %lu, the tree holds %lu", as_nsegs(as),
		      nsegs);
}

/*
 * Every live anon_map holds exactly the model's slots, each referenced
 * once, with the model's page and content; no other anon page exists.
 */
static void check_slots(void)
{
	long slots = 0;

	for (int o = 0; o < model.nobjs; o++) {
		const struct mobj *mo = &model.objs[o];

		if (!obj_live(o))
			continue;
		for (size_t k = 0; k < mo->npages; k++) {
			struct anon *ap = slot(mo->amp, k);

			if ((ap != NULL) != mo->slot[k])
				flunk("anon_map %p slot %zu is %s, the model says "
				      "%s", (void *)mo->amp, k,
				      ap ? "full" : "empty",
				      mo->slot[k] ? "full" : "empty");
			if (ap == NULL)
				continue;
			slots++;
			if (ap->an_refcnt != 1 ||
			    page_pfn(ap->an_page) != mo->pfn[k] ||
			    page_word(mo->pfn[k]) != mo->tag[k])
				flunk("anon_map %p slot %zu: refcnt %u, pfn %#lx "
				      "reading %#lx; not 1, %#lx, %#lx",
				      (void *)mo->amp, k, ap->an_refcnt,
				      page_pfn(ap->an_page),
				      page_word(page_pfn(ap->an_page)),
				      mo->pfn[k], mo->tag[k]);
		}
	}
	if (pages_in_use[PG_OWNER(PG_ANON)] != slots ||
	    anon_slots() != (uint64_t)slots)
		flunk("%ld anon pages and %lu slots in use; the model has %ld "
		      "(a leak at unmap?)", pages_in_use[PG_OWNER(PG_ANON)],
		      (unsigned long)anon_slots(), slots);
}

/* The page cache holds the model's file pages, with their content. */
static void check_cache(void)
{
	long n = 0;

	for (int f = 0; f < NFILES; f++)
		for (uint64_t pg = 0; pg < file_npages(f); pg++) {
			const struct mfpage *mf = &model.fp[f][pg];
			page_t *pp = cached(f, pg);

			if ((pp != NULL) != mf->cached ||
			    (pp != NULL && (page_pfn(pp) != mf->pfn ||
					    page_word(mf->pfn) != mf->tag)))
				flunk("file%d page %lu: cached %d pfn %#lx; the "
				      "model says %d %#lx reading %#lx", f, pg,
				      pp != NULL, pp ? page_pfn(pp) : 0,
				      mf->cached, mf->pfn, mf->tag);
			n += mf->cached;
		}
	if (pages_in_use[PG_OWNER(PG_CACHE)] != n ||
	    page_cache_count() != (uint64_t)n)
		flunk("%ld page-cache pages (%lu hashed); the model has %ld",
		      pages_in_use[PG_OWNER(PG_CACHE)],
		      (unsigned long)page_cache_count(), n);
}

/*
 * The hat maps only pages of segments, never with more than the
 * segment's protection, each to the page the model says: the slot's if
 * it has one, else the file's, and a private file page read-only.
 */
static void check_hat(void)
{
	for (int h = 0; h < HMENTS; h++) {
		const struct fake_hment *e = &hments[h];
		const struct mpage *m;
		unsigned allowed;
		int i;
		pfn_t pfn;

		if (e->h == NULL)
			continue;
		if (e->h != &as->a_hat || e->va < WIN_BASE ||
		    e->va >= win_va(WIN_PAGES))
			flunk("the hat maps %#lx, outside the window", e->va);
		i = (int)((e->va - WIN_BASE) / P);
		m = &model.pg[i];
		if (!m->mapped)
			flunk("the hat still maps page %d, which is unmapped", i);
		allowed = m->prot | PROT_USER;
		if (m->obj < 0 ? false : !model.objs[m->obj].slot[m->idx]) {
			if (m->file < 0)
				flunk("page %d is mapped with no slot", i);
			if (!m->shared)
				allowed &= ~PROT_WRITE;
		}
		if ((e->prot & ~allowed) != 0 || !(e->prot & PROT_USER))
			flunk("page %d is mapped with prot %#x; the segment "
			      "allows %#x", i, e->prot, allowed);
		(void)expected_tag(i, &pfn);
		if (e->pfn != pfn)
			flunk("page %d maps pfn %#lx, not %#lx", i, e->pfn, pfn);
	}
}

static void check_all(void)
{
	check_tree();
	check_slots();
	check_cache();
	check_hat();
	if (cpus[0].cpu_nlocks != 0)
		flunk("%d spinlocks held after the operation",
		      cpus[0].cpu_nlocks);
}

/*
 * Seeded map/unmap/mprotect/fault/mincore against the model, every
 * invariant checked after each step, then as_free() must leave nothing.
 * Fails on any bug the unit tests catch, and on those only a sequence
 * shows: a split of a split, an unmap across several segments, a slot
 * freed under a neighbour, a hat entry left behind.
 */
static void random_ops_match_the_model(void **state)
{
	struct test_rng rng;
	unsigned long nops[5] = { 0 };

	(void)state;
	run.seed = test_seed();
	rng.x = run.seed;
	model.objs = calloc(NOBJS, sizeof(*model.objs));
	assert_non_null(model.objs);
	model.nobjs = 0;
	__builtin_memset(model.pg, 0, sizeof(model.pg));
	__builtin_memset(model.fp, 0, sizeof(model.fp));
	model.next_tag = 0x7a90000000000001ULL;
	print_more = print_run;
	for (run.step = 0; run.step < RUN_OPS; run.step++) {
		unsigned k = (unsigned)test_rng_below(&rng, 20);

		if (k < 5)
			op_map(&rng), nops[0]++;
		else if (k < 8)
			op_unmap(&rng), nops[1]++;
		else if (k < 11)
			op_setprot(&rng), nops[2]++;
		else if (k < 19)
			op_fault(&rng), nops[3]++;
		else
			op_incore(&rng), nops[4]++;
		check_all();
	}
	OP("as_free");
	free_and_expect_nothing_left(&as);
	print_more = NULL;
	print_message("random run: seed %lu, %d steps: %lu maps, %lu unmaps, "
		      "%lu setprots, %lu faults, %lu incores\n", run.seed,
		      RUN_OPS, nops[0], nops[1], nops[2], nops[3], nops[4]);
	free(model.objs);
}

/* ---- fork: copy-on-write (lab 6) ---- */

/* The slot behind addr in a, and its page's first word. */
static struct anon *slot_at(struct as *a, uintptr_t addr)
{
	struct seg *seg = seg_at(a, addr);
	struct segvn_data *svd = seg->s_data;

	return slot(svd->amp, svd->anon_index + (addr - seg->s_base) / P);
}

/*
 * After as_dup, a private page is one slot with two references, mapped
 * read-only on both sides; the first writer gets a copy (refcounts 1 and
 * 1), the other, now the last holder, writes its page in place without a
 * copy; a shared mapping stays one page. Fails when as_dup copies
 * eagerly, leaves the parent's page writable (its writes leak into the
 * child), counts references wrong, or copies for the last holder.
 */
static void dup_then_writes_copy_on_write(void **state)
{
	struct as *child;
	struct anon *ap;
	pfn_t orig;
	long pages;

	(void)state;
	if (SOL < 6)
		skip(); /* as_dup and COW are lab 6's: a stub until it is done */
	assert_int_equal(map(A0, 4, ANON, 0, MAP_PRIVATE, RW), 0);
	assert_int_equal(map(A0 + 8 * P, 1, ANON, 0, MAP_SHARED, RW), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fault(A0 + i * P, S_WRITE), FC_OK);
		page_word_set(mapped(A0 + i * P)->pfn, 0x9a0 + i);
	}
	assert_int_equal(fault(A0 + 8 * P, S_WRITE), FC_OK);
	orig = mapped(A0)->pfn;
	assert_int_equal(as_dup(as, &child), 0);
	pages = pages_in_use[PG_OWNER(PG_ANON)];
	assert_int_equal(pages, 3);
	ap = slot_at(as, A0);
	assert_ptr_equal(slot_at(child, A0), ap);
	assert_int_equal(ap->an_refcnt, 2);
	assert_false(mapped(A0)->prot & PROT_WRITE);
	/* The child reads the parent's page, read-only. */
	assert_int_equal(fault_in(child, A0, S_READ), FC_OK);
	assert_int_equal(mapped_in(child, A0)->pfn, orig);
	assert_false(mapped_in(child, A0)->prot & PROT_WRITE);
	/* The child writes: a copy of its own. */
	assert_int_equal(fault_in(child, A0, S_WRITE), FC_OK);
	assert_int_not_equal(mapped_in(child, A0)->pfn, orig);
	assert_true(mapped_in(child, A0)->prot & PROT_WRITE);
	assert_int_equal(page_word(mapped_in(child, A0)->pfn), 0x9a0);
	page_word_set(mapped_in(child, A0)->pfn, 0xc41d);
	assert_int_equal(page_word(orig), 0x9a0);
	assert_int_equal(slot_at(as, A0)->an_refcnt, 1);
	assert_int_equal(slot_at(child, A0)->an_refcnt, 1);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], pages + 1);
	/* The parent is the last holder: it writes in place. */
	assert_int_equal(fault(A0, S_WRITE), FC_OK);
	assert_int_equal(mapped(A0)->pfn, orig);
	assert_true(mapped(A0)->prot & PROT_WRITE);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], pages + 1);
	/* Page 1: the parent writes first, then the child is the last. */
	orig = slot_at(as, A0 + P)->an_page - page_array;
	assert_int_equal(fault(A0 + P, S_WRITE), FC_OK);
	assert_int_not_equal(mapped(A0 + P)->pfn, orig);
	assert_int_equal(fault_in(child, A0 + P, S_WRITE), FC_OK);
	assert_int_equal(mapped_in(child, A0 + P)->pfn, orig);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], pages + 2);
	/* An untouched page: each side gets its own zero page. */
	assert_int_equal(fault_in(child, A0 + 3 * P, S_READ), FC_OK);
	assert_null(slot_at(as, A0 + 3 * P));
	/* The shared page stays one page, written on both sides. */
	assert_int_equal(fault_in(child, A0 + 8 * P, S_WRITE), FC_OK);
	assert_int_equal(mapped_in(child, A0 + 8 * P)->pfn,
			 mapped(A0 + 8 * P)->pfn);
	assert_int_equal(slot_at(child, A0 + 8 * P)->an_refcnt, 1);
	as_free(child);
	assert_int_equal(pages_in_use[PG_OWNER(PG_ANON)], 3);
	free_and_expect_nothing_left(&as);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(map_refuses_overlap),
		T(unmap_middle_leaves_two_segments),
		T(setprot_middle_leaves_three_segments),
		T(fault_unmapped_is_nomap),
		T(write_to_readonly_is_prot),
		T(read_past_eof_is_objerr),
		T(anon_fault_maps_zeroed_page_writable),
		T(private_file_write_maps_a_copy),
		T(shared_file_write_maps_the_cache_page),
		T(gap_is_highest_free_range),
		T(lookup_in_10000_segments_is_logarithmic),
		T(random_ops_match_the_model),
		T(dup_then_writes_copy_on_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
