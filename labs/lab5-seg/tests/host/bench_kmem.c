/*
 * bench_kmem.c — kmem (kern/mm/kmem.c, over the real buddy allocator)
 * against glibc's malloc and jemalloc on the host: figures, never a
 * verdict (DESIGN.md section 6).
 *
 *  1. ns per alloc+free pair of a 64-byte object, at 1 thread and at 2
 *     (each thread its own loop of pairs, on its own CPU for kmem), and
 *     the 2-thread speed-up in pairs per second. Medians of RUNS runs.
 *  2. kmem's depot lock acquisitions per 1000 operations on one CPU, for
 *     a few patterns: deterministic, so a change in the magazine layer
 *     shows as a change in these numbers.
 *
 * jemalloc is Debian's libjemalloc2, whose malloc is not prefixed: linked,
 * it would replace glibc's malloc for the whole program. So it is opened
 * with dlopen(RTLD_LOCAL) and its mallocx/dallocx called through dlsym.
 * Its thread-local data is initial-exec, which glibc can place after
 * startup only in the static TLS it keeps spare, too little by default:
 * the benchmark then runs itself again with a larger spare
 * (glibc.rtld.optional_static_tls, a tunable read only at startup).
 *
 * Built -O2 without sanitizers (make bench); kmem_machine.h is the
 * simulated machine, panic() here simply aborts.
 */
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <kenv.h>
#include <kmem.h>
#include "kmem_machine.h"

#define OBJSIZE 64
#define PAIRS 2000000 /* per thread per run */
#define RUNS 7
#define NTHREADS 2

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

	va_start(ap, fmt);
	fprintf(stderr, "bench_kmem: panic: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* ---- the allocators, behind one interface ---- */

struct allocator {
	const char *name;
	void *(*alloc)(void);
	void (*free)(void *);
};

static kmem_cache_t *bench_cache;
static void *(*je_mallocx)(size_t, int);
static void (*je_dallocx)(void *, int);

static void *kmem_a(void)
{
	return kmem_cache_alloc(bench_cache, KM_NOSLEEP);
}

static void kmem_f(void *p)
{
	kmem_cache_free(bench_cache, p);
}

static void *glibc_a(void)
{
	return malloc(OBJSIZE);
}

static void glibc_f(void *p)
{
	free(p);
}

static void *je_a(void)
{
	return je_mallocx(OBJSIZE, 0);
}

static void je_f(void *p)
{
	je_dallocx(p, 0);
}

#define TLS_TUNABLE "glibc.rtld.optional_static_tls=65536"

/*
 * jemalloc's mallocx/dallocx, from its shared library; false if absent.
 * If glibc has no static TLS to spare for it, run argv again with more.
 */
static bool open_jemalloc(char **argv)
{
	void *h = dlopen("libjemalloc.so.2", RTLD_NOW | RTLD_LOCAL);
	const char *tun = getenv("GLIBC_TUNABLES");

	if (h == NULL && (tun == NULL || strstr(tun, TLS_TUNABLE) == NULL) &&
	    strstr(dlerror(), "static TLS") != NULL) {
		char env[512];

		libc_snprintf(env, sizeof(env), "%s%s" TLS_TUNABLE,
			      tun != NULL ? tun : "", tun != NULL ? ":" : "");
		setenv("GLIBC_TUNABLES", env, 1);
		execv("/proc/self/exe", argv);
	}
	if (h == NULL)
		return false;
	*(void **)&je_mallocx = dlsym(h, "mallocx");
	*(void **)&je_dallocx = dlsym(h, "dallocx");
	return je_mallocx != NULL && je_dallocx != NULL;
}

/* ---- timing ---- */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

struct job {
	const struct allocator *a;
	int cpu;
	pthread_t tid;
};

static pthread_barrier_t start;

/* PAIRS alloc+free pairs, each object touched so none is elided. */
static void *loop(void *arg)
{
	struct job *j = arg;

	machine_be_cpu(j->cpu);
	pthread_barrier_wait(&start);
	for (long i = 0; i < PAIRS; i++) {
		char *p = j->a->alloc();

		if (p == NULL)
			panic("%s: allocation failed", j->a->name);
		p[0] = (char)i;
		__asm__ volatile("" : : "r"(p) : "memory");
		j->a->free(p);
	}
	return NULL;
}

/* Wall ns for nthreads threads doing PAIRS pairs each. */
static double run(const struct allocator *a, int nthreads)
{
	struct job jobs[NTHREADS];
	double t0, t1;

	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (int i = 0; i < nthreads; i++) {
		jobs[i] = (struct job){ .a = a, .cpu = i };
		pthread_create(&jobs[i].tid, NULL, loop, &jobs[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (int i = 0; i < nthreads; i++)
		pthread_join(jobs[i].tid, NULL);
	t1 = now_ns();
	pthread_barrier_destroy(&start);
	return t1 - t0;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_run(const struct allocator *a, int nthreads)
{
	double t[RUNS];

	run(a, nthreads); /* warm-up: slabs, magazines, arenas */
	for (int r = 0; r < RUNS; r++)
		t[r] = run(a, nthreads);
	qsort(t, RUNS, sizeof(t[0]), by_value);
	return t[RUNS / 2];
}

/* ---- depot acquisitions ---- */

/* Depot acquisitions per 1000 operations of batches of n allocations
 * then n frees, on CPU 0 of a fresh 64-byte cache. */
static double depot_per_1000(int n)
{
	enum { OPS = 1000000, MAXBATCH = 1024 };
	static void *held[MAXBATCH];
	kmem_cache_t *cp = kmem_cache_create("bench_depot", OBJSIZE, 8, NULL,
					     NULL, NULL, NULL, NULL, 0);
	long ops = 0;
	double per;

	machine_be_cpu(0);
	while (ops < OPS) {
		for (int i = 0; i < n; i++)
			if ((held[i] = kmem_cache_alloc(cp, KM_NOSLEEP)) == NULL)
				panic("bench_depot: allocation failed");
		for (int i = 0; i < n; i++)
			kmem_cache_free(cp, held[i]);
		ops += 2L * n;
	}
	per = (double)cp->cache_depot_acquires * 1000.0 / (double)ops;
	kmem_cache_destroy(cp);
	return per;
}

int main(int argc, char **argv)
{
	struct allocator all[] = {
		{ "kmem", kmem_a, kmem_f },
		{ "glibc", glibc_a, glibc_f },
		{ "jemalloc", je_a, je_f },
	};
	int nall = open_jemalloc(argv) ? 3 : 2;
	static const int batches[] = { 1, 8, 16, 64, 256, 1024 };

	(void)argc;

	if (!machine_init(NTHREADS))
		panic("bench_kmem: no memory for the simulated machine");
	kmem_init();
	bench_cache = kmem_cache_create("bench_64", OBJSIZE, 8, NULL, NULL,
					NULL, NULL, NULL, 0);
	printf("bench_kmem: %d-byte alloc+free pairs, %d per thread, median "
	       "of %d runs\n", OBJSIZE, PAIRS, RUNS);
	printf("  %-10s %12s %12s %10s\n", "allocator", "1 thread", "2 threads",
	       "speed-up");
	for (int i = 0; i < nall; i++) {
		double t1 = median_run(&all[i], 1) / PAIRS;
		double t2 = median_run(&all[i], 2) / PAIRS;

		/* speed-up: pairs per second at 2 threads over 1 thread */
		printf("  %-10s %9.1f ns %9.1f ns %9.2fx\n", all[i].name, t1,
		       t2, 2.0 * t1 / t2);
	}
	if (nall < 3)
		printf("  jemalloc   (libjemalloc.so.2 did not load: "
		       "scripts/deps.sh installs it)\n");
	printf("  (ns per pair per thread; at 2 threads, wall time over the "
	       "pairs each thread made)\n");
	printf("bench_kmem: depot lock acquisitions per 1000 operations, one "
	       "CPU, batches of n allocs then n frees (magazines of %d)\n",
	       bench_cache->cache_magsize);
	for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++)
		printf("  n = %-5d %8.2f\n", batches[i],
		       depot_per_1000(batches[i]));
	return 0;
}
