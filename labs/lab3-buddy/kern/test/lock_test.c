/*
 * lock_test.c — the kit's own checks of ASSERT and the lock-order checker
 * (kassert.h, spinlock.h). No student code is graded here; later labs'
 * tests rely on these tools to turn deadlock-prone code into a panic that
 * names the locks.
 */
#include <cpuvar.h>
#include <kernel.h>
#include <ktest.h>
#include <spinlock.h>

static spinlock_t test_outer = SPINLOCK_INIT("test_outer", LR_TEST_OUTER);
static spinlock_t test_inner = SPINLOCK_INIT("test_inner", LR_TEST_INNER);
static spinlock_t test_pair[2] = {
	SPINLOCK_INIT("test_pair", LR_TEST_INNER),
	SPINLOCK_INIT("test_pair", LR_TEST_INNER),
};

/*
 * Locks taken in rank order, a same-class pair in address order, a
 * trylock against the order (it never waits, so it cannot deadlock), and
 * releases in any order: none of it panics, and the held-lock count
 * follows every step. Fails if the checker flags a legal nesting or loses
 * track of a lock.
 */
KTEST(lock, order_respected)
{
	int base = spin_nheld();

	spin_lock(&test_outer);
	spin_lock(&test_pair[0]);
	spin_lock(&test_pair[1]);
	EXPECT_EQ(spin_nheld(), base + 3);
	EXPECT_TRUE(spin_held(&test_pair[1]));
	spin_unlock(&test_pair[0]); /* out of order */
	spin_unlock(&test_pair[1]);
	EXPECT_EQ(spin_nheld(), base + 1);
	spin_unlock(&test_outer);

	spin_lock(&test_inner);
	ASSERT_TRUE(spin_trylock(&test_outer));
	EXPECT_FALSE(spin_trylock(&test_outer));
	spin_unlock(&test_outer);
	spin_unlock(&test_inner);
	EXPECT_EQ(spin_nheld(), base);
	EXPECT_FALSE(spin_held(&test_inner));
}

/* The grader expects this panic, naming both locks and their ranks. */
KTEST_EXPLICIT(lock, order_inversion_panics)
{
	spin_lock(&test_inner);
	spin_lock(&test_outer); /* rank 1 after rank 60: panics here */
	ktest_fail(__FILE__, __LINE__, "the inverted spin_lock returned");
	spin_unlock(&test_outer);
	spin_unlock(&test_inner);
}

/* Two locks of one class, the higher address first: panics. */
KTEST_EXPLICIT(lock, same_class_order_panics)
{
	spin_lock(&test_pair[1]);
	spin_lock(&test_pair[0]);
	ktest_fail(__FILE__, __LINE__, "the descending spin_lock returned");
	spin_unlock(&test_pair[0]);
	spin_unlock(&test_pair[1]);
}

/* An ASSERT that fails panics with its function, expression and place. */
KTEST_EXPLICIT(lock, assert_names_its_place)
{
	volatile int answer = 41;

	ASSERT(answer == 42);
	ktest_fail(__FILE__, __LINE__, "a false ASSERT returned");
}
