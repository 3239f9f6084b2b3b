/*
 * vmstat.c — what the VM layer did and what a process maps: the vminfo
 * counters (after illumos's vminfo kstats) and the monitor's pmap and
 * vminfo commands (lab 5 on).
 *
 * The counters are kept by the kit's own code around the student's layer
 * (pagefault(), the anon layer, the ramfs driver), so they are right
 * whatever a student's seg_vn looks like.
 */
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

