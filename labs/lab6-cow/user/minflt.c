/*
 * minflt — demand paging as a process sees it (man 2 getrusage, mmap):
 * anonymous memory reads as zero, and each page costs one minor fault when
 * it is first touched, not when it is mapped. Lab 5's layer is what makes
 * this true on vmlab.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/utest.h"

#define PAGES 16                /* well under a 2 MiB huge page */

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

int main(void)
{
	long pg = sysconf(_SC_PAGESIZE), before, mapped, touched;
	unsigned char *p;
	int zero = 1;

	ut_plan(4);
	UT_CHECK(pg == 4096, "page_size_is_4k", "sysconf says %ld", pg);
	before = minflt();
	p = mmap(NULL, PAGES * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mapped = minflt();
	UT_CHECK(p != MAP_FAILED && mapped - before <= 1,
		 "mmap_allocates_nothing", "%ld faults in mmap", mapped - before);
	if (p == MAP_FAILED)
		ut_done();
	/*
	 * Write first, then read the rest of the page: a read first would
	 * cost Linux two faults (its shared zero page, then the copy).
	 */
	for (long i = 0; i < PAGES; i++) {
		p[i * pg + pg / 2] = (unsigned char)i;
		__asm__ volatile("" ::: "memory"); /* the store goes first */
		zero &= p[i * pg] == 0 && p[i * pg + pg - 1] == 0;
	}
	touched = minflt();
	UT_CHECK(zero, "anonymous_memory_reads_zero", "a byte was not 0");
	/* One fault per page; a fault in getrusage's own stack may add one. */
	UT_CHECK(touched - mapped >= PAGES && touched - mapped <= PAGES + 2,
		 "one_minor_fault_per_page_touched",
		 "%ld faults for %d pages", touched - mapped, PAGES);
	ut_done();
}
