/*
 * spinlock.c — test-and-test-and-set spinlocks with an owner.
 *
 * The lock word is taken with an atomic exchange; while it is held the
 * waiter only reads it (pause), so the cache line is not bounced between
 * CPUs by writes. Acquisition is a full barrier (xchg), release is a store
 * after a compiler barrier, which x86's ordering makes enough.
 */
#include <cpu.h>
#include <kernel.h>
#include <spinlock.h>

/* Spins before a lock counts as held too long: far more than any critical
 * section takes, even under TCG; a stuck holder is a bug to report. */
#define SPIN_LIMIT 200000000UL

void spin_lock(spinlock_t *lk)
{
	int me = curcpu()->cpu_id;
	uint64_t spins = 0;

	if (lk->sl_locked && lk->sl_owner == me)
		panic("spin_lock: recursive acquisition of %s on cpu%d",
		      lk->sl_name, me);
	while (__atomic_exchange_n(&lk->sl_locked, 1, __ATOMIC_ACQUIRE)) {
		while (lk->sl_locked) {
			__asm__ volatile("pause");
			if (++spins == SPIN_LIMIT)
				panic("spin_lock: %s held too long by cpu%d "
				      "(cpu%d waiting)", lk->sl_name,
				      lk->sl_owner, me);
		}
	}
	lk->sl_owner = me;
}

bool spin_trylock(spinlock_t *lk)
{
	if (lk->sl_locked ||
	    __atomic_exchange_n(&lk->sl_locked, 1, __ATOMIC_ACQUIRE))
		return false;
	lk->sl_owner = curcpu()->cpu_id;
	return true;
}

void spin_unlock(spinlock_t *lk)
{
	if (!spin_held(lk))
		panic("spin_unlock: %s is not held by cpu%d", lk->sl_name,
		      curcpu()->cpu_id);
	lk->sl_owner = -1;
	__atomic_store_n(&lk->sl_locked, 0, __ATOMIC_RELEASE);
}

bool spin_held(const spinlock_t *lk)
{
	return lk->sl_locked && lk->sl_owner == curcpu()->cpu_id;
}
