/*
 * spinlock.h — mutual exclusion between CPUs, and the kernel's lock order.
 *
 * A spinlock records which CPU holds it. Taking a lock this CPU already
 * holds is a bug that would spin forever, so it panics at once; a lock
 * held for longer than any critical section should take panics too,
 * naming the lock and its owner.
 *
 * The lock order. Every lock belongs to a class with a rank (lock_rank
 * below); a CPU may take a lock only if every lock it already holds has a
 * lower rank. Two locks of one class (two CPUs' magazine locks, say) may
 * nest only in increasing address order. Each CPU keeps the stack of locks
 * it holds (struct cpu's cpu_locks), and spin_lock() checks the new lock
 * against it before it spins, so an inversion panics the first time it
 * happens, naming both locks,
 *
 *	spin_lock: lock order: cpu1 takes zone_lock (rank 50) while
 *	holding test_late (rank 60)
 *
 * instead of deadlocking on the day two CPUs take the pair in opposite
 * orders. The checker is on in every build, like ASSERT.
 */
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The kernel's lock order, outermost first. A file that nests locks
 * repeats its part of this order at its top.
 */
enum lock_rank {
	LR_TEST_OUTER = 1,   /* tests: a lock held across kernel calls */
	LR_PROC = 2,         /* pidlock: the process table and family (proc.h) */
	LR_AS = 3,           /* an address space's a_lock (as.h) */
	LR_ANONMAP = 4,      /* an anon_map's lock (anon.h) */
	LR_VNODE = 5,        /* a vnode's v_lock (vnode.h) */
	LR_PAGE_HASH = 6,    /* the page hash (page.h) */
	LR_ANON = 7,         /* the anon slots' reference counts (anon.h) */
	LR_HMENT = 8,        /* hment_lock: every page's mapping list (page.h) */
	LR_KMEM = 10,        /* kmem_lock: the list of caches (kmem.c) */
	LR_KMEM_CPU = 20,    /* a cache's per-CPU cc_lock */
	LR_KMEM_DEPOT = 30,  /* a cache's depot lock */
	LR_KMEM_SLAB = 40,   /* a cache's slab layer (cache_lock) */
	LR_PAGE_ZONE = 50,   /* a zone's free lists (buddy.c) */
	LR_DISP = 55,        /* disp_lock: run queue and thread states (thread.h) */
	LR_TEST_INNER = 60,  /* tests: a lock that nests nothing */
};

typedef struct spinlock {
	volatile uint32_t sl_locked;
	int sl_owner;           /* cpu_id of the holder, -1 when free */
	const char *sl_name;
	enum lock_rank sl_rank; /* its class's place in the lock order */
} spinlock_t;

#define SPINLOCK_INIT(name, rank) { 0, -1, name, rank }

/* Make lk a free lock called name, of the class ranked rank. */
void spin_init(spinlock_t *lk, const char *name, enum lock_rank rank);

/*
 * Take lk, spinning while another CPU holds it. Panics if this CPU holds
 * lk already, if taking it would break the lock order, if this CPU holds
 * CPU_MAXLOCKS locks, or if lk stays held past any reasonable time.
 */
void spin_lock(spinlock_t *lk);
/* Take lk if it is free, without waiting; true if taken. */
bool spin_trylock(spinlock_t *lk);
/* Release lk, which this CPU must hold (panics otherwise). */
void spin_unlock(spinlock_t *lk);
/* Does this CPU hold lk? (for ASSERTs in functions that need it held) */
bool spin_held(const spinlock_t *lk);
/* Spinlocks this CPU holds now (0 where no lock may be held). */
int spin_nheld(void);

#endif /* SPINLOCK_H */
