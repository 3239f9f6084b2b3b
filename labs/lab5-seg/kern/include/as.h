/*
 * as.h — address spaces (illumos's struct as, <vm/as.h>).
 *
 * A user process's address space is a set of non-overlapping segments
 * (seg.h), kept in an AVL tree ordered by base address, plus the hat that
 * holds the translations the segments have loaded so far. Nothing is
 * mapped until it is touched: as_map() only records a segment, and
 * as_fault() asks the segment's driver to load the page a fault needs.
 *
 * User addresses run from USERBASE to USERLIMIT (the lower half of the
 * 48-bit space, less one guard page at its top, as on Linux).
 *
 * Locking: a_lock (rank LR_AS) protects a_segtree, a_seglast, a_size and
 * every segment's bounds, and is held across a segment driver's fault,
 * unmap and setprot. The hat's tables are changed only under it. Lock
 * order (spinlock.h's ranks): pidlock, a_lock, an anon_map's lock, a
 * vnode's v_lock, the page hash, the anon lock, kmem's locks, the buddy
 * zones (and from lab 6, hment_lock just inside the anon lock).
 */
#ifndef AS_H
#define AS_H

#include <avl.h>
#include <hat.h>
#include <spinlock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vm_fault.h>

struct seg;

#define USERBASE 0x10000UL             /* nothing below (NULL stays bad) */
#define USERLIMIT 0x7ffffffff000UL     /* one past the last user page */
#define USERSTACK_TOP USERLIMIT
#define USERSTACK_SIZE (8UL << 20)     /* the main thread's stack */
#define MMAP_TOP 0x7f0000000000UL      /* mmap() hands out below this */

struct as {
	spinlock_t a_lock;
	avl_tree_t a_segtree;    /* segments by s_base; a_lock */
	struct seg *a_seglast;   /* the last segment found; a_lock */
	size_t a_size;           /* bytes in segments; a_lock */
	struct hat a_hat;        /* translations; changed under a_lock */
};

/* Why a fault could not be resolved (illumos's faultcode_t). */
typedef enum faultcode {
	FC_OK = 0,
	FC_NOMAP,   /* no segment there: SIGSEGV */
	FC_PROT,    /* the segment forbids the access: SIGSEGV */
	FC_OBJERR,  /* the object cannot supply the page (past EOF): SIGBUS */
	FC_NOMEM,   /* no memory for the page or its tables */
} faultcode_t;

/* A new, empty address space, or NULL. */
struct as *as_alloc(void);
/* Unmap everything and free the address space and its page tables. */
void as_free(struct as *as);
/* The segment containing addr, or NULL (a_lock held). */
struct seg *as_segat(struct as *as, uintptr_t addr);

/*
 * Make a segment of [addr, addr + size) with crfunc (segvn_create, ...).
 * Fails with -ENOMEM if any of the range is already mapped; callers that
 * want MAP_FIXED's replacement as_unmap() first.
 */
int as_map(struct as *as, uintptr_t addr, size_t size,
	   int (*crfunc)(struct seg *, void *), void *argsp);
/* Unmap [addr, addr + size); segments it cuts are split. 0 or -errno. */
int as_unmap(struct as *as, uintptr_t addr, size_t size);
/*
 * Give [addr, addr + size) protection prot; every page must be mapped
 * (-ENOMEM otherwise) and allow prot by its maximum (-EACCES otherwise).
 */
int as_setprot(struct as *as, uintptr_t addr, size_t size, unsigned prot);
/* Resolve a fault over [addr, addr + size), one segment at a time. */
faultcode_t as_fault(struct as *as, uintptr_t addr, size_t size,
		     enum fault_type type, enum seg_rw rw);
/*
 * Find a free range of len bytes below hint (page-aligned), highest
 * first: its base in *addrp. 0 or -ENOMEM.
 */
int as_gap(struct as *as, size_t len, uintptr_t *addrp);
/* mincore(): one byte per page of [addr, addr + size). 0 or -ENOMEM. */
int as_incore(struct as *as, uintptr_t addr, size_t size, char *vec);
/* fork(): a copy of as whose private pages are copy-on-write. */
int as_dup(struct as *as, struct as **newasp);

/* Segments in as (a_lock held, or as private to the caller). */
unsigned long as_nsegs(struct as *as);

/* Load as's page tables on this CPU (the dispatcher and exec). */
void as_activate(struct as *as);
/* The kernel's page tables, for kernel threads. */
void as_deactivate(void);

/*
 * MD: a new hat whose top table shares the kernel's half of the address
 * space, and the undoing of that before the hat is freed.
 */
int hat_alloc_user(struct hat *hat);
void hat_free_user(struct hat *hat);

#endif /* AS_H */
