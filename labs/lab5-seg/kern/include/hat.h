/*
 * hat.h — the hardware address translation layer (illumos's HAT): the one
 * interface through which the rest of the kernel changes page tables.
 *
 * A struct hat is one tree of page tables. Its shape comes from a paging
 * mode (struct pt_mode), which is data: how many levels, which virtual
 * address bits index each level, which levels may hold a large page. The
 * walker in vm/hat.c reads that table and never names a mode, so the same
 * code runs PAE (3 levels), 4-level and 5-level paging. What an entry looks
 * like is x86's business: see pte.h.
 *
 * Every function that changes a live hat flushes the TLB entries it made
 * stale (hat_tlb_flush). Errors come back as negated errnos:
 * -EINVAL for an address the mode cannot map or a misaligned argument,
 * -ENOMEM when no page-table page can be had. A range operation that runs
 * out of memory may stop part-way: the pages before the failure are done.
 */
#ifndef HAT_H
#define HAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint64_t pfn_t;
#define PFN_INVALID ((pfn_t)-1)

/* Protections, as in illumos's <sys/mman.h> (a mapping is always readable). */
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define PROT_USER 0x8
#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC | PROT_USER)

/* hat_memload/hat_devload flags. */
#define HAT_NOCACHE 0x1 /* device memory: no caching */

#define PT_MAXLEVELS 5

/* One level of a paging mode; level 0 is the page table proper. */
struct pt_level {
	unsigned shift;  /* the lowest virtual address bit of its index */
	unsigned bits;   /* index width: 9, or 2 for PAE's PDPT */
	bool large;      /* an entry here may map a whole 1 << shift page */
	uint64_t rsvd;   /* bits that must be 0 in a table entry here */
	const char *name;
};

struct pt_mode {
	const char *name;
	int levels;      /* 3, 4 or 5 */
	unsigned va_bits;  /* 32, 48 or 57 */
	bool sign_extend;  /* bits above va_bits copy the top one (canonical) */
	struct pt_level lvl[PT_MAXLEVELS];
};

extern const struct pt_mode pt_mode_pae;    /* 2+9+9 over 12 */
extern const struct pt_mode pt_mode_4level; /* 9+9+9+9 over 12 */
extern const struct pt_mode pt_mode_5level; /* 9+9+9+9+9 over 12 (LA57) */

/*
 * One tree of page tables. The HAT takes no lock of its own: one CPU at a
 * time changes a hat, and its owner makes that so. The kernel hat is built
 * by the boot CPU before any other runs, and changed after that only by
 * tests, which run on one CPU; from lab 5 a user hat is changed only with
 * its address space's lock held. Other CPUs may have a hat loaded and
 * their MMU walks its tables meanwhile: so an entry is changed in one
 * store and flushed before what it pointed to is freed (hat.c, 4 and 6).
 *
 *	h_mode		set by hat_init(); read-only after
 *	h_root		set by hat_init(), cleared by hat_free(); the tree
 *			under it, by the hat's one writer
 *	h_ptpages	by the hat's one writer
 *	h_rmap		lab 6: set by hat_alloc_user(); read-only after
 *	h_cpus, h_tlb_gen  lab 7: atomic (tlb.h)
 */
struct hat {
	const struct pt_mode *h_mode;
	uint64_t h_root;            /* physical address of the top table */
	unsigned long h_ptpages;    /* page-table pages, the root included */
};

/* A leaf translation, as hat_probe() reports it. */
struct hat_mapping {
	uint64_t pa;     /* physical address of va itself */
	uint64_t size;   /* the page size: 4 KiB, 2 MiB or 1 GiB */
	unsigned prot;   /* PROT_* */
	unsigned flags;  /* HAT_NOCACHE */
	int level;       /* the level that holds the leaf */
};

/* Set up an empty hat in mode; 0, or -ENOMEM for want of a root table. */
int hat_init(struct hat *hat, const struct pt_mode *mode);
/* Free every page-table page of hat (not the pages it maps), root too. */
void hat_free(struct hat *hat);

/* Map the 4 KiB page at va to frame pfn, replacing what was there. */
int hat_memload(struct hat *hat, uintptr_t va, pfn_t pfn, unsigned prot,
		unsigned flags);
/*
 * Map len bytes at va to frames from pfn on, with the largest pages that
 * va, the physical address and the remaining length allow.
 */
int hat_devload(struct hat *hat, uintptr_t va, size_t len, pfn_t pfn,
		unsigned prot, unsigned flags);
/* Unmap [va, va + len), splitting large pages it cuts through. */
int hat_unload(struct hat *hat, uintptr_t va, size_t len);
/* Give every mapped page in [va, va + len) the protection prot. */
int hat_chgprot(struct hat *hat, uintptr_t va, size_t len, unsigned prot);
/* The frame va translates to, or PFN_INVALID. */
pfn_t hat_getpfnum(struct hat *hat, uintptr_t va);
/* Fill *m with va's translation and return true, or return false. */
bool hat_probe(struct hat *hat, uintptr_t va, struct hat_mapping *m);

/* Can mode translate va at all (canonical, in range)? */
bool hat_va_valid(const struct pt_mode *mode, uintptr_t va);
/* Print each level's index, entry and decoded flags for va (ptwalk). */
void hat_ptwalk_print(struct hat *hat, uintptr_t va);

/*
 * Supplied by the environment (hat_kern.c in the kernel, the host tests'
 * simulated memory on the host). Any CPU may call them at any time: the
 * page-table page counters are atomic, the allocator locks itself.
 */
/* A zeroed page for a page table: its physical address, or 0 if none. */
uint64_t hat_ptpage_alloc(void);
/* Give back a page-table page. */
void hat_ptpage_free(uint64_t pa);
/* Make the TLB forget [va, va + len) in hat, if hat is loaded anywhere. */
void hat_tlb_flush(struct hat *hat, uintptr_t va, size_t len);

/* Tests: make the allocation after the next `after` ones fail (-1: off). */
void hat_ptpage_inject_failure(long after);
/* Page-table pages handed out and not yet given back, in every hat. */
uint64_t hat_ptpages_live(void);

/*
 * The kernel's own hat (hat_kern.c), and whether it is loaded in CR3;
 * kernel_hat_active is set once, by the boot CPU, before the APs start.
 */
extern struct hat kernel_hat;
extern bool kernel_hat_active;
/* Build the kernel's page tables with the HAT and switch to them. */
void hat_kern_init(void);

#endif /* HAT_H */
