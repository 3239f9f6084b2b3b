/*
 * vmstat.c — what the VM layer did and what a process maps: the vminfo
 * counters (after illumos's vminfo kstats) and the monitor's pmap and
 * vminfo commands (lab 5 on).
 *
 * The counters are kept by the kit's own code around the student's layer
 * (pagefault(), the anon layer, the ramfs driver), so they are right
 * whatever a student's seg_vn looks like.
 */
#if LAB >= 5
#include <anon.h>
#include <as.h>
#include <avl.h>
#include <cmdline.h>
#include <hat.h>
#include <kernel.h>
#include <kmem.h>
#include <monitor.h>
#include <page.h>
#include <proc.h>
#include <seg.h>
#include <seg_vn.h>
#include <vmstat.h>
#include <vnode.h>

struct vminfo vminfo;

MONCMD(vminfo, "", "VM counters since boot: faults, zero-fills, page-ins")
{
	(void)argv;
	if (argc != 1) {
		kprintf("usage: vminfo\n");
		return 1;
	}
	kprintf("%-12s %10lu  faults that reached as_fault()\n", "as_fault",
		vminfo.as_fault);
	kprintf("%-12s %10lu  of them refused for protection (FC_PROT)\n",
		"prot_fault", vminfo.prot_fault);
	kprintf("%-12s %10lu  with no segment there (FC_NOMAP)\n", "nomap_fault",
		vminfo.nomap_fault);
	kprintf("%-12s %10lu  that read a page from the backing store\n",
		"maj_fault", vminfo.maj_fault);
	kprintf("%-12s %10lu  zero-filled pages made (anon_alloc)\n", "zfod",
		vminfo.zfod);
	kprintf("%-12s %10lu  pages read in from the initrd\n", "pgin",
		vminfo.pgin);
#if LAB >= 6
	kprintf("%-12s %10lu  pages copied for a writer (copy-on-write)\n",
		"cow_fault", vminfo.cow_fault);
#endif
	kprintf("%-12s %10lu  pages in the page cache now\n", "cached",
		page_cache_count());
	kprintf("%-12s %10lu  anon slots now\n", "anon", anon_count());
	return 0;
}

static void prot_str(unsigned prot, char *buf)
{
	buf[0] = (prot & PROT_READ) ? 'r' : '-';
	buf[1] = (prot & PROT_WRITE) ? 'w' : '-';
	buf[2] = (prot & PROT_EXEC) ? 'x' : '-';
	buf[3] = '\0';
}

/* One segment's line: resident and anon pages counted page by page. */
static void pmap_seg(struct as *as, struct seg *seg, uint64_t tot[3])
{
	struct segvn_data *svd = seg->s_data;
	uint64_t rss = 0, anon = 0, npages = seg->s_size / PAGESIZE;
	char mode[4] = "???";
	const char *what = "[ segment ]";

	for (uint64_t i = 0; i < npages; i++)
		rss += hat_getpfnum(&as->a_hat, seg->s_base + i * PAGESIZE) !=
		       PFN_INVALID;
	if (seg->s_ops == &segvn_ops && svd != NULL) {
		prot_str(svd->prot, mode);
		if (svd->amp != NULL) {
			spin_lock(&svd->amp->am_lock);
			for (uint64_t i = 0; i < npages; i++)
				anon += anon_get(svd->amp,
						 svd->anon_index + i) != NULL;
			spin_unlock(&svd->amp->am_lock);
		}
		if (svd->vp != NULL)
			what = svd->vp->v_path;
		else if (seg->s_base + seg->s_size == USERSTACK_TOP)
			what = "[ stack ]";
		else
			what = svd->type == MAP_SHARED ? "[ anon shared ]"
						       : "[ anon ]";
	}
	kprintf("%016lx %8lu %8lu %8lu %s %s%s\n", seg->s_base,
		seg->s_size >> 10, rss * (PAGESIZE >> 10),
		anon * (PAGESIZE >> 10), mode,
		svd != NULL && svd->type == MAP_SHARED ? "s " : "p ", what);
	tot[0] += seg->s_size >> 10;
	tot[1] += rss * (PAGESIZE >> 10);
	tot[2] += anon * (PAGESIZE >> 10);
}

MONCMD(pmap, "PID", "a process's segments: address, KiB, RSS, anon, mode")
{
	uint64_t pid, tot[3] = { 0, 0, 0 };
	proc_t *p;
	struct as *as;

	if (argc != 2 || !parse_u64(argv[1], &pid)) {
		kprintf("usage: pmap PID   (ps lists them)\n");
		return 1;
	}
	spin_lock(&pidlock);
	p = proc_find((int)pid);
	if (p == NULL || p->p_as == NULL) {
		spin_unlock(&pidlock);
		kprintf("pmap: no process %lu with an address space\n", pid);
		return 1;
	}
	as = p->p_as;
	kprintf("%d: %s\n", p->p_pid, p->p_comm);
	kprintf("%-16s %8s %8s %8s %s\n", "Address", "Kbytes", "RSS", "Anon",
		"Mode   Mapped File");
	spin_lock(&as->a_lock);
	for (struct seg *seg = avl_first(&as->a_segtree); seg != NULL;
	     seg = AVL_NEXT(&as->a_segtree, seg))
		pmap_seg(as, seg, tot);
	spin_unlock(&as->a_lock);
	spin_unlock(&pidlock);
	kprintf("%-16s %8lu %8lu %8lu\n", "total Kb", tot[0], tot[1], tot[2]);
	return 0;
}

#if LAB >= 6
struct anon *segvn_anon_at(struct as *as, uintptr_t va)
{
	struct segvn_data *svd;
	struct anon *ap = NULL;
	struct seg *seg;

	spin_lock(&as->a_lock);
	seg = as_segat(as, va);
	if (seg != NULL && seg->s_ops == &segvn_ops &&
	    (svd = seg->s_data)->amp != NULL) {
		spin_lock(&svd->amp->am_lock);
		ap = anon_get(svd->amp, svd->anon_index +
			      (va - seg->s_base) / PAGESIZE);
		spin_unlock(&svd->amp->am_lock);
	}
	spin_unlock(&as->a_lock);
	return ap;
}

/* The process whose address space hat is, or NULL (pidlock held). */
static proc_t *vm_hat_proc(const struct hat *hat)
{
	for (proc_t *p = proc_next(NULL); p != NULL; p = proc_next(p))
		if (p->p_as != NULL && &p->p_as->a_hat == hat)
			return p;
	return NULL;
}

/* Every distinct shared slot once: an open-addressed set of pointers. */
struct slotset {
	struct anon **s_tab;
	size_t s_size; /* a power of two */
	uint64_t s_count;
};

static void slotset_add(struct slotset *set, struct anon *ap)
{
	size_t i = ((uintptr_t)ap >> 4) * 0x9e3779b97f4a7c15ULL >> 20;

	for (i &= set->s_size - 1; set->s_tab[i] != NULL;
	     i = (i + 1) & (set->s_size - 1))
		if (set->s_tab[i] == ap)
			return;
	set->s_tab[i] = ap;
	set->s_count++;
}

MONCMD(anonstat, "", "anon slots and pages, and how many fork shares")
{
	uint64_t refs = 0, maxref = 0, anonpages = 0, slots = anon_count();
	struct slotset set = { NULL, 64, 0 };

	(void)argv;
	if (argc != 1) {
		kprintf("usage: anonstat\n");
		return 1;
	}
	while (set.s_size < 2 * slots)
		set.s_size *= 2;
	set.s_tab = kmem_zalloc(set.s_size * sizeof(*set.s_tab), KM_NOSLEEP);
	if (set.s_tab == NULL) {
		kprintf("anonstat: no memory for a table of %lu slots\n", slots);
		return 1;
	}
	for (uint64_t pfn = 0; pfn < page_array_npages; pfn++)
		anonpages += page_array[pfn].p_owner == PG_OWNER(PG_ANON) &&
			     !(page_array[pfn].p_flags & P_FREE);
	spin_lock(&pidlock);
	for (proc_t *p = proc_next(NULL); p != NULL; p = proc_next(p)) {
		struct as *as = p->p_as;

		if (as == NULL)
			continue;
		spin_lock(&as->a_lock);
		for (struct seg *seg = avl_first(&as->a_segtree); seg != NULL;
		     seg = AVL_NEXT(&as->a_segtree, seg)) {
			struct segvn_data *svd = seg->s_data;

			if (seg->s_ops != &segvn_ops || svd->amp == NULL)
				continue;
			spin_lock(&svd->amp->am_lock);
			for (size_t i = 0; i < seg->s_size / PAGESIZE; i++) {
				struct anon *ap = anon_get(svd->amp,
							   svd->anon_index + i);

				if (ap == NULL)
					continue;
				refs++;
				maxref = MAX(maxref, (uint64_t)ap->an_refcnt);
				if (ap->an_refcnt > 1)
					slotset_add(&set, ap);
			}
			spin_unlock(&svd->amp->am_lock);
		}
		spin_unlock(&as->a_lock);
	}
	spin_unlock(&pidlock);
	kprintf("%-14s %8lu  anon slots (struct anon)\n", "slots", slots);
	kprintf("%-14s %8lu  pages that anonymous memory owns\n", "pages",
		anonpages);
	kprintf("%-14s %8lu  slot references from processes' segments\n",
		"references", refs);
	kprintf("%-14s %8lu  slots with more than one reference (shared by "
		"fork)\n", "shared", set.s_count);
	kprintf("%-14s %8lu  references to the most shared slot\n", "max refcnt",
		maxref);
	kmem_free(set.s_tab, set.s_size * sizeof(*set.s_tab));
	return 0;
}

#define PAGE_SHOWN 16 /* mappings the page command lists */

MONCMD(page, "PFN", "one page: owner, identity, references, who maps it")
{
	static const char *const owners[PG_NOWNERS] = {
		"none", "kernel", "page tables", "tests", "boot",
		"page cache", "anonymous memory",
	};
	struct hment maps[PAGE_SHOWN];
	uint64_t pfn;
	unsigned n;
	page_t *pp;

	if (argc != 2 || !parse_u64(argv[1], &pfn)) {
		kprintf("usage: page PFN   (0x... or decimal; pmap and vm-anon "
			"show frames)\n");
		return 1;
	}
	if (pfn >= page_array_npages) {
		kprintf("page: pfn %#lx is past the end of RAM (%#lx pages)\n",
			pfn, page_array_npages);
		return 1;
	}
	pp = pfn_to_page(pfn);
	kprintf("pfn %#lx (pa %#lx), page_t %p\n", pfn, pfn << PAGESHIFT,
		(void *)pp);
	if (pp->p_flags & P_RESERVED) {
		kprintf("  reserved: not RAM the allocator hands out\n");
		return 0;
	}
	if (pp->p_flags & P_FREE) {
		kprintf("  free: heads a free block of order %u\n", pp->p_order);
		return 0;
	}
	kprintf("  owner       %s\n", pp->p_owner < PG_NOWNERS ?
		owners[pp->p_owner] : "?");
	if (pp->p_vnode != NULL)
		kprintf("  identity    <%s, offset %#lx> in the page hash\n",
			pp->p_vnode->v_path, pp->p_offset);
	n = hat_page_mappings(pp, maps, PAGE_SHOWN);
	kprintf("  mappings    %u (p_share)\n", n);
	spin_lock(&pidlock);
	for (unsigned i = 0; i < MIN(n, PAGE_SHOWN); i++) {
		proc_t *p = vm_hat_proc(maps[i].hm_hat);
		struct anon *ap = p != NULL ?
			segvn_anon_at(p->p_as, maps[i].hm_va) : NULL;

		if (p == NULL)
			kprintf("    hat %p va %#lx\n", (void *)maps[i].hm_hat,
				maps[i].hm_va);
		else if (ap != NULL && ap->an_page == pp)
			kprintf("    pid %-5d %-12s va %#lx  slot %p an_refcnt "
				"%u\n", p->p_pid, p->p_comm, maps[i].hm_va,
				(void *)ap, ap->an_refcnt);
		else
			kprintf("    pid %-5d %-12s va %#lx\n", p->p_pid,
				p->p_comm, maps[i].hm_va);
	}
	spin_unlock(&pidlock);
	if (n > PAGE_SHOWN)
		kprintf("    ... and %u more\n", n - PAGE_SHOWN);
	return 0;
}
#endif /* LAB >= 6 */
#endif /* LAB >= 5 */
