/*
 * seg_vn.c — the vnode segment driver: file mappings and anonymous memory,
 * private and shared (seg_vn.h).
 *
 * Where a page of a segment comes from, in the order a fault asks:
 *
 *	1. its anon slot, if it has one: the process's own page (zero-fill
 *	   memory it touched, or its private copy of a file page);
 *	2. nothing, for anonymous memory: a new zeroed page in a new slot;
 *	3. the file, through VOP_GETPAGE: the page cache's page, mapped
 *	   itself (shared mappings, and reads of private ones) or copied
 *	   into a new slot (the first write to a private mapping).
 *
 * A private mapping never lets a write reach a page someone else can see:
 * file pages and slots shared after fork are mapped read-only, so the
 * first write faults and gets its own copy (anon_private). A slot only
 * this process holds is written in place.
 */
#include <anon.h>
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <page.h>
#include <proc.h>
#include <seg_vn.h>
#include <thread.h>
#include <vnode.h>

static int segvn_dup(struct seg *seg, struct seg *newseg);
static int segvn_unmap(struct seg *seg, uintptr_t addr, size_t len);
static void segvn_free(struct seg *seg);
static faultcode_t segvn_fault(struct hat *hat, struct seg *seg,
			       uintptr_t addr, size_t len,
			       enum fault_type type, enum seg_rw rw);
static int segvn_setprot(struct seg *seg, uintptr_t addr, size_t len,
			 unsigned prot);
static void segvn_incore(struct seg *seg, uintptr_t addr, size_t len,
			 char *vec);

const struct seg_ops segvn_ops = {
	.dup = segvn_dup,
	.unmap = segvn_unmap,
	.free = segvn_free,
	.fault = segvn_fault,
	.setprot = segvn_setprot,
	.incore = segvn_incore,
};

int segvn_create(struct seg *seg, void *argsp)
{
	(void)seg, (void)argsp;
	return -ENOSYS; /* lab 5: set up the segment's driver data */
}

static int segvn_unmap(struct seg *seg, uintptr_t addr, size_t len)
{
	(void)seg, (void)addr, (void)len;
	return -ENOSYS; /* lab 5: unmap part of a segment, splitting it */
}

static void segvn_free(struct seg *seg)
{
	(void)seg; /* lab 5: release what the segment holds */
}

static int segvn_setprot(struct seg *seg, uintptr_t addr, size_t len,
			 unsigned prot)
{
	(void)seg, (void)addr, (void)len, (void)prot;
	return -ENOSYS; /* lab 5: change part of a segment's protection */
}

static faultcode_t segvn_fault(struct hat *hat, struct seg *seg,
			       uintptr_t addr, size_t len,
			       enum fault_type type, enum seg_rw rw)
{
	(void)hat, (void)seg, (void)addr, (void)len, (void)type, (void)rw;
	return FC_NOMAP; /* lab 5: load the pages the fault needs */
}

/*
 * Design of segvn_dup (read this before writing lab 6, part B):
 *
 * newseg is the child's copy of seg: same range, in the child's as. Give
 * it driver data of its own (a copy of seg's: protections, type, file and
 * offset) and then share the memory as the mapping's type says:
 *
 *   MAP_SHARED: parent and child see one memory. They share the anon_map
 *	itself (one more am_refcnt), or, for a shared file mapping, just the
 *	file's pages, which need no data at all.
 *
 *   MAP_PRIVATE: each will see its own memory, but they start equal. The
 *	child gets a new anon_map whose slots are the parent's (anon_dup:
 *	each slot gains a holder, no page is copied). Then comes the step
 *	that makes it safe: every page the parent has mapped writable must
 *	become read-only in the parent's page tables (hat_chgprot), so its
 *	next write faults and copies instead of changing the page the child
 *	shares. The child's tables start empty: its first touch of each page
 *	faults, and finds the shared slot.
 *
 * On error, free what this call made and return it; as_dup frees newseg.
 */
static int segvn_dup(struct seg *seg, struct seg *newseg)
{
	(void)seg, (void)newseg;
	return -ENOSYS; /* lab 6: share the segment's pages with newseg */
}

static void segvn_incore(struct seg *seg, uintptr_t addr, size_t len,
			 char *vec)
{
	struct segvn_data *svd = seg->s_data;

	if (svd->amp != NULL)
		spin_lock(&svd->amp->am_lock);
	for (size_t i = 0; i < len / PAGESIZE; i++) {
		uintptr_t a = addr + i * PAGESIZE;
		size_t idx = svd->anon_index + (a - seg->s_base) / PAGESIZE;
		bool in = svd->amp != NULL && anon_get(svd->amp, idx) != NULL;

		if (!in && svd->vp != NULL)
			in = page_lookup(svd->vp,
					 svd->offset + (a - seg->s_base)) != NULL;
		vec[i] = in;
	}
	if (svd->amp != NULL)
		spin_unlock(&svd->amp->am_lock);
}
