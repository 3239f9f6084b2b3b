/*
 * spinlock.c — test-and-test-and-set spinlocks with an owner, and the
 * lock-order checker (spinlock.h).
 *
 * The lock word is taken with an atomic exchange; while it is held the
 * waiter only reads it (pause), so the cache line is not bounced between
 * CPUs by writes. Acquisition is a full barrier (xchg), release is a store
 * after a compiler barrier, which x86's ordering makes enough.
 *
 * The checker runs before the first exchange: a CPU about to break the
 * order panics whether or not the lock happens to be free, so a rare
 * deadlock shows up as a certain panic in any test that takes the path.
 */
#include <cpuvar.h>
#include <kernel.h>
#include <spinlock.h>

/* Spins before a lock counts as held too long: far more than any critical
 * section takes, even under TCG; a stuck holder is a bug to report. */
#define SPIN_LIMIT 200000000UL

void spin_init(spinlock_t *lk, const char *name, enum lock_rank rank)
{
	ASSERT(name != NULL);
	lk->sl_locked = 0;
	lk->sl_owner = -1;
	lk->sl_name = name;
	lk->sl_rank = rank;
}

/* Would this CPU break the lock order by taking lk now? Panics if so. */
static void spin_order_check(const struct cpu *c, const spinlock_t *lk)
{
	for (int i = 0; i < c->cpu_nlocks; i++) {
		const spinlock_t *h = c->cpu_locks[i];

		if (h->sl_rank < lk->sl_rank ||
		    (h->sl_rank == lk->sl_rank && h < lk))
			continue;
		panic("spin_lock: lock order: cpu%d takes %s (rank %d%s) "
		      "while holding %s (rank %d)", c->cpu_id, lk->sl_name,
		      lk->sl_rank, h->sl_rank == lk->sl_rank ?
		      ", same class, lower address" : "", h->sl_name,
		      h->sl_rank);
	}
}

static void spin_push(struct cpu *c, const spinlock_t *lk)
{
	if (c->cpu_nlocks == CPU_MAXLOCKS)
		panic("spin_lock: cpu%d holds %d locks, taking %s",
		      c->cpu_id, CPU_MAXLOCKS, lk->sl_name);
	c->cpu_locks[c->cpu_nlocks++] = lk;
}

/* Locks may be released in any order: remove lk wherever it sits. */
static void spin_pop(struct cpu *c, const spinlock_t *lk)
{
	for (int i = c->cpu_nlocks - 1; i >= 0; i--) {
		if (c->cpu_locks[i] != lk)
			continue;
		for (int j = i; j + 1 < c->cpu_nlocks; j++)
			c->cpu_locks[j] = c->cpu_locks[j + 1];
		c->cpu_nlocks--;
		return;
	}
	panic("spin_unlock: %s is not on cpu%d's held-lock stack",
	      lk->sl_name, c->cpu_id);
}

void spin_lock(spinlock_t *lk)
{
	struct cpu *c = curcpu();
	uint64_t spins = 0;

	ASSERT(lk->sl_name != NULL);
	if (lk->sl_locked && lk->sl_owner == c->cpu_id)
		panic("spin_lock: recursive acquisition of %s on cpu%d",
		      lk->sl_name, c->cpu_id);
	spin_order_check(c, lk);
	while (__atomic_exchange_n(&lk->sl_locked, 1, __ATOMIC_ACQUIRE)) {
		/*
		 * Never wait deaf to a shootdown (tlb.h): marked as polling,
		 * this CPU serves requests from the loop, and no IPI is left
		 * pending behind its disabled interrupts.
		 */
		__atomic_store_n(&c->cpu_tlb_polling, 1, __ATOMIC_SEQ_CST);
		while (lk->sl_locked) {
			if (c->cpu_tlb_pending != 0)
				tlb_serve();
			__asm__ volatile("pause");
			if (++spins == SPIN_LIMIT)
				panic("spin_lock: %s held too long by cpu%d "
				      "(cpu%d waiting)", lk->sl_name,
				      lk->sl_owner, c->cpu_id);
		}
		/* Unmarked, then a last look (tlb_poll_pause's order). */
		__atomic_store_n(&c->cpu_tlb_polling, 0, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->cpu_tlb_pending, __ATOMIC_SEQ_CST) != 0)
			tlb_serve();
	}
	lk->sl_owner = c->cpu_id;
	spin_push(c, lk);
}

bool spin_trylock(spinlock_t *lk)
{
	struct cpu *c = curcpu();

	ASSERT(lk->sl_name != NULL);
	if (lk->sl_locked ||
	    __atomic_exchange_n(&lk->sl_locked, 1, __ATOMIC_ACQUIRE))
		return false;
	lk->sl_owner = c->cpu_id;
	/* No order check: a trylock never waits, so it cannot deadlock. */
	spin_push(c, lk);
	return true;
}

void spin_unlock(spinlock_t *lk)
{
	struct cpu *c = curcpu();

	if (!spin_held(lk))
		panic("spin_unlock: %s is not held by cpu%d", lk->sl_name,
		      c->cpu_id);
	spin_pop(c, lk);
	lk->sl_owner = -1;
	__atomic_store_n(&lk->sl_locked, 0, __ATOMIC_RELEASE);
}

bool spin_held(const spinlock_t *lk)
{
	return lk->sl_locked && lk->sl_owner == curcpu()->cpu_id;
}

int spin_nheld(void)
{
	return curcpu()->cpu_nlocks;
}
