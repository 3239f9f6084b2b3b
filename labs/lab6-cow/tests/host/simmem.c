/*
 * simmem.c — simulated physical memory, and the rest of the host kenv.h:
 * kpm_va(), kprintf() and panic(). See simmem.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sanitizer/asan_interface.h>

#include "simmem.h"

enum page_state { PAGE_UNUSED, PAGE_LIVE, PAGE_FREED };

static uint8_t *mem; /* SIMMEM_PAGES pages, mapped on first use */
static uint8_t state[SIMMEM_PAGES];
static size_t cursor; /* where the next-fit search starts */
static unsigned long allocs, frees;
static long fail_after = -1;
static void (*panic_hook)(void);

static uint8_t *page(size_t i)
{
	if (mem == NULL) {
		mem = mmap(NULL, (size_t)SIMMEM_PAGES * PAGESIZE,
			   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		if (mem == MAP_FAILED)
			abort();
	}
	return mem + i * PAGESIZE;
}

/* The index of the page that holds pa, or SIMMEM_PAGES if none does. */
static size_t page_index(uint64_t pa)
{
	if (pa < SIMMEM_BASE || pa - SIMMEM_BASE >= SIMMEM_PAGES * PAGESIZE)
		return SIMMEM_PAGES;
	return (pa - SIMMEM_BASE) / PAGESIZE;
}

void simmem_reset(void)
{
	for (size_t i = 0; i < SIMMEM_PAGES; i++)
		if (state[i] == PAGE_FREED)
			ASAN_UNPOISON_MEMORY_REGION(page(i), PAGESIZE);
	__builtin_memset(state, PAGE_UNUSED, sizeof(state));
	cursor = 0;
	allocs = frees = 0;
	fail_after = -1;
	panic_hook = NULL;
}

/* Hand out page i, zeroed. */
static uint64_t take(size_t i)
{
	state[i] = PAGE_LIVE;
	ASAN_UNPOISON_MEMORY_REGION(page(i), PAGESIZE);
	__builtin_memset(page(i), 0, PAGESIZE);
	cursor = (i + 1) % SIMMEM_PAGES;
	allocs++;
	if (fail_after > 0)
		fail_after--;
	return SIMMEM_BASE + i * PAGESIZE;
}

uint64_t simmem_alloc(void)
{
	if (fail_after == 0)
		return 0;
	for (size_t n = 0; n < SIMMEM_PAGES; n++) {
		size_t i = (cursor + n) % SIMMEM_PAGES;

		if (state[i] != PAGE_LIVE)
			return take(i);
	}
	return 0;
}

void simmem_free(uint64_t pa)
{
	size_t i = page_index(pa);

	if (i == SIMMEM_PAGES || pa % PAGESIZE != 0)
		panic("simmem_free: %#llx is not a simulated page",
		      (unsigned long long)pa);
	if (state[i] == PAGE_FREED)
		panic("simmem_free: %#llx freed twice", (unsigned long long)pa);
	if (state[i] == PAGE_UNUSED)
		panic("simmem_free: %#llx was never allocated",
		      (unsigned long long)pa);
	__builtin_memset(page(i), SIMMEM_POISON, PAGESIZE);
	ASAN_POISON_MEMORY_REGION(page(i), PAGESIZE);
	state[i] = PAGE_FREED;
	frees++;
}

bool simmem_is_live(uint64_t pa)
{
	size_t i = page_index(pa);

	return i < SIMMEM_PAGES && state[i] == PAGE_LIVE;
}

unsigned long simmem_allocs(void)
{
	return allocs;
}

unsigned long simmem_frees(void)
{
	return frees;
}

void simmem_fail_after(long after)
{
	fail_after = after;
}

void simmem_on_panic(void (*fn)(void))
{
	panic_hook = fn;
}

void *kpm_va(uint64_t pa)
{
	if (!simmem_is_live(pa))
		panic("kpm_va: %#llx is not in a page simmem handed out "
		      "(0, freed, or past the end)",
		      (unsigned long long)pa);
	return page(page_index(pa)) + pa % PAGESIZE;
}

int kprintf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return n;
}

void panic(const char *fmt, ...)
{
	va_list ap;

	if (panic_hook != NULL)
		panic_hook();
	va_start(ap, fmt);
	print_error("panic: ");
	vprint_error(fmt, ap);
	print_error("\n");
	va_end(ap);
	fail();
	abort(); /* fail() returns only when no test is running */
}
