/*
 * seg_vn.h — the vnode segment driver (illumos's <vm/seg_vn.h>): mappings
 * of files and of anonymous zero-fill memory, private or shared.
 *
 * A segment maps [s_base, s_base + s_size) to the file vp from offset on,
 * or to nothing (vp == NULL: anonymous memory, zero until written). Pages
 * a process owns privately (zero-fill pages, its copies of file pages) are
 * anon slots in the segment's anon_map, from anon_index on (anon.h).
 *
 * Locking: everything here is under the address space's a_lock.
 */
#ifndef SEG_VN_H
#define SEG_VN_H

#include <seg.h>
#include <stdint.h>

struct vnode;
struct anon_map;

/* mmap()'s flags, as Linux numbers them. */
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_NORESERVE 0x4000
#define MAP_FIXED_NOREPLACE 0x100000

/* What segvn_create() is told (illumos's segvn_crargs). */
struct segvn_crargs {
	struct vnode *vp;        /* NULL: anonymous */
	uint64_t offset;         /* in vp, page-aligned */
	unsigned type;           /* MAP_SHARED or MAP_PRIVATE */
	unsigned prot;           /* PROT_READ | PROT_WRITE | PROT_EXEC */
	unsigned maxprot;        /* what mprotect may ever grant */
	struct anon_map *amp;    /* share this anon_map (NULL: make one) */
};

struct segvn_data {
	unsigned prot;
	unsigned maxprot;
	unsigned type;           /* MAP_SHARED or MAP_PRIVATE */
	struct vnode *vp;
	uint64_t offset;         /* of s_base in vp */
	struct anon_map *amp;    /* private pages (or all, if anonymous) */
	size_t anon_index;       /* amp slot of s_base's page */
};

/* as_map()'s create function for seg_vn; argsp is a segvn_crargs. */
int segvn_create(struct seg *seg, void *argsp);
extern const struct seg_ops segvn_ops;

#if LAB >= 6
/*
 * The anon slot behind user address va of as, or NULL: no segment there,
 * not seg_vn, no anon map, or an empty slot. Takes a_lock and the map's
 * lock (vmstat.c: for the monitor and the tests, not the fault path).
 */
struct anon *segvn_anon_at(struct as *as, uintptr_t va);
#endif

#endif /* SEG_VN_H */
