/*
 * hello — the first program a process runs: musl's startup and the calls
 * every static program makes before main (arch_prctl, set_tid_address,
 * ioctl on stdout, writev through printf), then the calls that ask the
 * kernel who we are.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define ARCH_GET_FS 0x1003      /* <asm/prctl.h>, which musl does not ship */

int main(int argc, char **argv)
{
	static const char line[] = "hello: write(2) reaches the console\n";
	unsigned long fs = 0;
	struct timespec a, b;
	int n;

	(void)argc;
	ut_plan(9);
	n = printf("hello from %s, pid %d\n", argv[0], (int)getpid());
	UT_CHECK(n > 0, "printf_returns_its_length", "printf returned %d", n);
	n = (int)write(1, line, sizeof(line) - 1);
	UT_CHECK(n == (int)sizeof(line) - 1, "write_returns_its_length",
		 "write returned %d, want %zu", n, sizeof(line) - 1);
	UT_CHECK(getpid() > 0, "getpid_is_positive", "getpid %d", getpid());
	UT_CHECK(getppid() >= 0, "getppid_is_a_pid", "getppid %d", getppid());
	/* A single-threaded process's only thread has the process's id. */
	n = (int)syscall(SYS_gettid);
	UT_CHECK(n == getpid(), "gettid_is_getpid", "gettid %d, getpid %d", n,
		 getpid());
	/* musl set FS.base to its thread block at startup: read it back. */
	n = (int)syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	UT_CHECK(n == 0 && fs == (unsigned long)pthread_self(),
		 "arch_prctl_get_fs_is_the_thread_pointer",
		 "arch_prctl returned %d, FS.base %#lx, pthread_self %p", n, fs,
		 (void *)pthread_self());
	UT_CHECK(sched_yield() == 0, "sched_yield_returns_0", "errno %d",
		 errno);
	n = (int)syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &a);
	n |= (int)syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &b);
	UT_CHECK(n == 0 && (b.tv_sec > a.tv_sec ||
			    (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)),
		 "clock_monotonic_never_goes_back",
		 "%ld.%09ld then %ld.%09ld", (long)a.tv_sec, a.tv_nsec,
		 (long)b.tv_sec, b.tv_nsec);
	UT_CHECK(a.tv_nsec >= 0 && a.tv_nsec < 1000000000L,
		 "clock_nsec_in_range", "tv_nsec %ld", a.tv_nsec);
	ut_done();
}
