/*
 * avl.h — balanced binary search trees with intrusive nodes (kern/lib/avl.c).
 *
 * An address space keeps its segments sorted by base address in one of
 * these trees (lab 5), as illumos does with its avl library: finding the
 * segment that holds a faulting address, and the gap where a new mapping
 * fits, both cost O(log n) however many segments a process has.
 *
 * The tree never allocates. The caller's struct embeds an avl_node_t, and
 * the tree records at which offset, so that it can go from a node to the
 * object holding it and back:
 *
 *	struct seg {
 *		uintptr_t s_base;
 *		size_t s_size;
 *		avl_node_t s_tree;	(its link in the as's tree)
 *		...
 *	};
 *	avl_create(&as->a_segtree, seg_compar, sizeof(struct seg),
 *	    offsetof(struct seg, s_tree));
 *
 * Every function takes and returns pointers to the caller's objects, never
 * to avl_node_t. The comparator gets (value, an object in the tree) and must
 * return exactly -1, 0 or 1; "value" need not be a whole object, only as much
 * of one as the comparator reads (a seg with just s_base set, for instance).
 * No two objects in a tree may compare equal.
 *
 * A search that misses reports where it stopped (an avl_index_t), so the
 * caller can insert there without searching again, or ask for the objects on
 * either side of the missing value (avl_nearest()): "the segment below this
 * address" is one avl_find() and one avl_nearest().
 *
 * Locking is the caller's: the tree has no lock of its own.
 */
#ifndef AVL_H
#define AVL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The linkage embedded in each object. avl_balance is the height of the
 * right subtree minus that of the left; in a valid tree it is -1, 0 or 1.
 */
typedef struct avl_node {
	struct avl_node *avl_child[2]; /* [0] left (smaller), [1] right */
	struct avl_node *avl_parent;   /* NULL at the root */
	int avl_balance;               /* height(right) - height(left) */
} avl_node_t;

typedef struct avl_tree {
	avl_node_t *avl_root;                          /* NULL when empty */
	int (*avl_compar)(const void *, const void *); /* -1, 0 or 1 */
	size_t avl_offset;           /* of the avl_node_t in an object */
	size_t avl_size;             /* of an object, for ASSERTs */
	unsigned long avl_numnodes;  /* objects in the tree */
} avl_tree_t;

/*
 * Where a failed avl_find() stopped: the last node it looked at, and on
 * which side of it the value would go. Nodes are pointer-aligned, so the
 * side fits in the pointer's low bit. Valid until the tree next changes.
 */
typedef uintptr_t avl_index_t;

/* Directions, for avl_walk() and avl_nearest(), and the sides of a node. */
#define AVL_BEFORE 0 /* towards smaller objects: the left child */
#define AVL_AFTER 1  /* towards larger objects: the right child */

/*
 * Start an empty tree of objects of the given size, each with its
 * avl_node_t at the given offset, ordered by compar.
 */
void avl_create(avl_tree_t *t, int (*compar)(const void *, const void *),
		size_t size, size_t offset);

/* Retire a tree, which must be empty: objects are not freed here. */
void avl_destroy(avl_tree_t *t);

/*
 * The object that compares equal to value, or NULL. When it returns NULL
 * and where is not NULL, *where records the place value would go, for
 * avl_insert() or avl_nearest().
 */
void *avl_find(avl_tree_t *t, const void *value, avl_index_t *where);

/*
 * Link obj into the tree at where, which a failed avl_find() for obj's
 * value reported, with no change to the tree since. Rebalances.
 */
void avl_insert(avl_tree_t *t, void *obj, avl_index_t where);

/* avl_find() then avl_insert(); panics if an equal object is there. */
void avl_add(avl_tree_t *t, void *obj);

/* Unlink obj, which must be in the tree. Rebalances. */
void avl_remove(avl_tree_t *t, void *obj);

/* The smallest and the largest object; NULL if the tree is empty. */
void *avl_first(avl_tree_t *t);
void *avl_last(avl_tree_t *t);

/*
 * The object next to obj (which is in the tree) in the given direction:
 * AVL_AFTER for the next larger, AVL_BEFORE for the next smaller; NULL at
 * either end.
 */
void *avl_walk(avl_tree_t *t, void *obj, int direction);
#define AVL_NEXT(t, n) avl_walk((t), (n), AVL_AFTER)
#define AVL_PREV(t, n) avl_walk((t), (n), AVL_BEFORE)

/*
 * The neighbour of the value a failed avl_find() was looking for: with
 * AVL_BEFORE the largest object smaller than it, with AVL_AFTER the
 * smallest object larger than it; NULL if there is none.
 */
void *avl_nearest(avl_tree_t *t, avl_index_t where, int direction);

/* How many objects the tree holds, and whether that is none. */
unsigned long avl_numnodes(const avl_tree_t *t);
bool avl_is_empty(const avl_tree_t *t);

/*
 * Check every invariant: objects in strictly increasing order, parent
 * links that match child links, balance factors that match the subtree
 * heights and lie in -1..1, and avl_numnodes. Returns the tree's height
 * (0 when empty), or -1 after printing (kprintf) what is broken and where.
 * For tests and for debug ASSERTs: it visits every node.
 */
int avl_verify(const avl_tree_t *t);

/*
 * Steps the library has taken: one per node avl_find() compares against,
 * one per avl_walk(), avl_first() and avl_last(). Tests read it to check
 * that a lookup costs O(log n) and not a walk over the tree. Not atomic:
 * a statistic.
 */
extern unsigned long avl_steps;

#endif /* AVL_H */
