/*
 * avl.c — AVL trees with intrusive nodes (avl.h).
 *
 * 1. The invariant. In an AVL tree (Adel'son-Vel'skii and Landis, 1962;
 *    Knuth, TAOCP vol. 3, section 6.2.3) the two subtrees of every node
 *    differ in height by at most one. The sparsest such tree of height h is
 *    a node over the sparsest trees of heights h-1 and h-2, which makes the
 *    node counts Fibonacci numbers: a tree of n nodes is at most about
 *    1.44 log2(n + 2) levels tall. A search in 10,000 segments looks at no
 *    more than 19 of them.
 *
 * 2. Balance factors. A node keeps height(right) - height(left), not its
 *    height. After a leaf is added or taken away, only the nodes on its path
 *    to the root can change, and the walk up stops at the first node whose
 *    subtree kept its height: on average that is within a few levels.
 *
 * 3. Rotations. A factor that would reach +2 or -2 is repaired on the spot
 *    by a rotation, which keeps the in-order sequence and moves one level of
 *    height from the heavy side to the light one. Shown for a node p that
 *    is too heavy on the right (the left case is its mirror image):
 *
 *	single, when c leans right	double, when c leans left
 *	(or, in a removal, not at all)
 *
 *	    p               c		    p                  g
 *	   / \             / \		   / \               /   \
 *	  A   c    ==>    p   C		  A   c      ==>    p     c
 *	     / \         / \		     / \           / \   / \
 *	    B   C       A   B		    g   D         A   B C   D
 *					   / \
 *					  B   C
 *
 *    After a rotation the subtree is one level shorter than it was just
 *    before, except for the single rotation over a balanced c, which only a
 *    removal can meet. An insertion has just made the subtree one level
 *    taller, so one rotation ends it; a removal may need one per level.
 *
 * 4. Removal. A node with at most one child is replaced by that child. A
 *    node with two children is replaced by its in-order neighbour on its
 *    taller side, the extreme node of that subtree, which has at most one
 *    child of its own. The neighbour is relinked into the node's place and
 *    the caller's objects never move, so pointers into them stay valid.
 *
 * 5. avl_index_t. A missed search ends at a node with an empty child slot
 *    where the value belongs. The index is that node's address with the
 *    slot's side in bit 0 (nodes hold pointers, so the bit is free), which
 *    is all avl_insert() needs to link a new node without comparing again.
 */
#include <avl.h>
#include <kenv.h>

/*
 * avl_verify() gives up below this depth. No valid tree gets near it (with
 * 2^64 nodes, 1.44 * 64 < 93 levels); a deeper path means the child links
 * form a cycle, which would otherwise recurse until the stack overflows.
 */
#define AVL_VERIFY_MAXDEPTH 96

/* The node embedded in obj, and the object that embeds node n. */
static avl_node_t *avli_node(const avl_tree_t *t, const void *obj)
{
	ASSERT(obj != NULL);
	return (avl_node_t *)((uintptr_t)obj + t->avl_offset);
}

static void *avli_obj(const avl_tree_t *t, const avl_node_t *n)
{
	return (void *)((uintptr_t)n - t->avl_offset);
}

static avl_index_t avli_index(avl_node_t *n, int side)
{
	return (uintptr_t)n | (uintptr_t)side;
}

static avl_node_t *avli_index_node(avl_index_t where)
{
	return (avl_node_t *)(where & ~(uintptr_t)1);
}

static int avli_index_side(avl_index_t where)
{
	return (int)(where & 1);
}

/* Which child of its parent n is: AVL_BEFORE (left) or AVL_AFTER (right). */
static int avli_side(const avl_node_t *n)
{
	ASSERT(n->avl_parent != NULL);
	return n->avl_parent->avl_child[AVL_AFTER] == n;
}

/*
 * Make c (which may be NULL) p's child on the given side, or the root of
 * the tree if p is NULL. Both links, down and up, change together here.
 */
static void avli_link(avl_tree_t *t, avl_node_t *p, int side, avl_node_t *c)
{
	if (p == NULL)
		t->avl_root = c;
	else
		p->avl_child[side] = c;
	if (c != NULL)
		c->avl_parent = p;
}

/* The last node met going from n towards direction, as far as it goes. */
static avl_node_t *avli_extreme(avl_node_t *n, int direction)
{
	while (n->avl_child[direction] != NULL)
		n = n->avl_child[direction];
	return n;
}

/*
 * Single rotation (section 3): c, p's child on the heavy side h, takes p's
 * place and p becomes c's child on the other side. Returns c.
 */
static avl_node_t *avli_rotate1(avl_tree_t *t, avl_node_t *p, int h)
{
	int sign = h == AVL_AFTER ? 1 : -1;
	avl_node_t *parent = p->avl_parent;
	int pside = parent == NULL ? 0 : avli_side(p);
	avl_node_t *c = p->avl_child[h];

	avli_link(t, p, h, c->avl_child[!h]);
	avli_link(t, c, !h, p);
	avli_link(t, parent, pside, c);
	if (c->avl_balance == 0) {
		/* c's two subtrees were equally tall: p keeps the lean. */
		p->avl_balance = sign;
		c->avl_balance = -sign;
	} else {
		p->avl_balance = 0;
		c->avl_balance = 0;
	}
	return c;
}

/*
 * Double rotation (section 3): g, the grandchild on the inner side, takes
 * p's place with p and c as its children, and g's two subtrees are shared
 * out between them. Returns g.
 */
static avl_node_t *avli_rotate2(avl_tree_t *t, avl_node_t *p, int h)
{
	int sign = h == AVL_AFTER ? 1 : -1;
	avl_node_t *parent = p->avl_parent;
	int pside = parent == NULL ? 0 : avli_side(p);
	avl_node_t *c = p->avl_child[h];
	avl_node_t *g = c->avl_child[!h];

	avli_link(t, p, h, g->avl_child[!h]);
	avli_link(t, c, !h, g->avl_child[h]);
	avli_link(t, g, !h, p);
	avli_link(t, g, h, c);
	avli_link(t, parent, pside, g);
	/* Whichever of g's subtrees was the shorter leaves its new parent
	 * leaning the other way; the rest end balanced. */
	p->avl_balance = g->avl_balance == sign ? -sign : 0;
	c->avl_balance = g->avl_balance == -sign ? sign : 0;
	g->avl_balance = 0;
	return g;
}

/*
 * Repair p, whose balance factor has just been set to +2 or -2 (its child
 * on side h is two levels taller than the other). Returns the subtree's new
 * root, in p's old place. The subtree came out one level shorter than p's
 * was exactly when that new root is balanced.
 */
static avl_node_t *avli_rotate(avl_tree_t *t, avl_node_t *p, int h)
{
	int sign = h == AVL_AFTER ? 1 : -1;
	avl_node_t *c = p->avl_child[h];

	ASSERT(p->avl_balance == 2 * sign);
	ASSERT(c != NULL);
	if (c->avl_balance == -sign)
		return avli_rotate2(t, p, h);
	return avli_rotate1(t, p, h);
}

/*
 * The subtree on the given side of p has just grown one level taller (a
 * leaf was linked under it). Update the balance factors on the way up.
 */
static void avli_grew(avl_tree_t *t, avl_node_t *p, int side)
{
	while (p != NULL) {
		int b = p->avl_balance + (side == AVL_AFTER ? 1 : -1);

		p->avl_balance = b;
		if (b == 0)
			return; /* the short side caught up: same height */
		if (b == 2 || b == -2) {
			/* Back to the height before the insertion. */
			p = avli_rotate(t, p, side);
			ASSERT(p->avl_balance == 0);
			return;
		}
		/* p leans where it was level, so it is one level taller. */
		if (p->avl_parent == NULL)
			return;
		side = avli_side(p);
		p = p->avl_parent;
	}
}

/*
 * The subtree on the given side of p has just become one level shorter (a
 * node was unlinked from it). Update the balance factors on the way up.
 */
static void avli_shrank(avl_tree_t *t, avl_node_t *p, int side)
{
	while (p != NULL) {
		int b = p->avl_balance - (side == AVL_AFTER ? 1 : -1);

		p->avl_balance = b;
		if (b == 2 || b == -2) {
			p = avli_rotate(t, p, !side);
			if (p->avl_balance != 0)
				return; /* the rotation kept the height */
		} else if (b != 0) {
			return; /* p was level: now it leans, same height */
		}
		/* p's subtree is one level shorter: tell its parent. */
		if (p->avl_parent == NULL)
			return;
		side = avli_side(p);
		p = p->avl_parent;
	}
}

/* Start an empty tree (avl.h). */
void avl_create(avl_tree_t *t, int (*compar)(const void *, const void *),
		size_t size, size_t offset)
{
	ASSERT(compar != NULL);
	ASSERT(offset + sizeof(avl_node_t) <= size);
	/* avl_index_t keeps a side in bit 0 of a node's address. */
	ASSERT(offset % _Alignof(avl_node_t) == 0);
	t->avl_root = NULL;
	t->avl_compar = compar;
	t->avl_size = size;
	t->avl_offset = offset;
	t->avl_numnodes = 0;
}

/* Retire an empty tree (avl.h). */
void avl_destroy(avl_tree_t *t)
{
	ASSERT(t->avl_root == NULL);
	ASSERT(t->avl_numnodes == 0);
	/* A use after destroy fails on the NULL comparator at once. */
	t->avl_compar = NULL;
}

/* The object equal to value, or NULL and where it would go (avl.h). */
unsigned long avl_steps;

void *avl_find(avl_tree_t *t, const void *value, avl_index_t *where)
{
	avl_node_t *n = t->avl_root;
	avl_node_t *last = NULL;
	int side = AVL_BEFORE;

	while (n != NULL) {
		int c = t->avl_compar(value, avli_obj(t, n));

		avl_steps++;
		ASSERT(c >= -1 && c <= 1);
		if (c == 0)
			return avli_obj(t, n);
		last = n;
		side = c > 0 ? AVL_AFTER : AVL_BEFORE;
		n = n->avl_child[side];
	}
	if (where != NULL)
		*where = avli_index(last, side);
	return NULL;
}

/* Link obj where a failed avl_find() said it goes (avl.h). */
void avl_insert(avl_tree_t *t, void *obj, avl_index_t where)
{
	avl_node_t *n = avli_node(t, obj);
	avl_node_t *p = avli_index_node(where);
	int side = avli_index_side(where);

	ASSERT(p != NULL || t->avl_root == NULL);
	ASSERT(p == NULL || p->avl_child[side] == NULL);
	n->avl_child[AVL_BEFORE] = NULL;
	n->avl_child[AVL_AFTER] = NULL;
	n->avl_balance = 0;
	avli_link(t, p, side, n);
	t->avl_numnodes++;
	avli_grew(t, p, side);
}

/* avl_find() and avl_insert(), for a value known to be new (avl.h). */
void avl_add(avl_tree_t *t, void *obj)
{
	avl_index_t where;

	if (avl_find(t, obj, &where) != NULL)
		panic("avl_add: %p: an equal object is already in tree %p",
		      obj, (void *)t);
	avl_insert(t, obj, where);
}

/*
 * Put y, n's in-order neighbour in direction d (the extreme of n's subtree
 * on side d, so without a child on side !d), in n's place; n has two
 * children. Returns the node whose subtree on side *sidep lost a level.
 */
static avl_node_t *avli_replace(avl_tree_t *t, avl_node_t *n, int d,
				int *sidep)
{
	avl_node_t *y = avli_extreme(n->avl_child[d], !d);
	avl_node_t *shrunk;

	ASSERT(y->avl_child[!d] == NULL);
	if (y->avl_parent == n) {
		/* y keeps its own child on side d, one level higher. */
		shrunk = y;
		*sidep = d;
	} else {
		shrunk = y->avl_parent;
		*sidep = !d;
		avli_link(t, shrunk, !d, y->avl_child[d]);
		avli_link(t, y, d, n->avl_child[d]);
	}
	avli_link(t, y, !d, n->avl_child[!d]);
	y->avl_balance = n->avl_balance;
	avli_link(t, n->avl_parent, n->avl_parent == NULL ? 0 : avli_side(n),
		  y);
	return shrunk;
}

/* Unlink obj from the tree (avl.h). */
void avl_remove(avl_tree_t *t, void *obj)
{
	avl_node_t *n = avli_node(t, obj);
	avl_node_t *p;
	int side;

	ASSERT(t->avl_numnodes > 0);
	ASSERT(n->avl_parent != NULL || t->avl_root == n);
	if (n->avl_child[AVL_BEFORE] != NULL &&
	    n->avl_child[AVL_AFTER] != NULL) {
		/* Taking the neighbour from the taller side can leave the
		 * tree balanced where the shorter side would need a
		 * rotation. */
		p = avli_replace(t, n,
				 n->avl_balance > 0 ? AVL_AFTER : AVL_BEFORE,
				 &side);
	} else {
		p = n->avl_parent;
		side = p == NULL ? 0 : avli_side(n);
		avli_link(t, p, side,
			  n->avl_child[n->avl_child[AVL_BEFORE] == NULL]);
	}
	t->avl_numnodes--;
	avli_shrank(t, p, side);
	/* A stale pointer to the removed node now leads nowhere. */
	n->avl_child[AVL_BEFORE] = NULL;
	n->avl_child[AVL_AFTER] = NULL;
	n->avl_parent = NULL;
}

/* The smallest object, or NULL (avl.h). */
void *avl_first(avl_tree_t *t)
{
	avl_steps++;
	if (t->avl_root == NULL)
		return NULL;
	return avli_obj(t, avli_extreme(t->avl_root, AVL_BEFORE));
}

/* The largest object, or NULL (avl.h). */
void *avl_last(avl_tree_t *t)
{
	avl_steps++;
	if (t->avl_root == NULL)
		return NULL;
	return avli_obj(t, avli_extreme(t->avl_root, AVL_AFTER));
}

/*
 * The next object after (AVL_AFTER) or before (AVL_BEFORE) obj (avl.h):
 * the nearest node of obj's subtree on that side if it has one, else the
 * first ancestor that obj's subtree hangs on the other side of.
 */
void *avl_walk(avl_tree_t *t, void *obj, int direction)
{
	avl_node_t *n = avli_node(t, obj);

	avl_steps++;
	ASSERT(direction == AVL_BEFORE || direction == AVL_AFTER);
	if (n->avl_child[direction] != NULL)
		return avli_obj(t, avli_extreme(n->avl_child[direction],
						!direction));
	while (n->avl_parent != NULL && avli_side(n) == direction)
		n = n->avl_parent;
	if (n->avl_parent == NULL)
		return NULL;
	return avli_obj(t, n->avl_parent);
}

/*
 * The neighbour of a value that avl_find() missed (avl.h). The value would
 * be a leaf on side s of the node the search stopped at: that node is the
 * value's neighbour on side !s, and the node's own neighbour on side s is
 * the value's neighbour there too.
 */
void *avl_nearest(avl_tree_t *t, avl_index_t where, int direction)
{
	avl_node_t *n = avli_index_node(where);

	ASSERT(direction == AVL_BEFORE || direction == AVL_AFTER);
	if (n == NULL)
		return NULL; /* the tree was empty */
	if (avli_index_side(where) != direction)
		return avli_obj(t, n);
	return avl_walk(t, avli_obj(t, n), direction);
}

/* How many objects the tree holds (avl.h). */
unsigned long avl_numnodes(const avl_tree_t *t)
{
	return t->avl_numnodes;
}

/* Whether the tree holds none (avl.h). */
bool avl_is_empty(const avl_tree_t *t)
{
	return t->avl_numnodes == 0;
}

/* What avl_verify() carries down the tree. */
struct avli_check {
	const avl_tree_t *t;
	const avl_node_t *prev; /* the last node visited, in order */
	unsigned long count;    /* nodes visited */
};

/*
 * Check the subtree at n, whose parent should be parent, in order; return
 * its height, or -1 after saying what is wrong.
 */
static int avli_verify(struct avli_check *ck, const avl_node_t *n,
		       const avl_node_t *parent, int depth)
{
	const avl_tree_t *t = ck->t;
	int hl, hr;

	if (n == NULL)
		return 0;
	if (depth > AVL_VERIFY_MAXDEPTH) {
		kprintf("avl_verify: tree %p: deeper than %d at node %p "
			"(a cycle?)\n", (void *)t, AVL_VERIFY_MAXDEPTH,
			(void *)n);
		return -1;
	}
	if (n->avl_parent != parent) {
		kprintf("avl_verify: tree %p: node %p has parent %p, not %p\n",
			(void *)t, (void *)n, (void *)n->avl_parent,
			(void *)parent);
		return -1;
	}
	if ((hl = avli_verify(ck, n->avl_child[AVL_BEFORE], n, depth + 1)) < 0)
		return -1;
	if (ck->prev != NULL &&
	    t->avl_compar(avli_obj(t, ck->prev), avli_obj(t, n)) != -1) {
		kprintf("avl_verify: tree %p: node %p is not smaller than the "
			"next node, %p\n", (void *)t, (void *)ck->prev,
			(void *)n);
		return -1;
	}
	ck->prev = n;
	ck->count++;
	if ((hr = avli_verify(ck, n->avl_child[AVL_AFTER], n, depth + 1)) < 0)
		return -1;
	if (n->avl_balance != hr - hl || hr - hl < -1 || hr - hl > 1) {
		kprintf("avl_verify: tree %p: node %p has balance %d, but its "
			"subtrees are %d (left) and %d (right) tall\n",
			(void *)t, (void *)n, n->avl_balance, hl, hr);
		return -1;
	}
	return 1 + (hl > hr ? hl : hr);
}

/* Check every invariant; the height, or -1 (avl.h). */
int avl_verify(const avl_tree_t *t)
{
	struct avli_check ck = { .t = t, .prev = NULL, .count = 0 };
	int h = avli_verify(&ck, t->avl_root, NULL, 1);

	if (h < 0)
		return -1;
	if (ck.count != t->avl_numnodes) {
		kprintf("avl_verify: tree %p: %lu nodes counted, avl_numnodes "
			"says %lu\n", (void *)t, ck.count, t->avl_numnodes);
		return -1;
	}
	return h;
}
