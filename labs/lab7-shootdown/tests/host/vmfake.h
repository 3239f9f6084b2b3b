/*
 * vmfake.h — the page allocator and kmem, faked for host tests of kern/vm
 * (test_as, test_anon), over simmem's pages (simmem.h).
 *
 *	pages	page_alloc_pages() hands out single simmem pages full of
 *		0xdb (the buddy allocator does not zero either) and counts
 *		them by owner in pages_in_use[]: a leaked page shows in a
 *		count, a page used after it is freed panics in kpm_va()
 *	kmem	malloc, behind a header naming the cache and the size;
 *		kmem_live counts the objects handed out and not freed, and a
 *		free into the wrong cache, or with the wrong size, panics
 *
 * It also defines the kit's VM counters (vminfo, vmstat.c in the kernel),
 * which the anon layer bumps.
 */
#ifndef VMFAKE_H
#define VMFAKE_H

#include <kmem.h>
#include <page.h>

/* Pages handed out and not freed, by PG_OWNER(flags). */
extern long pages_in_use[PG_NOWNERS];
/* kmem objects handed out and not freed. */
extern long kmem_live;

/*
 * Before each test: every page_t blank, the counts at zero, and no
 * spinlock held. A test that failed inside kernel code (a panic or an
 * ASSERT ends the test where it is) may have left locks held; they are
 * released here, or the next test to take one would panic on a lock its
 * CPU already holds.
 */
void vmfake_reset(void);

#endif /* VMFAKE_H */
