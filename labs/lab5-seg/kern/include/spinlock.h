/*
 * spinlock.h — mutual exclusion between CPUs (lab 4 on).
 *
 * A spinlock records which CPU holds it. Taking a lock this CPU already
 * holds is a bug that would spin forever, so it panics at once; a lock
 * held for longer than any critical section should take panics too,
 * naming the lock and its owner.
 */
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct spinlock {
	volatile uint32_t sl_locked;
	int sl_owner; /* cpu_id of the holder, -1 when free */
	const char *sl_name;
} spinlock_t;

#define SPINLOCK_INIT(name) { 0, -1, name }

void spin_lock(spinlock_t *lk);
/* Take lk if it is free, without waiting; true if taken. */
bool spin_trylock(spinlock_t *lk);
void spin_unlock(spinlock_t *lk);
/* Does this CPU hold lk? (for ASSERTs in functions that need it held) */
bool spin_held(const spinlock_t *lk);

#endif /* SPINLOCK_H */
