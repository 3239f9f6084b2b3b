/*
 * test_avl.c — the AVL tree library (kern/lib/avl.c) on the host.
 *
 * Most unit tests draw a tree, run one operation and compare the tree's
 * shape with a drawing of what it must become. A drawing is a key, or a
 * key with its two subtrees in parentheses, "-" standing for none:
 *
 *	"4(2(1,3),6(-,7))"	is	    4
 *					   / \
 *					  2   6
 *					 / \   \
 *					1   3   7
 *
 * build() links exactly that tree, with the balance factors its heights
 * give, and avl_verify() must accept it; shape() draws a tree the same way.
 * So each rotation case is pinned down node by node: a rotation that links
 * the wrong subtree, or leaves a wrong balance factor, fails by name.
 *
 * The random test runs seeded operations against a sorted array of keys
 * and checks the whole tree after each one; it prints its seed, and
 * TEST_SEED=<seed> replays it (testutil.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <avl.h>
#include <kenv.h>
#include "testutil.h"

/* ---- objects ---- */

/*
 * A test object. The node is not at offset 0, so that a library that
 * confuses an object with its node reads the wrong bytes (ASan and the
 * magic number notice).
 */
typedef struct obj {
	uint64_t o_magic;
	avl_node_t o_node;
	int o_key;
} obj_t;

#define OBJ_MAGIC 0x0b1ec7a71ULL
#define POOL 128 /* objects with keys 0 .. POOL - 1 */

static obj_t pool[POOL];
static avl_tree_t tree;
static unsigned long ncompar; /* comparator calls */

static int obj_compar(const void *value, const void *inode)
{
	const obj_t *a = value, *b = inode;

	assert_int_equal(b->o_magic, OBJ_MAGIC);
	ncompar++;
	return (a->o_key > b->o_key) - (a->o_key < b->o_key);
}

/* A key to look up: only o_key is read (avl.h allows a partial value). */
static obj_t key(int k)
{
	return (obj_t){ .o_key = k };
}

static int setup(void **state)
{
	(void)state;
	for (int k = 0; k < POOL; k++)
		pool[k] = (obj_t){ .o_magic = OBJ_MAGIC, .o_key = k };
	avl_create(&tree, obj_compar, sizeof(obj_t), offsetof(obj_t, o_node));
	ncompar = 0;
	return 0;
}

/* ---- failures, panics, kprintf ---- */

__attribute__((noreturn, format(printf, 1, 2))) static void
flunk(const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fail_msg("%s", why);
	abort(); /* fail_msg returns only when no test is running */
}

static sigjmp_buf panic_jmp;
static bool panic_expected;
static char panic_msg[256];
static char kprintf_msg[256]; /* the last kprintf: avl_verify's reason */

/* avl.c's panic (kenv.h): caught when a test expects it, else a failure. */
void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (panic_expected)
		siglongjmp(panic_jmp, 1);
	flunk("unexpected panic: %s", panic_msg);
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = libc_vsnprintf(kprintf_msg, sizeof(kprintf_msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s", kprintf_msg);
	return n;
}

/* Run fn(arg), which must panic; the panic's message. */
static const char *must_panic(void (*fn)(void *), void *arg, const char *what)
{
	panic_msg[0] = '\0';
	panic_expected = true;
	if (sigsetjmp(panic_jmp, 0) == 0) {
		fn(arg);
		panic_expected = false;
		flunk("%s returned: it should have panicked", what);
	}
	panic_expected = false;
	return panic_msg;
}

/* The tree must pass avl_verify(); returns its height. */
static int verified(const char *when)
{
	int h = avl_verify(&tree);

	if (h < 0)
		flunk("%s: %s", when, kprintf_msg);
	return h;
}

/* ---- drawings ---- */

static avl_node_t *node_of(int k)
{
	return &pool[k].o_node;
}

static int key_of(const avl_node_t *n)
{
	return ((const obj_t *)((const char *)n - offsetof(obj_t, o_node)))
		->o_key;
}

/*
 * Link the subtree drawn at *s under parent; returns its root (NULL for
 * "-") and its height in *h.
 */
static avl_node_t *build_subtree(const char **s, avl_node_t *parent, int *h)
{
	avl_node_t *n;
	int hl, hr;
	char *end;
	long k;

	if (**s == '-') {
		(*s)++;
		*h = 0;
		return NULL;
	}
	k = strtol(*s, &end, 10);
	if (end == *s || k < 0 || k >= POOL)
		flunk("build: bad drawing at \"%s\"", *s);
	*s = end;
	n = node_of((int)k);
	*n = (avl_node_t){ .avl_parent = parent };
	tree.avl_numnodes++;
	hl = hr = 0;
	if (**s == '(') {
		(*s)++;
		n->avl_child[0] = build_subtree(s, n, &hl);
		if (*(*s)++ != ',')
			flunk("build: ',' expected before \"%s\"", *s - 1);
		n->avl_child[1] = build_subtree(s, n, &hr);
		if (*(*s)++ != ')')
			flunk("build: ')' expected before \"%s\"", *s - 1);
	}
	n->avl_balance = hr - hl;
	*h = 1 + MAX(hl, hr);
	return n;
}

/* Make the tree the one drawn, which must be a valid AVL tree. */
static void build(const char *drawing)
{
	const char *s = drawing;
	int h;

	tree.avl_numnodes = 0;
	tree.avl_root = build_subtree(&s, NULL, &h);
	if (*s != '\0')
		flunk("build: junk after the drawing: \"%s\"", s);
	verified(drawing);
}

struct sbuf {
	char b[1024];
	size_t len;
};

static void shape_subtree(struct sbuf *sb, const avl_node_t *n)
{
	size_t room = sizeof(sb->b) - sb->len;

	if (n == NULL) {
		sb->len += (size_t)libc_snprintf(sb->b + sb->len, room, "-");
		return;
	}
	sb->len += (size_t)libc_snprintf(sb->b + sb->len, room, "%d",
					 key_of(n));
	if (n->avl_child[0] == NULL && n->avl_child[1] == NULL)
		return;
	sb->len += (size_t)libc_snprintf(sb->b + sb->len,
					 sizeof(sb->b) - sb->len, "(");
	shape_subtree(sb, n->avl_child[0]);
	sb->len += (size_t)libc_snprintf(sb->b + sb->len,
					 sizeof(sb->b) - sb->len, ",");
	shape_subtree(sb, n->avl_child[1]);
	sb->len += (size_t)libc_snprintf(sb->b + sb->len,
					 sizeof(sb->b) - sb->len, ")");
}

/*
 * The tree must be valid and drawn exactly as want. Balance factors are
 * not in a drawing, but avl_verify() holds them to the heights it shows.
 */
static void expect_shape(const char *what, const char *want)
{
	static struct sbuf sb;

	sb.len = 0;
	sb.b[0] = '\0';
	shape_subtree(&sb, tree.avl_root);
	if (libc_strcmp(sb.b, want) != 0)
		flunk("%s: the tree is %s, should be %s", what, sb.b, want);
	verified(what);
}

/* Draw before, add key k, expect after. */
static void add_case(const char *before, int k, const char *after)
{
	char what[128];

	build(before);
	libc_snprintf(what, sizeof(what), "%s, add %d", before, k);
	avl_add(&tree, &pool[k]);
	expect_shape(what, after);
}

/* Draw before, remove key k, expect after; every other object stays. */
static void remove_case(const char *before, int k, const char *after)
{
	unsigned long n;
	char what[128];

	build(before);
	n = avl_numnodes(&tree);
	libc_snprintf(what, sizeof(what), "%s, remove %d", before, k);
	avl_remove(&tree, &pool[k]);
	expect_shape(what, after);
	if (avl_numnodes(&tree) != n - 1)
		flunk("%s: %lu nodes, should be %lu", what,
		      avl_numnodes(&tree), n - 1);
	for (int j = 0; j < POOL; j++)
		assert_int_equal(pool[j].o_magic, OBJ_MAGIC);
}

/* ---- unit tests ---- */

/* An empty tree: every query answers "nothing". */
static void empty_tree(void **state)
{
	obj_t k = key(5);
	avl_index_t where = 12345;

	(void)state;
	assert_true(avl_is_empty(&tree));
	assert_int_equal(avl_numnodes(&tree), 0);
	assert_null(avl_first(&tree));
	assert_null(avl_last(&tree));
	assert_null(avl_find(&tree, &k, NULL));
	assert_null(avl_find(&tree, &k, &where));
	assert_int_equal(where, 0); /* no node; empty-tree insert */
	assert_null(avl_nearest(&tree, where, AVL_BEFORE));
	assert_null(avl_nearest(&tree, where, AVL_AFTER));
	assert_int_equal(avl_verify(&tree), 0);
	avl_destroy(&tree);
}

/* One node: it is first, last, found; alone in both directions. */
static void one_node(void **state)
{
	obj_t k = key(7);

	(void)state;
	avl_add(&tree, &pool[7]);
	assert_false(avl_is_empty(&tree));
	assert_int_equal(avl_numnodes(&tree), 1);
	assert_ptr_equal(avl_find(&tree, &k, NULL), &pool[7]);
	assert_ptr_equal(avl_first(&tree), &pool[7]);
	assert_ptr_equal(avl_last(&tree), &pool[7]);
	assert_null(AVL_NEXT(&tree, &pool[7]));
	assert_null(AVL_PREV(&tree, &pool[7]));
	assert_int_equal(verified("one node"), 1);
	avl_remove(&tree, &pool[7]);
	assert_true(avl_is_empty(&tree));
	assert_null(tree.avl_root);
	assert_null(avl_find(&tree, &k, NULL));
	assert_int_equal(verified("one removed"), 0);
	avl_destroy(&tree);
}

/* avl_insert() at the place a failed avl_find() named. */
static void insert_where_find_missed(void **state)
{
	static const int keys[] = { 50, 20, 80, 10, 30, 90, 25 };
	avl_index_t where;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		obj_t k = key(keys[i]);

		assert_null(avl_find(&tree, &k, &where));
		avl_insert(&tree, &pool[keys[i]], where);
		verified("insert at where");
		assert_ptr_equal(avl_find(&tree, &k, NULL), &pool[keys[i]]);
	}
	assert_int_equal(avl_numnodes(&tree), ARRAY_SIZE(keys));
	expect_shape("seven inserted", "50(20(10,30(25,-)),80(-,90))");
}

/*
 * Two and three nodes, each insertion order that needs a rotation at the
 * root: RR and LL need a single one, LR and RL a double one.
 */
static void insert_rotations_small(void **state)
{
	(void)state;
	add_case("1", 2, "1(-,2)");
	add_case("2", 1, "2(1,-)");
	add_case("1(-,2)", 3, "2(1,3)"); /* RR */
	add_case("3(2,-)", 1, "2(1,3)"); /* LL */
	add_case("3(1,-)", 2, "2(1,3)"); /* LR */
	add_case("1(-,3)", 2, "2(1,3)"); /* RL */
	add_case("2(1,-)", 3, "2(1,3)"); /* fills the gap: no rotation */
}

/*
 * Rotations below the root, and double rotations where the middle node g
 * leans (in the three-node cases it is a leaf): the balance factors p and
 * c end with depend on which way g leaned.
 */
static void insert_rotations_deep(void **state)
{
	(void)state;
	/* LL and RR one level down; the root only changes its lean. */
	add_case("50(30(20,-),80(70,90))", 10, "50(20(10,30),80(70,90))");
	add_case("50(20(10,30),80(-,90))", 95, "50(20(10,30),90(80,95))");
	/* LL and RR at the root with subtrees that move across. */
	add_case("50(30(20,40),80)", 10, "30(20(10,-),50(40,80))");
	add_case("20(10,40(30,50))", 60, "40(20(10,30),50(-,60))");
	/* LR: g = 40 leans right, then left. */
	add_case("50(30(20,40),80)", 45, "40(30(20,-),50(45,80))");
	add_case("50(30(20,40),80)", 35, "40(30(20,35),50(-,80))");
	/* RL: g = 30 leans left, then right. */
	add_case("20(10,40(30,50))", 25, "30(20(10,25),40(-,50))");
	add_case("20(10,40(30,50))", 35, "30(20(10,-),40(35,50))");
	/* The rotation one level down stops the climb: the root keeps
	 * its lean and its shape. */
	add_case("50(20(10,30),80(70,-))", 75, "50(20(10,30),75(70,80))");
}

/* Removing a leaf, a node with one child, the root. */
static void remove_simple(void **state)
{
	(void)state;
	remove_case("2(1,3)", 3, "2(1,-)");
	remove_case("2(1,3)", 1, "2(-,3)");
	remove_case("2(1,3(-,4))", 3, "2(1,4)");
	remove_case("3(2(1,-),4)", 2, "3(1,4)");
	remove_case("1(-,2)", 1, "2");
	remove_case("2(1,-)", 2, "1");
	remove_case("5", 5, "-");
}

/*
 * Removing a node with two children: its in-order neighbour takes its
 * place, from the taller side (either when level), as a relinked node.
 */
static void remove_two_children(void **state)
{
	(void)state;
	/* The neighbour is the node's own child. */
	remove_case("2(1,3)", 2, "1(-,3)");
	remove_case("2(1,3(-,4))", 2, "3(1,4)");
	remove_case("3(2(1,-),4)", 3, "2(1,4)");
	/* The neighbour is deeper, and its own child moves up. */
	remove_case("4(2(1,3),6(5,7))", 4, "3(2(1,-),6(5,7))");
	remove_case("3(1,5(4,6))", 3, "4(1,5(-,6))");
	remove_case("6(2(1,4(3,5)),8(7,9))", 6,
		    "5(2(1,4(3,-)),8(7,9))");
	/* Not the root: the parent's link is moved to the neighbour. */
	remove_case("8(4(2,6),10(9,-))", 4, "8(2(-,6),10(9,-))");
	remove_case("10(6(4(3,5),8(7,9)),12(11,13))", 6,
		    "10(5(4(3,-),8(7,9)),12(11,13))");
}

/* Removals that need each rotation, single and double. */
static void remove_rotations(void **state)
{
	(void)state;
	remove_case("2(1,3(-,4))", 1, "3(2,4)");      /* RR */
	remove_case("3(2(1,-),4)", 4, "2(1,3)");      /* LL */
	remove_case("3(1(-,2),4)", 4, "2(1,3)");      /* LR */
	remove_case("2(1,4(3,-))", 1, "3(2,4)");      /* RL */
	/* RR and LL over a balanced child: only a removal meets it, and
	 * the subtree keeps its height, leaning the other way. */
	remove_case("2(1,4(3,5))", 1, "4(2(-,3),5)");
	remove_case("4(2(1,3),5)", 5, "2(1,4(3,-))");
	/* Double rotations whose middle node leans. */
	remove_case("5(2(1,-),8(7(6,-),9))", 1, "7(5(2,6),8(-,9))");
	remove_case("5(2(1,-),8(6(-,7),9))", 1, "6(5(2,-),8(7,9))");
	remove_case("5(2(1,4(3,-)),8(-,9))", 9, "4(2(1,3),5(-,8))");
	remove_case("5(2(1,3(-,4)),8(-,9))", 9, "3(2(1,-),5(4,8))");
}

/*
 * A removal that needs a rotation on two levels: the right subtree
 * rotates and comes out one level shorter, which tips the root.
 */
static void remove_rotation_cascades(void **state)
{
	(void)state;
	remove_case("8(5(3(2(1,-),4),7(6,-)),11(10(9,-),12))", 12,
		    "5(3(2(1,-),4),8(7(6,-),10(9,11)))");
	/* Removing the node with two children takes the same path. */
	remove_case("8(5(3(2(1,-),4),7(6,-)),11(10(9,-),12))", 11,
		    "5(3(2(1,-),4),8(7(6,-),10(9,12)))");
}

/* In-order walks both ways, from first to last and back. */
static void walk_both_directions(void **state)
{
	static const char *const drawings[] = {
		"8(4(2(1,3),6(5,7)),12(10(9,11),14(13,15)))",
		"8(5(3(2(1,-),4),7(6,-)),11(10(9,-),12))",
		"10(6(4(3,5),8(7,9)),12(11,13))",
	};

	(void)state;
	for (size_t d = 0; d < ARRAY_SIZE(drawings); d++) {
		unsigned long n;
		obj_t *o, *prev;

		setup(NULL);
		build(drawings[d]);
		n = 0;
		prev = NULL;
		for (o = avl_first(&tree); o != NULL; o = AVL_NEXT(&tree, o)) {
			if (prev != NULL && prev->o_key >= o->o_key)
				flunk("%s: %d comes after %d", drawings[d],
				      o->o_key, prev->o_key);
			prev = o;
			n++;
		}
		assert_int_equal(n, avl_numnodes(&tree));
		assert_ptr_equal(prev, avl_last(&tree));
		n = 0;
		prev = NULL;
		for (o = avl_last(&tree); o != NULL; o = AVL_PREV(&tree, o)) {
			if (prev != NULL && prev->o_key <= o->o_key)
				flunk("%s: %d comes before %d, walking back",
				      drawings[d], o->o_key, prev->o_key);
			prev = o;
			n++;
		}
		assert_int_equal(n, avl_numnodes(&tree));
		assert_ptr_equal(prev, avl_first(&tree));
	}
}

/* avl_nearest() for a missing key k must give want_before, want_after. */
static void expect_nearest(int k, int want_before, int want_after)
{
	obj_t v = key(k);
	avl_index_t where;
	obj_t *before, *after;

	if (avl_find(&tree, &v, &where) != NULL)
		flunk("key %d should be missing", k);
	before = avl_nearest(&tree, where, AVL_BEFORE);
	after = avl_nearest(&tree, where, AVL_AFTER);
	if ((before == NULL ? -1 : before->o_key) != want_before ||
	    (after == NULL ? -1 : after->o_key) != want_after)
		flunk("nearest to %d: before %d, after %d; should be %d and "
		      "%d (-1: none)", k, before == NULL ? -1 : before->o_key,
		      after == NULL ? -1 : after->o_key, want_before,
		      want_after);
}

/* The neighbours of a missing key: inside, below the first, past the last. */
static void nearest_both_sides(void **state)
{
	(void)state;
	build("40(20(10,30),60(50,70))");
	expect_nearest(5, -1, 10);
	expect_nearest(75, 70, -1);
	expect_nearest(15, 10, 20); /* left slot of a leaf */
	expect_nearest(25, 20, 30); /* right slot of a leaf... */
	expect_nearest(35, 30, 40); /* ...whose successor is the root */
	expect_nearest(45, 40, 50);
	expect_nearest(65, 60, 70);
	build("40(20,-)");
	expect_nearest(30, 20, 40);
	expect_nearest(50, 40, -1);
	expect_nearest(10, -1, 20);
}

static void add_pool_obj(void *arg)
{
	avl_add(&tree, arg);
}

/* Adding an object equal to one in the tree panics, naming avl_add. */
static void duplicate_add_panics(void **state)
{
	static obj_t twin = { .o_magic = OBJ_MAGIC, .o_key = 20 };
	const char *msg;

	(void)state;
	build("20(10,30)");
	msg = must_panic(add_pool_obj, &twin, "avl_add of a duplicate");
	if (strstr(msg, "avl_add") == NULL)
		flunk("panic \"%s\" should name avl_add", msg);
	expect_shape("after the refused add", "20(10,30)");
}

static int sloppy_compar(const void *a, const void *b)
{
	return ((const obj_t *)a)->o_key - ((const obj_t *)b)->o_key;
}

static void find_40(void *arg)
{
	obj_t k = key(40);

	(void)avl_find(arg, &k, NULL);
}

/* A comparator that returns a - b, not -1/0/1, is caught at once. */
static void comparator_must_return_unit(void **state)
{
	const char *msg;

	(void)state;
	build("20(10,30)");
	tree.avl_compar = sloppy_compar;
	msg = must_panic(find_40, &tree, "avl_find with a - b comparator");
	if (strstr(msg, "avl_find") == NULL)
		flunk("panic \"%s\" should name avl_find", msg);
}

/*
 * avl_verify() itself: each invariant broken on its own must be reported,
 * or every test above that trusts it could pass a broken tree.
 */
static void verify_catches_each_broken_invariant(void **state)
{
	static const char *const good = "4(2(1,3),6(5,7))";

	(void)state;
	build(good);
	node_of(6)->avl_balance = 1; /* heights say 0 */
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "balance"));

	/* Factors that match the heights, one out of range: 2(-,5(-,6)). */
	build("2(1,5)");
	node_of(2)->avl_child[0] = NULL;
	node_of(5)->avl_child[1] = node_of(6);
	*node_of(6) = (avl_node_t){ .avl_parent = node_of(5) };
	node_of(5)->avl_balance = 1;
	node_of(2)->avl_balance = 2;
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "balance 2"));

	build(good);
	node_of(5)->avl_parent = node_of(4); /* should be 6 */
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "parent"));

	build(good);
	pool[3].o_key = 9; /* out of order, between 2 and 4 */
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "not smaller"));
	pool[3].o_key = 3;

	build(good);
	tree.avl_numnodes++;
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "counted"));

	build(good);
	node_of(7)->avl_child[0] = node_of(4); /* a cycle */
	assert_int_equal(avl_verify(&tree), -1);
	assert_non_null(strstr(kprintf_msg, "parent"));
}

/* ---- size and comparisons ---- */

#define BIG 10000
/*
 * An AVL tree of n nodes is at most 1.44 log2(n + 2) levels tall (avl.c,
 * section 1), and a search compares at most once per level: with
 * log2(10002) = 13.288, at most 1.44 * 13.288 + 2 = 21.1 comparisons.
 */
#define BIG_MAX_COMPARES 21

/* One find of key k in the big tree; how many comparisons it made. */
static unsigned long compares_to_find(int k, obj_t *want)
{
	obj_t v = key(k);
	avl_index_t where;
	void *got;

	ncompar = 0;
	got = avl_find(&tree, &v, &where);
	if (got != want)
		flunk("find %d: %p, should be %p", k, got, (void *)want);
	return ncompar;
}

/*
 * 10,000 objects added in ascending order (the worst case for a tree that
 * does not balance: a list) and in random order; every hit and every miss
 * stays within the AVL bound, and removing all but a few keeps it.
 */
static void big_tree_lookups_are_logarithmic(void **state)
{
	static obj_t big[BIG];
	static int order[BIG];
	struct test_rng rng = { .x = test_seed() };
	unsigned long worst = 0;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < BIG; i++)
			order[i] = i;
		for (int i = BIG - 1; pass == 1 && i > 0; i--) {
			int j = (int)test_rng_below(&rng, (uint64_t)i + 1);
			int x = order[i];

			order[i] = order[j];
			order[j] = x;
		}
		for (int i = 0; i < BIG; i++) {
			big[order[i]] = (obj_t){ .o_magic = OBJ_MAGIC,
						 .o_key = 2 * order[i] };
			avl_add(&tree, &big[order[i]]);
		}
		assert_true(verified("10,000 added") <= BIG_MAX_COMPARES);
		for (int i = 0; i < BIG; i++) {
			worst = MAX(worst, compares_to_find(2 * i, &big[i]));
			worst = MAX(worst, compares_to_find(2 * i + 1, NULL));
		}
		if (worst > BIG_MAX_COMPARES)
			flunk("pass %d: a lookup made %lu comparisons; at most "
			      "%d in an AVL tree of %d", pass, worst,
			      BIG_MAX_COMPARES, BIG);
		print_message("pass %d (%s order): height %d, at most %lu "
			      "comparisons per lookup\n", pass,
			      pass == 0 ? "ascending" : "random",
			      avl_verify(&tree), worst);
		for (int i = 0; i < BIG; i++)
			avl_remove(&tree, &big[order[i]]);
		assert_true(avl_is_empty(&tree));
	}
	avl_destroy(&tree);
}

/* ---- the model ---- */

/*
 * Two runs: keys 0 .. 39, where operations collide all the time, then
 * keys 0 .. POOL - 1, where the tree grows tall enough (7 or 8 levels)
 * for a removal to rotate on several levels at once.
 */
#define RUN_OPS 4000
#define RUN_PHASE 400 /* ops between changes of the insert bias */
static const int run_keys[] = { 40, POOL };

/* The model: the keys in the tree, sorted. */
static struct {
	int key[POOL];
	int n;
} model;

static struct {
	uint64_t seed;
	struct test_rng rng;
	int nkeys; /* keys 0 .. nkeys - 1 */
	int step;
	char op[96]; /* the step's operation, for the failure message */
} run;

__attribute__((noreturn, format(printf, 1, 2))) static void
run_flunk(const char *fmt, ...)
{
	char why[320];
	va_list ap;

	va_start(ap, fmt);
	libc_vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	flunk("random run: seed %lu (TEST_SEED=%lu replays), %d keys, step %d, "
	      "%s: %s", run.seed, run.seed, run.nkeys, run.step, run.op, why);
}

/* Where k is in the model, or where it would go (as a negative: -1 - i). */
static int model_find(int k)
{
	int i = 0;

	while (i < model.n && model.key[i] < k)
		i++;
	return i < model.n && model.key[i] == k ? i : -1 - i;
}

static void model_insert(int k)
{
	int i = -1 - model_find(k);

	for (int j = model.n; j > i; j--)
		model.key[j] = model.key[j - 1];
	model.key[i] = k;
	model.n++;
}

static void model_remove(int k)
{
	int i = model_find(k);

	model.n--;
	for (int j = i; j < model.n; j++)
		model.key[j] = model.key[j + 1];
}

/* The tree must be valid and hold exactly the model's keys, both ways. */
static void run_check(void)
{
	obj_t *o;
	int i;

	if (avl_verify(&tree) < 0)
		run_flunk("%s", kprintf_msg);
	if (avl_numnodes(&tree) != (unsigned long)model.n)
		run_flunk("%lu nodes, the model has %d", avl_numnodes(&tree),
			  model.n);
	for (i = 0, o = avl_first(&tree); o != NULL; o = AVL_NEXT(&tree, o))
		if (i >= model.n || o != &pool[model.key[i++]])
			run_flunk("walking forward, object %d is key %d",
				  i - 1, o->o_key);
	for (i = model.n, o = avl_last(&tree); o != NULL;
	     o = AVL_PREV(&tree, o))
		if (i <= 0 || o != &pool[model.key[--i]])
			run_flunk("walking back, object %d is key %d", i,
				  o->o_key);
}

/* Look up k and its neighbours; compare with the model. */
static void run_find(int k)
{
	obj_t v = key(k);
	avl_index_t where;
	obj_t *got = avl_find(&tree, &v, &where), *b, *a;
	int i = model_find(k);

	if (i >= 0) {
		if (got != &pool[k])
			run_flunk("found %p, should be key %d's object",
				  (void *)got, k);
		return;
	}
	if (got != NULL)
		run_flunk("found key %d, which is not in the tree", got->o_key);
	i = -1 - i;
	b = avl_nearest(&tree, where, AVL_BEFORE);
	a = avl_nearest(&tree, where, AVL_AFTER);
	if (b != (i > 0 ? &pool[model.key[i - 1]] : NULL))
		run_flunk("nearest before is %d, should be %d",
			  b == NULL ? -1 : b->o_key,
			  i > 0 ? model.key[i - 1] : -1);
	if (a != (i < model.n ? &pool[model.key[i]] : NULL))
		run_flunk("nearest after is %d, should be %d",
			  a == NULL ? -1 : a->o_key,
			  i < model.n ? model.key[i] : -1);
}

/* One random operation: insert (through find + insert), remove or find. */
static void run_step(void)
{
	static const unsigned insert_pct[] = { 80, 50, 20, 65, 35, 95, 5 };
	unsigned pct = insert_pct[run.step / RUN_PHASE %
				  ARRAY_SIZE(insert_pct)];
	int k = (int)test_rng_below(&run.rng, (uint64_t)run.nkeys);
	unsigned r = (unsigned)test_rng_below(&run.rng, 100);
	obj_t v = key(k);
	avl_index_t where;

	if (r < 30) {
		libc_snprintf(run.op, sizeof(run.op), "find %d", k);
		run_find(k);
	} else if (r - 30 < pct * 70 / 100) {
		libc_snprintf(run.op, sizeof(run.op), "insert %d", k);
		if (avl_find(&tree, &v, &where) == NULL) {
			avl_insert(&tree, &pool[k], where);
			model_insert(k);
		}
	} else {
		libc_snprintf(run.op, sizeof(run.op), "remove %d", k);
		if (model_find(k) >= 0) {
			avl_remove(&tree, &pool[k]);
			model_remove(k);
		}
	}
}

/*
 * Seeded random inserts, removes, finds and nearest-neighbour queries, in
 * phases from filling to draining, with the whole tree checked against
 * the sorted model after every step. Catches what the drawn cases above
 * cannot enumerate: any rotation or relinking bug that some sequence of
 * operations reaches.
 */
static void random_ops_match_the_model(void **state)
{
	(void)state;
	run.seed = test_seed();
	run.rng.x = run.seed;
	print_message("random run: seed %lu (TEST_SEED=<seed> to replay)\n",
		      run.seed);
	for (size_t r = 0; r < ARRAY_SIZE(run_keys); r++) {
		int height = 0;

		run.nkeys = run_keys[r];
		for (run.step = 0; run.step < RUN_OPS; run.step++) {
			run_step();
			run_check();
			height = MAX(height, avl_verify(&tree));
		}
		while (model.n > 0) {
			libc_snprintf(run.op, sizeof(run.op), "drain %d",
				      model.key[0]);
			avl_remove(&tree, &pool[model.key[0]]);
			model_remove(model.key[0]);
			run_check();
		}
		print_message("random run: %d keys, %d steps, tallest tree "
			      "%d levels\n", run.nkeys, RUN_OPS, height);
	}
	avl_destroy(&tree);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(empty_tree),
		T(one_node),
		T(insert_where_find_missed),
		T(insert_rotations_small),
		T(insert_rotations_deep),
		T(remove_simple),
		T(remove_two_children),
		T(remove_rotations),
		T(remove_rotation_cascades),
		T(walk_both_directions),
		T(nearest_both_sides),
		T(duplicate_add_panics),
		T(comparator_must_return_unit),
		T(verify_catches_each_broken_invariant),
		T(big_tree_lookups_are_logarithmic),
		T(random_ops_match_the_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
