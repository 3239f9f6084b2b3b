/*
 * cow_test.c — lab 6's layer from inside: anon slots shared and counted
 * (part A), fork through as_dup and segvn_dup (part B), and the
 * copy-on-write fault (part C).
 *
 * The tests build address spaces by hand over seg_vn, fork them with
 * as_dup(), and touch their memory the way a CPU would (uread, uwrite
 * below): a store goes straight to the page when the hat maps it
 * writable, and only faults otherwise. So a parent whose pages were not
 * write-protected at fork really does write into the page its child
 * shares, and the test sees it. Each test's comment names the bug that
 * fails it.
 */
#if LAB >= 6
#include <anon.h>
#include <as.h>
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <ktest.h>
#include <page.h>
#include <seg.h>
#include <seg_vn.h>
#include <vmstat.h>
#include <vnode.h>

#include "vmtest.h"

#define RW (PROT_READ | PROT_WRITE)

/* ---- touching user memory as the MMU would ---- */

/* The byte at va: a read fault first if nothing maps it; -1 if that fails. */
static int uread(struct as *as, uintptr_t va)
{
	if (hat_getpfnum(&as->a_hat, ROUNDDOWN(va, PG)) == PFN_INVALID &&
	    as_fault(as, ROUNDDOWN(va, PG), 1, F_INVAL, S_READ) != FC_OK)
		return -1;
	return as_byte(as, va);
}

/*
 * Store v at va: straight to the page if the hat maps it writable (no
 * fault, as on hardware), else through a write fault. The fault's code.
 */
static faultcode_t uwrite(struct as *as, uintptr_t va, uint8_t v)
{
	struct hat_mapping m;
	faultcode_t fc;

	if (!hat_probe(&as->a_hat, ROUNDDOWN(va, PG), &m) ||
	    !(m.prot & PROT_WRITE)) {
		fc = as_fault(as, ROUNDDOWN(va, PG), 1,
			      hat_probe(&as->a_hat, ROUNDDOWN(va, PG), &m) ?
			      F_PROT : F_INVAL, S_WRITE);
		if (fc != FC_OK)
			return fc;
		if (!hat_probe(&as->a_hat, ROUNDDOWN(va, PG), &m) ||
		    !(m.prot & PROT_WRITE)) {
			ktest_fail(__FILE__, __LINE__, "a write fault at %#lx "
				   "returned FC_OK but left the page unwritable",
				   va);
			return FC_PROT;
		}
	}
	*((uint8_t *)kpm_va(m.pa - m.pa % PG) + va % PG) = v;
	return FC_OK;
}

/* A private anonymous mapping of n pages at BASE, each written with v + i. */
static struct as *anon_as(int n, uint8_t v)
{
	struct as *as = as_alloc();

	if (as == NULL)
		return NULL;
	if (vnmap(as, BASE, n * PG, NULL, 0, MAP_PRIVATE, RW) != 0) {
		as_free(as);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (uwrite(as, BASE + i * PG, (uint8_t)(v + i)) != FC_OK) {
			as_free(as);
			return NULL;
		}
	return as;
}

static struct as *fork_as(struct as *as)
{
	struct as *child = NULL;
	int err = as_dup(as, &child);

	if (err != 0) {
		ktest_fail(__FILE__, __LINE__, "as_dup: error %d", err);
		return NULL;
	}
	return child;
}

static unsigned refcnt_at(struct as *as, uintptr_t va)
{
	struct anon *ap = segvn_anon_at(as, va);

	return ap != NULL ? ap->an_refcnt : 0;
}

/*
 * Every slot that any of the n address spaces holds for the first npages
 * of BASE has exactly as many references as holders among them.
 */
static void expect_refcnts_exact(struct as *const as[], int n, int npages)
{
	for (int i = 0; i < npages; i++)
		for (int k = 0; k < n; k++) {
			struct anon *ap = segvn_anon_at(as[k], BASE + i * PG);
			unsigned holders = 0;

			if (ap == NULL)
				continue;
			for (int j = 0; j < n; j++)
				holders += segvn_anon_at(as[j], BASE + i * PG) == ap;
			if (ap->an_refcnt != holders)
				ktest_fail(__FILE__, __LINE__, "page %d: a slot "
					   "held by %u address spaces has "
					   "an_refcnt %u", i, holders,
					   ap->an_refcnt);
		}
}

/* ---- part A: the anon layer ---- */

/* Take two maps' locks as spinlock.h orders one class: lower address first. */
static void lock_two(struct anon_map *a, struct anon_map *b)
{
	spin_lock(a < b ? &a->am_lock : &b->am_lock);
	spin_lock(a < b ? &b->am_lock : &a->am_lock);
}

static void unlock_two(struct anon_map *a, struct anon_map *b)
{
	spin_unlock(&a->am_lock);
	spin_unlock(&b->am_lock);
}

/* Four chunks, the last partial; the third is never made. */
#define SPAN (3 * ANON_CHUNK + 76)

/*
 * anon_dup shares every slot of the range, at the right index, with one
 * more reference each, and leaves empty indexes empty. Fails: a dup that
 * copies pages (anon_count grows), forgets the reference (refcnt 1), stops
 * at the untouched third chunk (the last slot, beyond it, is lost), or
 * ignores either index.
 */
KTEST(anon, dup_shares_every_slot)
{
	static const size_t at[] = { 0, 5, ANON_CHUNK + 3, SPAN - 1 };
	struct anon_map *a = anonmap_alloc(SPAN), *b = anonmap_alloc(SPAN);
	struct anon_map *c = anonmap_alloc(SPAN);
	uint64_t live0 = anon_count();
	struct anon *ap[ARRAY_SIZE(at)];
	int err;

	ASSERT_TRUE(a != NULL && b != NULL && c != NULL);
	spin_lock(&a->am_lock);
	for (size_t i = 0; i < ARRAY_SIZE(at); i++) {
		ap[i] = anon_alloc(NULL);
		ASSERT_NE(ap[i], NULL);
		ASSERT_EQ(anon_set(a, at[i], ap[i]), 0);
	}
	spin_unlock(&a->am_lock);
	lock_two(a, b);
	err = anon_dup(a, 0, b, 0, SPAN);
	unlock_two(a, b);
	EXPECT_EQ(err, 0);
	lock_two(a, c);
	err = anon_dup(a, 5, c, 1, SPAN - 6); /* a[5 ..] -> c[1 ..] */
	unlock_two(a, c);
	EXPECT_EQ(err, 0);
	EXPECT_EQ(anon_count(), live0 + ARRAY_SIZE(at)); /* nothing copied */
	spin_lock(&b->am_lock);
	for (size_t i = 0, k = 0; i < SPAN; i++) {
		struct anon *got = anon_get(b, i);

		if (k < ARRAY_SIZE(at) && i == at[k])
			EXPECT_EQ(got, ap[k++]);
		else
			EXPECT_EQ(got, NULL);
	}
	spin_unlock(&b->am_lock);
	spin_lock(&c->am_lock);
	EXPECT_EQ(anon_get(c, 0), NULL);
	EXPECT_EQ(anon_get(c, 1), ap[1]);
	EXPECT_EQ(anon_get(c, ANON_CHUNK + 3 - 4), ap[2]);
	EXPECT_EQ(anon_get(c, SPAN - 1), NULL); /* a's last is past the range */
	EXPECT_EQ(anon_get(c, SPAN - 6), NULL);
	spin_unlock(&c->am_lock);
	EXPECT_EQ(ap[0]->an_refcnt, 2U);
	EXPECT_EQ(ap[1]->an_refcnt, 3U);
	EXPECT_EQ(ap[2]->an_refcnt, 3U);
	EXPECT_EQ(ap[3]->an_refcnt, 2U);
	anonmap_decref(a);
	EXPECT_EQ(anon_count(), live0 + ARRAY_SIZE(at)); /* b and c hold them */
	anonmap_decref(b);
	anonmap_decref(c);
	EXPECT_EQ(anon_count(), live0);
}

/* Share one slot written with v between two new maps; *a and *b get them. */
static struct anon *shared_slot(struct anon_map **a, struct anon_map **b,
				uint8_t v)
{
	struct anon *ap;
	int err;

	*a = anonmap_alloc(1);
	*b = anonmap_alloc(1);
	ap = anon_alloc(NULL);
	if (*a == NULL || *b == NULL || ap == NULL)
		panic("shared_slot: no memory");
	memset(kpm_va(page_pfn(ap->an_page) << PAGESHIFT), v, PG);
	spin_lock(&(*a)->am_lock);
	(void)anon_set(*a, 0, ap);
	spin_unlock(&(*a)->am_lock);
	lock_two(*a, *b);
	err = anon_dup(*a, 0, *b, 0, 1);
	unlock_two(*a, *b);
	EXPECT_EQ(err, 0);
	return ap;
}

/*
 * anon_private gives the writer a new slot with a copy of the bytes and
 * takes exactly its one reference off the old slot, whose page the other
 * holder keeps. Fails: no copy (the same page back), a copy of zeros,
 * the old slot freed or left with both references.
 */
KTEST(anon, private_copies_for_the_writer)
{
	struct anon_map *a, *b;
	struct anon *old = shared_slot(&a, &b, 0x5a), *new;
	uint64_t live0 = anon_count();
	const uint8_t *p;
	bool same = true;

	ASSERT_EQ(old->an_refcnt, 2U);
	spin_lock(&b->am_lock);
	new = anon_private(old);
	ASSERT_NE(new, NULL);
	(void)anon_set(b, 0, NULL);
	(void)anon_set(b, 0, new);
	spin_unlock(&b->am_lock);
	EXPECT_NE(new, old);
	EXPECT_NE(new->an_page, old->an_page);
	EXPECT_EQ(new->an_refcnt, 1U);
	EXPECT_EQ(old->an_refcnt, 1U);
	EXPECT_EQ(anon_count(), live0 + 1);
	EXPECT_EQ(old->an_page->p_flags & P_FREE, 0U);
	p = kpm_va(page_pfn(new->an_page) << PAGESHIFT);
	for (size_t i = 0; i < PG; i++)
		same &= p[i] == 0x5a;
	EXPECT_TRUE(same);
	anonmap_decref(a);
	anonmap_decref(b);
	EXPECT_EQ(anon_count(), live0 - 1);
}

/*
 * The page goes back to the allocator with the last reference, not
 * before. Fails: an anon_decref that frees at once (the others then read
 * a freed page) or never (a leak).
 */
KTEST(anon, last_reference_frees_the_page)
{
	struct anon_map *a, *b, *c = anonmap_alloc(1);
	struct anon *ap = shared_slot(&a, &b, 1);
	uint64_t live0 = anon_count(), free0;
	page_t *pp = ap->an_page;
	int err;

	ASSERT_NE(c, NULL);
	lock_two(a, c);
	err = anon_dup(a, 0, c, 0, 1);
	unlock_two(a, c);
	ASSERT_EQ(err, 0);
	ASSERT_EQ(ap->an_refcnt, 3U);
	free0 = page_free_count();
	anonmap_decref(a);
	anonmap_decref(c);
	EXPECT_EQ(ap->an_refcnt, 1U);
	EXPECT_EQ(pp->p_flags & P_FREE, 0U);
	EXPECT_EQ((unsigned)pp->p_owner, PG_OWNER(PG_ANON));
	EXPECT_EQ(anon_count(), live0);
	anonmap_decref(b);
	EXPECT_EQ(anon_count(), live0 - 1);
	EXPECT_EQ(page_free_count(), free0 + 1);
}

/* ---- part B: fork ---- */

/*
 * After fork the child sees the parent's bytes in the very same frames:
 * nothing is copied, each page has two mappings once both touched it,
 * and each slot two references. Then a write by the parent must not reach
 * the child. Fails: a dup that copies every page, a child with empty
 * memory, and a parent left writable (its store lands in the shared page).
 */
KTEST(fork, child_shares_the_parents_pages)
{
	struct as *parent = anon_as(8, 0x40), *child;
	uint64_t live0 = anon_count();

	ASSERT_NE(parent, NULL);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ(anon_count(), live0);
	for (int i = 0; i < 8; i++) {
		uintptr_t va = BASE + i * PG;
		pfn_t pfn;

		EXPECT_EQ(uread(child, va), 0x40 + i);
		pfn = hat_getpfnum(&child->a_hat, va);
		EXPECT_EQ(pfn, hat_getpfnum(&parent->a_hat, va));
		if (pfn != PFN_INVALID)
			EXPECT_EQ(hat_page_getshare(pfn_to_page(pfn)), 2U);
		EXPECT_EQ(refcnt_at(parent, va), 2U);
	}
	EXPECT_EQ(anon_count(), live0);
	EXPECT_EQ((int)uwrite(parent, BASE + 3 * PG, 0xee), FC_OK);
	EXPECT_EQ(uread(child, BASE + 3 * PG), 0x43);
	EXPECT_EQ(uread(parent, BASE + 3 * PG), 0xee);
	as_free(child);
	as_free(parent);
}

/*
 * A MAP_SHARED anonymous mapping is one memory in parent and child, both
 * ways. Fails: a dup that treats every mapping as private.
 */
KTEST(fork, shared_mapping_stays_shared)
{
	struct as *parent = as_alloc(), *child;

	ASSERT_NE(parent, NULL);
	ASSERT_EQ(vnmap(parent, BASE, 2 * PG, NULL, 0, MAP_SHARED, RW), 0);
	EXPECT_EQ((int)uwrite(parent, BASE, 7), FC_OK);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ(uread(child, BASE), 7);
	EXPECT_EQ((int)uwrite(child, BASE, 8), FC_OK);
	EXPECT_EQ((int)uwrite(child, BASE + PG, 9), FC_OK);
	EXPECT_EQ(uread(parent, BASE), 8);
	EXPECT_EQ(uread(parent, BASE + PG), 9);
	EXPECT_EQ(hat_getpfnum(&child->a_hat, BASE),
		  hat_getpfnum(&parent->a_hat, BASE));
	as_free(child);
	EXPECT_EQ(uread(parent, BASE + PG), 9);
	as_free(parent);
}

/*
 * munmap and mprotect in the child change only the child. Fails: a child
 * that shares the parent's segments or anon_map for private memory (the
 * unmap frees the parent's slots), or a setprot that reaches the parent.
 */
KTEST(fork, child_unmap_and_mprotect_leave_the_parent)
{
	struct as *parent = anon_as(4, 0x10), *child;

	ASSERT_NE(parent, NULL);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ(as_unmap(child, BASE, PG), 0);
	EXPECT_EQ(as_setprot(child, BASE + PG, PG, 0), 0); /* PROT_NONE */
	EXPECT_EQ(refcnt_at(parent, BASE), 1U);
	EXPECT_EQ(uread(parent, BASE), 0x10);
	EXPECT_EQ(uread(parent, BASE + PG), 0x11);
	EXPECT_EQ((int)uwrite(parent, BASE + PG, 0x99), FC_OK);
	EXPECT_EQ((int)as_fault(child, BASE + PG, 1, F_INVAL, S_READ), FC_PROT);
	EXPECT_EQ((int)as_fault(child, BASE, 1, F_INVAL, S_READ), FC_NOMAP);
	EXPECT_EQ(uread(child, BASE + 2 * PG), 0x12);
	as_free(child);
	EXPECT_EQ(uread(parent, BASE + PG), 0x99);
	as_free(parent);
}

/* After an as_dup that failed: no slot made, and the parent's first n
 * pages each held by the parent alone again. 1, to count the failure. */
static unsigned expect_dup_undone(struct as *parent, int n, uint64_t live0)
{
	EXPECT_EQ(anon_count(), live0);
	for (int i = 0; i < n; i++)
		EXPECT_EQ(refcnt_at(parent, BASE + i * PG), 1U);
	return 1;
}

/*
 * Fork until memory runs out, and at every point it can run out: with
 * all memory taken but k pages, for k = 0, 1, ..., as_dup either works or
 * returns -ENOMEM having freed all it made, and the parent is intact:
 * its slots back to one reference, its bytes the same. (The ledger after
 * the test checks that pages and kmem buffers return to their baseline
 * exactly.) Fails: an as_dup that returns without freeing the half-made
 * child, an anon_dup that leaves references behind, a panic for want of
 * memory.
 */
KTEST_TIMEOUT(fork, fails_cleanly_when_memory_runs_out, 10)
{
	struct as *parent = anon_as(16, 0x30), *child = NULL;
	unsigned failures = 0, k;
	uint64_t live0;
	struct hoard h;
	int err = -ENOMEM;

	ASSERT_NE(parent, NULL);
	/* A file mapping and a shared one too: every kind of segment. */
	ASSERT_EQ(vnmap(parent, BASE + 64 * PG, 4 * PG, pattern_vp(), 0,
			MAP_PRIVATE, RW), 0);
	ASSERT_EQ(vnmap(parent, BASE + 128 * PG, PG, NULL, 0, MAP_SHARED, RW), 0);
	EXPECT_EQ((int)uwrite(parent, BASE + 64 * PG, 1), FC_OK);
	EXPECT_EQ((int)uwrite(parent, BASE + 128 * PG, 2), FC_OK);
	/* A large sparse one, whose slots lie in four chunks. */
	ASSERT_EQ(vnmap(parent, BASE + 256 * PG, 2048 * PG, NULL, 0,
			MAP_PRIVATE, RW), 0);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ((int)uwrite(parent, BASE + (256 + i * 682) * PG, 3),
			  FC_OK);
	live0 = anon_count();
	for (k = 0; k < 256 && err == -ENOMEM; k++) {
		/* Empty slabs go back, so kmem needs pages as well. */
		kmem_reap();
		hoard_all(&h);
		hoard_release(&h, k);
		child = NULL;
		err = as_dup(parent, &child);
		hoard_release(&h, h.count);
		if (err == -ENOMEM)
			failures += expect_dup_undone(parent, 16, live0);
	}
	EXPECT_EQ(err, 0);
	EXPECT_GT(failures, 0U);
	ktest_diag("as_dup failed for want of pages %u times, then worked "
		   "with %u free pages", failures, k - 1);
	as_free(child);
	/* Now fail each kmem allocation as_dup makes, one after the other. */
	for (k = 0, failures = 0, err = -ENOMEM; k < 256 && err == -ENOMEM;
	     k++) {
		child = NULL;
		kmem_inject_failure(k);
		err = as_dup(parent, &child);
		kmem_inject_failure(-1);
		if (err == -ENOMEM)
			failures += expect_dup_undone(parent, 16, live0);
	}
	EXPECT_EQ(err, 0);
	EXPECT_GE(failures, 5U); /* as, 3 segments, their data, two maps... */
	ktest_diag("as_dup failed at each of its %u kmem allocations", failures);
	for (int i = 0; i < 16; i++)
		EXPECT_EQ(uread(parent, BASE + i * PG), 0x30 + i);
	if (child != NULL) {
		EXPECT_EQ(uread(child, BASE + 5 * PG), 0x35);
		EXPECT_EQ(uread(child, BASE + 64 * PG), 1);
		as_free(child);
	}
	as_free(parent);
	EXPECT_EQ(anon_count(), live0 - 16 - 2 - 4); /* with the file copy, the
						      shared page, the sparse 4 */
}

#define SHARERS 300

/*
 * 300 children share one page: 301 mappings, 301 references, and the
 * page freed once, as the last holder goes. Fails: a reference count
 * that saturates or wraps, a decref that frees early (the allocator
 * panics on the freed-while-mapped check) or twice.
 */
KTEST_TIMEOUT(fork, many_sharers_free_once, 10)
{
	static struct as *kids[SHARERS];
	struct as *parent = anon_as(1, 0x77);
	uint64_t live0 = anon_count();
	page_t *pp;
	pfn_t pfn;
	int n;

	ASSERT_NE(parent, NULL);
	pfn = hat_getpfnum(&parent->a_hat, BASE);
	ASSERT_NE(pfn, PFN_INVALID);
	pp = pfn_to_page(pfn);
	for (n = 0; n < SHARERS; n++) {
		kids[n] = fork_as(parent);
		if (kids[n] == NULL || uread(kids[n], BASE) != 0x77)
			break;
	}
	EXPECT_EQ(n, SHARERS);
	EXPECT_EQ(refcnt_at(parent, BASE), (unsigned)n + 1);
	EXPECT_EQ(hat_page_getshare(pp), (unsigned)n + 1);
	EXPECT_EQ(anon_count(), live0);
	as_free(parent); /* the parent goes first; the children keep it */
	for (int i = n; i-- > 0;) {
		if (kids[i] == NULL)
			continue;
		EXPECT_EQ(pp->p_flags & P_FREE, 0U);
		EXPECT_EQ(hat_page_getshare(pp), (unsigned)i + 1);
		as_free(kids[i]);
	}
	EXPECT_EQ(anon_count(), live0 - 1);
}

/* ---- part C: the copy-on-write fault ---- */

/*
 * A write to a shared page copies it for the writer, maps the copy
 * writable, and leaves the other holder's page and mapping alone; one
 * copy, one cow_fault. Fails: a write in place (the child sees it), a
 * copy mapped read-only (the next write faults again), a read that
 * copies, a copy that is not of the page's bytes.
 */
KTEST(cow, write_copies_and_spares_the_others)
{
	struct as *parent = anon_as(4, 0x20), *child;
	uint64_t live0, cow0;
	pfn_t ppfn, cpfn;

	ASSERT_NE(parent, NULL);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ(uread(child, BASE + PG), 0x21); /* a read copies nothing */
	live0 = anon_count();
	cow0 = vminfo.cow_fault;
	ppfn = hat_getpfnum(&parent->a_hat, BASE + PG);
	EXPECT_EQ((int)uwrite(child, BASE + PG + 10, 0xab), FC_OK);
	cpfn = hat_getpfnum(&child->a_hat, BASE + PG);
	EXPECT_NE(cpfn, ppfn);
	EXPECT_EQ(hat_getpfnum(&parent->a_hat, BASE + PG), ppfn);
	EXPECT_EQ(anon_count(), live0 + 1);
	EXPECT_EQ(vminfo.cow_fault, cow0 + 1);
	EXPECT_EQ(uread(parent, BASE + PG + 10), 0);
	EXPECT_EQ(uread(child, BASE + PG), 0x21); /* the rest copied */
	EXPECT_EQ(refcnt_at(parent, BASE + PG), 1U);
	EXPECT_EQ(refcnt_at(child, BASE + PG), 1U);
	EXPECT_EQ(hat_page_getshare(pfn_to_page(ppfn)), 1U);
	/* The copy is the child's own now: the next write does not fault. */
	{
		struct hat_mapping m;

		ASSERT_TRUE(hat_probe(&child->a_hat, BASE + PG, &m));
		EXPECT_NE(m.prot & PROT_WRITE, 0U);
	}
	as_free(child);
	as_free(parent);
}

/*
 * The last holder writes in place: once the child is gone, the parent's
 * write fault on its read-only page copies nothing and allocates no page.
 * Fails: a COW fault that copies whenever the PTE is read-only, without
 * looking at the reference count.
 */
KTEST(cow, last_holder_writes_in_place)
{
	struct as *parent = anon_as(4, 0x60), *child;
	uint64_t live0, free0, cow0;
	pfn_t pfn;

	ASSERT_NE(parent, NULL);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(uread(child, BASE + i * PG), 0x60 + i);
	as_free(child);
	pfn = hat_getpfnum(&parent->a_hat, BASE + 2 * PG);
	live0 = anon_count();
	cow0 = vminfo.cow_fault;
	free0 = page_free_count();
	EXPECT_EQ((int)uwrite(parent, BASE + 2 * PG, 0xcd), FC_OK);
	EXPECT_EQ(hat_getpfnum(&parent->a_hat, BASE + 2 * PG), pfn);
	EXPECT_EQ(page_free_count(), free0);
	EXPECT_EQ(anon_count(), live0);
	EXPECT_EQ(vminfo.cow_fault, cow0);
	EXPECT_EQ(uread(parent, BASE + 2 * PG), 0xcd);
	as_free(parent);
}

#define GEN_PAGES 8

/*
 * Three generations, each writing some pages after the next one was
 * forked: every address space sees exactly its model's bytes, and every
 * slot has exactly as many references as holders. Fails: a grandchild
 * that copies from the wrong generation, a COW fault that drops the
 * wrong slot's reference, a dup that takes two references or none.
 */
KTEST(cow, three_generations_stay_exact)
{
	uint8_t model[3][GEN_PAGES];
	struct as *g[3];
	static const struct {
		int who, first, last;
		uint8_t v;
	} writes[] = {
		{ 1, 0, 2, 0xb0 }, /* after B = fork(A) */
		{ 2, 1, 3, 0xc0 }, /* after C = fork(B) */
		{ 0, 2, 5, 0xa0 },
		{ 1, 5, 6, 0xb8 },
	};

	g[0] = anon_as(GEN_PAGES, 0x50);
	ASSERT_NE(g[0], NULL);
	for (int i = 0; i < GEN_PAGES; i++)
		model[0][i] = (uint8_t)(0x50 + i);
	g[1] = fork_as(g[0]);
	ASSERT_NE(g[1], NULL);
	memcpy(model[1], model[0], GEN_PAGES);
	for (size_t w = 0; w < ARRAY_SIZE(writes); w++) {
		if (w == 1) {
			g[2] = fork_as(g[1]);
			ASSERT_NE(g[2], NULL);
			memcpy(model[2], model[1], GEN_PAGES);
		}
		for (int i = writes[w].first; i <= writes[w].last; i++) {
			uint8_t v = (uint8_t)(writes[w].v + i);

			EXPECT_EQ((int)uwrite(g[writes[w].who], BASE + i * PG, v),
				  FC_OK);
			model[writes[w].who][i] = v;
		}
		expect_refcnts_exact(g, w == 0 ? 2 : 3, GEN_PAGES);
	}
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < GEN_PAGES; i++)
			if (uread(g[k], BASE + i * PG) != model[k][i])
				ktest_fail(__FILE__, __LINE__, "generation %d page "
					   "%d: read %#x, want %#x", k, i,
					   uread(g[k], BASE + i * PG),
					   model[k][i]);
	as_free(g[1]); /* the middle one first: C still shares with A */
	expect_refcnts_exact((struct as *[]){ g[0], g[2] }, 2, GEN_PAGES);
	as_free(g[2]);
	as_free(g[0]);
}

/*
 * A private file mapping written after fork: each writer gets its own
 * copy (of the file's page, or of the parent's private copy), the other
 * keeps what it had, and the file and the page cache are untouched.
 * Fails: a write that lands in the page cache's page, a child whose
 * private copy of a file page is the parent's writable one.
 */
KTEST(cow, private_file_page_after_fork)
{
	vnode_t *vp = pattern_vp();
	struct as *parent = as_alloc(), *child;
	uint64_t cached0;
	page_t *fpage;

	ASSERT_NE(parent, NULL);
	ASSERT_EQ(vnmap(parent, BASE, 2 * PG, vp, 0, MAP_PRIVATE, RW), 0);
	EXPECT_EQ(uread(parent, BASE + 3), pattern_byte(3));
	EXPECT_EQ((int)uwrite(parent, BASE + PG + 3, 0x11), FC_OK);
	fpage = page_lookup(vp, 0);
	ASSERT_NE(fpage, NULL);
	cached0 = page_cache_count();
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ(uread(child, BASE + PG + 3), 0x11);
	EXPECT_EQ((int)uwrite(child, BASE + 3, 0x22), FC_OK);
	EXPECT_EQ((int)uwrite(child, BASE + PG + 3, 0x33), FC_OK);
	EXPECT_EQ(uread(parent, BASE + 3), pattern_byte(3));
	EXPECT_EQ(uread(parent, BASE + PG + 3), 0x11);
	EXPECT_EQ(hat_getpfnum(&parent->a_hat, BASE), page_pfn(fpage));
	EXPECT_EQ(*((uint8_t *)kpm_va(page_pfn(fpage) << PAGESHIFT) + 3),
		  pattern_byte(3));
	EXPECT_EQ((int)uwrite(parent, BASE + 3, 0x44), FC_OK);
	EXPECT_EQ(uread(child, BASE + 3), 0x22);
	EXPECT_EQ(*((uint8_t *)kpm_va(page_pfn(fpage) << PAGESHIFT) + 3),
		  pattern_byte(3));
	EXPECT_EQ(page_cache_count(), cached0);
	as_free(child);
	as_free(parent);
}

/*
 * Protection survives fork: a page made read-only before fork faults on
 * write in both; made writable again in one, its first write still
 * copies. Fails: a dup or a COW fault that grants write from the anon
 * slot alone (refcnt 1 after a copy, but the segment says read-only),
 * or an mprotect that makes a shared page writable in place.
 */
KTEST(cow, protection_survives_fork)
{
	struct as *parent = anon_as(2, 0x70), *child;
	pfn_t ppfn;

	ASSERT_NE(parent, NULL);
	EXPECT_EQ(as_setprot(parent, BASE, 2 * PG, PROT_READ), 0);
	child = fork_as(parent);
	ASSERT_NE(child, NULL);
	EXPECT_EQ((int)uwrite(parent, BASE, 1), FC_PROT);
	EXPECT_EQ((int)uwrite(child, BASE, 1), FC_PROT);
	EXPECT_EQ(uread(child, BASE), 0x70);
	EXPECT_EQ(as_setprot(child, BASE, 2 * PG, RW), 0);
	ppfn = hat_getpfnum(&parent->a_hat, BASE);
	EXPECT_EQ((int)uwrite(child, BASE, 0xf0), FC_OK);
	EXPECT_NE(hat_getpfnum(&child->a_hat, BASE), ppfn);
	EXPECT_EQ(uread(parent, BASE), 0x70);
	EXPECT_EQ((int)uwrite(parent, BASE + PG, 1), FC_PROT);
	as_free(child);
	as_free(parent);
}

/*
 * The kit's own check, not the lab's: a page freed while a translation
 * to it remains panics at once, naming the page and one mapping. Here a
 * slot is freed behind the hat's back, as a driver that forgot
 * hat_unload would.
 */
KTEST_EXPLICIT(cow, freed_while_mapped_panics)
{
	struct as *as = anon_as(1, 1);
	struct segvn_data *svd;

	ASSERT_NE(as, NULL);
	spin_lock(&as->a_lock);
	svd = as_segat(as, BASE)->s_data;
	spin_lock(&svd->amp->am_lock);
	anon_free(svd->amp, svd->anon_index, 1); /* panics */
	spin_unlock(&svd->amp->am_lock);
	spin_unlock(&as->a_lock);
	ktest_fail(__FILE__, __LINE__, "a mapped page went back to the "
		   "allocator without a panic");
}
#endif /* LAB >= 6 */
