/*
 * utest.h — how a vmlab user test program reports, on vmlab and on Linux.
 *
 * A user test program is a static musl binary that runs unchanged on the
 * host's Linux (make check) and on vmlab (a kernel test execs it, waits for
 * it and checks its exit status). Each check is one subtest, printed as a
 * KTAP result line:
 *
 *     ok 1 getpid_is_positive
 *     not ok 2 write_bad_pointer_efault
 *     # errno_test.c:41: write(1, 0x1, 1): got -1 errno 22 (EINVAL), want EFAULT
 *
 * The kernel harness shows these lines inside its own test's KTAP block, as
 * diagnostics, so a failure names the subtest that broke. The exit status is
 * 0 when every subtest passed, UT_FAILED (1) otherwise, and UT_SKIPPED (77,
 * automake's convention) when the program cannot run here at all: it then
 * prints one line saying why ("# skip: ...").
 *
 * Output goes through stdio, so it is musl's real printf that the kernel's
 * write() and writev() carry. ut_done() flushes it.
 */
#ifndef VMLAB_UTEST_H
#define VMLAB_UTEST_H

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define UT_FAILED 1
#define UT_SKIPPED 77

static int ut_count, ut_failures;

/* Nanoseconds of CLOCK_MONOTONIC: for deadlines on waits. */
static inline long ut_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/*
 * One turn of a wait loop: pause, then give the CPU to another thread.
 * vmlab's QEMU runs its CPUs one at a time, and a CPU that spins without
 * pausing keeps the others (and the kernel work this thread waits for)
 * from running until the next timer tick.
 */
static inline void ut_relax(void)
{
	__builtin_ia32_pause();
	sched_yield();
}

/* The start of a run of n subtests (the KTAP plan line). */
static inline void ut_plan(int n)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", n);
}

/* One subtest's result; on failure, why, as a diagnostic line. */
#define UT_CHECK(cond, name, ...)                                          \
	ut_result((cond), (name), __FILE__, __LINE__, __VA_ARGS__)

static inline __attribute__((format(printf, 5, 6))) int
ut_result(int ok, const char *name, const char *file, int line,
	  const char *fmt, ...)
{
	va_list ap;

	ut_count++;
	printf("%sok %d %s\n", ok ? "" : "not ", ut_count, name);
	if (!ok) {
		ut_failures++;
		printf("# %s:%d: ", file, line);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	return ok;
}

/*
 * A system call's result against the errno it must fail with: r is the
 * libc return value (-1 on failure), err the errno it left.
 */
#define UT_ERRNO(r, err, want, name, what)                                 \
	UT_CHECK((r) == -1 && (err) == (want), (name),                     \
		 "%s: got %ld errno %d (%s), want %s", (what), (long)(r),  \
		 (err), strerror(err), #want)

/* End the program: the exit status the harness reads. */
static inline __attribute__((noreturn)) void ut_done(void)
{
	printf("# %s: pass:%d fail:%d\n", ut_failures ? "FAIL" : "PASS",
	       ut_count - ut_failures, ut_failures);
	fflush(stdout);
	exit(ut_failures ? UT_FAILED : 0);
}

/* Leave at once: this program cannot run here (one line says why). */
static inline __attribute__((noreturn)) void ut_skip(const char *why)
{
	printf("# skip: %s\n", why);
	fflush(stdout);
	exit(UT_SKIPPED);
}

#endif /* VMLAB_UTEST_H */
