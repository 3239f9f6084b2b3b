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

static size_t seg_pages(const struct seg *seg)
{
	return seg->s_size / PAGESIZE;
}

int segvn_create(struct seg *seg, void *argsp)
{
	const struct segvn_crargs *a = argsp;
	struct segvn_data *svd;

	ASSERT(spin_held(&seg->s_as->a_lock));
	ASSERT(a->type == MAP_SHARED || a->type == MAP_PRIVATE);
	ASSERT((a->prot & ~a->maxprot) == 0);
	svd = kmem_zalloc(sizeof(*svd), KM_NOSLEEP);
	if (svd == NULL)
		return -ENOMEM;
	svd->prot = a->prot;
	svd->maxprot = a->maxprot;
	svd->type = a->type;
	svd->vp = a->vp;
	svd->offset = a->offset;
	if (a->amp != NULL) {
		svd->amp = a->amp;
		__atomic_add_fetch(&a->amp->am_refcnt, 1, __ATOMIC_RELAXED);
	} else if (a->vp == NULL || a->type == MAP_PRIVATE) {
		/* Shared file mappings never hold anon pages. */
		svd->amp = anonmap_alloc(seg_pages(seg));
		if (svd->amp == NULL) {
			kmem_free(svd, sizeof(*svd));
			return -ENOMEM;
		}
	}
	seg->s_ops = &segvn_ops;
	seg->s_data = svd;
	return 0;
}

/*
 * Cut seg at addr: seg keeps [s_base, addr), and a new segment with the
 * same mapping takes [addr, end), sharing seg's anon_map at the right
 * index. The new segment, or NULL for want of memory.
 */
static struct seg *segvn_split(struct seg *seg, uintptr_t addr)
{
	struct segvn_data *svd = seg->s_data, *nsvd;
	uintptr_t end = seg->s_base + seg->s_size;
	size_t skip = addr - seg->s_base;
	struct seg *nseg;

	ASSERT(addr > seg->s_base && addr < end && addr % PAGESIZE == 0);
	nsvd = kmem_zalloc(sizeof(*nsvd), KM_NOSLEEP);
	if (nsvd == NULL)
		return NULL;
	*nsvd = *svd;
	nsvd->offset += skip;
	nsvd->anon_index += skip / PAGESIZE;
	/* Shrink first: the tree must never hold two overlapping segments. */
	seg->s_size = skip;
	seg->s_as->a_size -= end - addr;
	nseg = seg_alloc(seg->s_as, addr, end - addr);
	if (nseg == NULL) {
		seg->s_size = end - seg->s_base;
		seg->s_as->a_size += end - addr;
		kmem_free(nsvd, sizeof(*nsvd));
		return NULL;
	}
	if (nsvd->amp != NULL)
		__atomic_add_fetch(&nsvd->amp->am_refcnt, 1, __ATOMIC_RELAXED);
	nseg->s_ops = &segvn_ops;
	nseg->s_data = nsvd;
	return nseg;
}

/* Narrow seg to exactly [addr, addr + len) by splitting off the rest. */
static struct seg *segvn_isolate(struct seg *seg, uintptr_t addr, size_t len)
{
	if (addr > seg->s_base) {
		seg = segvn_split(seg, addr);
		if (seg == NULL)
			return NULL;
	}
	if (addr + len < seg->s_base + seg->s_size &&
	    segvn_split(seg, addr + len) == NULL)
		return NULL;
	return seg;
}

static int segvn_unmap(struct seg *seg, uintptr_t addr, size_t len)
{
	struct as *as = seg->s_as;
	struct segvn_data *svd;

	ASSERT(spin_held(&as->a_lock));
	ASSERT(addr >= seg->s_base && addr + len <= seg->s_base + seg->s_size);
	seg = segvn_isolate(seg, addr, len);
	if (seg == NULL)
		return -ENOMEM;
	svd = seg->s_data;
	hat_unload(&as->a_hat, addr, len);
	if (svd->amp != NULL && svd->type == MAP_PRIVATE) {
		/* Private slots are this segment's alone: free them now. */
		spin_lock(&svd->amp->am_lock);
		anon_free(svd->amp, svd->anon_index, seg_pages(seg));
		spin_unlock(&svd->amp->am_lock);
	}
	SEGOP_FREE(seg);
	seg_free(seg);
	return 0;
}

static void segvn_free(struct seg *seg)
{
	struct segvn_data *svd = seg->s_data;

	if (svd->amp != NULL)
		anonmap_decref(svd->amp);
	kmem_free(svd, sizeof(*svd));
	seg->s_data = NULL;
}

static int segvn_setprot(struct seg *seg, uintptr_t addr, size_t len,
			 unsigned prot)
{
	struct segvn_data *svd = seg->s_data;

	ASSERT(spin_held(&seg->s_as->a_lock));
	if ((prot & ~svd->maxprot) != 0)
		return -EACCES;
	if (prot == svd->prot)
		return 0;
	seg = segvn_isolate(seg, addr, len);
	if (seg == NULL)
		return -ENOMEM;
	svd = seg->s_data;
	svd->prot = prot;
	/*
	 * Drop the loaded translations: each page comes back with the new
	 * protection at its next touch, and a page that must stay read-only
	 * (a shared slot, a private mapping's file page) stays so.
	 */
	hat_unload(&seg->s_as->a_hat, addr, len);
	return 0;
}

/* May an access of kind rw go through a segment with protection prot? */
static bool segvn_allows(unsigned prot, enum seg_rw rw)
{
	switch (rw) {
	case S_WRITE:
		return (prot & PROT_WRITE) != 0;
	case S_EXEC:
		return (prot & PROT_EXEC) != 0;
	default:
		return prot != 0; /* x86 cannot map write- or exec-only */
	}
}

/*
 * Load one page of a fault; the amp's lock held if there is one.
 *
 * Lab 6, part C, is the branch for a slot that fork shared (an_refcnt >
 * 1) in a private mapping:
 *   - a read maps the shared page read-only, so a later write still
 *     faults;
 *   - a write gets a copy of its own (anon_private), puts the new slot in
 *     the anon_map at this index in place of the old one, and maps the
 *     copy writable. The other holders keep the old page, untouched.
 *     Unload this process's translation of the old page before
 *     anon_private: it drops this process's reference, and if the others
 *     let go of theirs in the meantime (an exit on another CPU), that
 *     frees the page. A page must never be freed while mapped: the
 *     allocator panics if it is;
 *   - a slot with one holder is this process's alone, whatever happened
 *     before: map it as the segment allows, with no copy. That is the
 *     "reuse" rule, and it is what lets the last of the sharers, or a
 *     parent whose child has exited, write without copying.
 * If anon_private finds no memory, the fault fails with FC_NOMEM and the
 * process keeps its old slot.
 */
static faultcode_t segvn_faultpage(struct hat *hat, struct seg *seg,
				   uintptr_t a, enum seg_rw rw)
{
	struct segvn_data *svd = seg->s_data;
	size_t idx = svd->anon_index + (a - seg->s_base) / PAGESIZE;
	uint64_t off = svd->offset + (a - seg->s_base);
	unsigned prot = svd->prot;
	struct anon *ap = NULL;
	page_t *pp;

	if (svd->amp != NULL)
		ap = anon_get(svd->amp, idx);
	if (ap != NULL) {
		if (svd->type == MAP_PRIVATE && ap->an_refcnt > 1) {
			if (rw == S_WRITE) {
				/*
				 * Copy-on-write: a copy of our own. Our
				 * translation of the shared page goes first:
				 * anon_private drops our reference, which
				 * frees the page if the other holders left
				 * meanwhile, and no mapping may outlive it.
				 */
				struct anon *nap;

				(void)hat_unload(hat, a, PAGESIZE);
				nap = anon_private(ap);
				if (nap == NULL)
					return FC_NOMEM;
				/* Emptying a set slot, then refilling it,
				 * allocates nothing: neither can fail. */
				(void)anon_set(svd->amp, idx, NULL);
				(void)anon_set(svd->amp, idx, nap);
				ap = nap;
			} else {
				prot &= ~PROT_WRITE; /* still shared */
			}
		}
		pp = ap->an_page;
	} else if (svd->vp == NULL) {
		ap = anon_alloc(NULL);
		if (ap == NULL)
			return FC_NOMEM;
		if (anon_set(svd->amp, idx, ap) != 0) {
			anon_decref(ap);
			return FC_NOMEM;
		}
		pp = ap->an_page;
	} else {
		bool major = false;
		int err;

		if (off >= ROUNDUP(svd->vp->v_size, PAGESIZE))
			return FC_OBJERR; /* past the end of the file */
		err = VOP_GETPAGE(svd->vp, off, &pp, &major);
		if (err != 0)
			return err == -ENOMEM ? FC_NOMEM : FC_OBJERR;
		if (major)
			curthread->t_majflt++;
		if (svd->type == MAP_PRIVATE) {
			if (rw == S_WRITE) {
				ap = anon_alloc(pp);
				if (ap == NULL)
					return FC_NOMEM;
				if (anon_set(svd->amp, idx, ap) != 0) {
					anon_decref(ap);
					return FC_NOMEM;
				}
				pp = ap->an_page;
			} else {
				prot &= ~PROT_WRITE; /* the file's own page */
			}
		}
	}
	if (hat_memload(hat, a, page_pfn(pp), prot | PROT_USER, 0) != 0)
		return FC_NOMEM;
	return FC_OK;
}

static faultcode_t segvn_fault(struct hat *hat, struct seg *seg,
			       uintptr_t addr, size_t len,
			       enum fault_type type, enum seg_rw rw)
{
	struct segvn_data *svd = seg->s_data;
	faultcode_t fc = FC_OK;

	(void)type;
	ASSERT(spin_held(&seg->s_as->a_lock));
	ASSERT(addr >= seg->s_base && addr + len <= seg->s_base + seg->s_size);
	if (!segvn_allows(svd->prot, rw))
		return FC_PROT;
	if (svd->amp != NULL)
		spin_lock(&svd->amp->am_lock);
	for (uintptr_t a = ROUNDDOWN(addr, PAGESIZE); a < addr + len &&
	     fc == FC_OK; a += PAGESIZE)
		fc = segvn_faultpage(hat, seg, a, rw);
	if (svd->amp != NULL)
		spin_unlock(&svd->amp->am_lock);
	return fc;
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
	struct segvn_data *svd = seg->s_data, *nsvd;
	struct as *as = seg->s_as;
	int err = 0;

	ASSERT(spin_held(&as->a_lock));
	nsvd = kmem_zalloc(sizeof(*nsvd), KM_NOSLEEP);
	if (nsvd == NULL)
		return -ENOMEM;
	*nsvd = *svd;
	if (svd->amp != NULL && svd->type == MAP_SHARED) {
		__atomic_add_fetch(&svd->amp->am_refcnt, 1, __ATOMIC_RELAXED);
	} else if (svd->amp != NULL) {
		struct anon_map *namp = anonmap_alloc(seg_pages(seg));

		if (namp == NULL) {
			kmem_free(nsvd, sizeof(*nsvd));
			return -ENOMEM;
		}
		nsvd->amp = namp;
		nsvd->anon_index = 0;
		spin_lock(namp < svd->amp ? &namp->am_lock : &svd->amp->am_lock);
		spin_lock(namp < svd->amp ? &svd->amp->am_lock : &namp->am_lock);
		err = anon_dup(svd->amp, svd->anon_index, namp, 0,
			       seg_pages(seg));
		spin_unlock(&svd->amp->am_lock);
		spin_unlock(&namp->am_lock);
		if (err != 0) {
			anonmap_decref(namp);
			kmem_free(nsvd, sizeof(*nsvd));
			return err;
		}
		/* The parent's writable pages now fault on write, too. */
		if (svd->prot & PROT_WRITE)
			hat_chgprot(&as->a_hat, seg->s_base, seg->s_size,
				    (svd->prot & ~PROT_WRITE) | PROT_USER);
	}
	newseg->s_ops = &segvn_ops;
	newseg->s_data = nsvd;
	return 0;
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
