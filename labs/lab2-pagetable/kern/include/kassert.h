/*
 * kassert.h — ASSERT() and panic(), the same in the kernel and in the host
 * tests (whose panic() fails the running cmocka test instead).
 *
 * ASSERT(e) states an invariant: if e is false the kernel panics with
 *
 *	panic[cpu0]: page_free_pages: assertion failed: pp != NULL (kern/mm/buddy.c:141)
 *
 * naming the function, the expression, the file and the line. It is on in
 * every build: this is a teaching kernel, and a broken invariant caught
 * where it breaks is worth far more than the few instructions it costs.
 *
 * A function whose caller must hold a lock says so on its first line:
 *
 *	ASSERT(spin_held(&z->z_lock));
 *
 * which is the executable form of the comment "(z_lock held)".
 */
#ifndef KASSERT_H
#define KASSERT_H

/*
 * Print "panic[cpuN]: message" and a symbolized backtrace, then power the
 * machine off with the panic status. Never returns.
 */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt,
							     ...);

#define ASSERT(e)                                                         \
	do {                                                              \
		if (__builtin_expect(!(e), 0))                            \
			panic("%s: assertion failed: %s (%s:%d)", __func__, \
			      #e, __FILE__, __LINE__);                    \
	} while (0)

/* Compile-time assertion, for layouts and constants. */
#define CTASSERT(e) _Static_assert(e, #e)

#endif /* KASSERT_H */
