/*
 * seg.h — segments and their drivers (illumos's <vm/seg.h>).
 *
 * A segment is a page-aligned range of an address space backed by one
 * driver. The address-space layer (as.h) finds the segment an operation
 * concerns and calls its driver through s_ops; the driver decides what the
 * range means (zero-fill memory, a file) and talks to the hat. seg_vn
 * (seg_vn.h) is the driver of every user mapping here.
 *
 * Locking: a segment's fields belong to its address space's a_lock, which
 * every operation below is called with.
 */
#ifndef SEG_H
#define SEG_H

#include <as.h>
#include <avl.h>
#include <stddef.h>
#include <stdint.h>

struct seg {
	uintptr_t s_base;            /* page-aligned */
	size_t s_size;               /* bytes, a multiple of PAGESIZE */
	struct as *s_as;
	const struct seg_ops *s_ops;
	void *s_data;                /* the driver's */
	avl_node_t s_tree;           /* in s_as->a_segtree */
};

struct seg_ops {
	/* Copy seg into newseg (fork); 0 or -errno. */
	int (*dup)(struct seg *seg, struct seg *newseg);
	/*
	 * Unmap [addr, addr + len), which lies inside seg; the driver may
	 * shrink seg, split it in two (making the second half with
	 * seg_alloc()) or free it. 0 or -errno.
	 */
	int (*unmap)(struct seg *seg, uintptr_t addr, size_t len);
	/* Release everything the segment holds; seg itself is freed after. */
	void (*free)(struct seg *seg);
	/* Resolve a fault in [addr, addr + len), inside seg. */
	faultcode_t (*fault)(struct hat *hat, struct seg *seg, uintptr_t addr,
			     size_t len, enum fault_type type,
			     enum seg_rw rw);
	/*
	 * Change the protection of [addr, addr + len) inside seg, splitting
	 * seg as needed; -EACCES if its maximum forbids prot.
	 */
	int (*setprot)(struct seg *seg, uintptr_t addr, size_t len,
		       unsigned prot);
	/* Set vec[i] to 1 for each resident page of the range, else 0. */
	void (*incore)(struct seg *seg, uintptr_t addr, size_t len, char *vec);
};

#define SEGOP_DUP(s, n) ((s)->s_ops->dup((s), (n)))
#define SEGOP_UNMAP(s, a, l) ((s)->s_ops->unmap((s), (a), (l)))
#define SEGOP_FREE(s) ((s)->s_ops->free((s)))
#define SEGOP_FAULT(h, s, a, l, t, rw) \
	((s)->s_ops->fault((h), (s), (a), (l), (t), (rw)))
#define SEGOP_SETPROT(s, a, l, p) ((s)->s_ops->setprot((s), (a), (l), (p)))
#define SEGOP_INCORE(s, a, l, v) ((s)->s_ops->incore((s), (a), (l), (v)))

/*
 * A new segment [base, base + size) of as, in its tree, with no driver yet
 * (the caller's create function sets s_ops and s_data). NULL if there is
 * no memory. a_lock held; the range must be free.
 */
struct seg *seg_alloc(struct as *as, uintptr_t base, size_t size);
/* Take seg out of its tree and free it (after SEGOP_FREE). a_lock held. */
void seg_free(struct seg *seg);

#endif /* SEG_H */
