/*
 * fork_bomb — fork until the kernel says no, then take it all back. A
 * kernel must refuse a fork it has no room for (a full process table:
 * EAGAIN; no memory: ENOMEM) and go on working: every child it did
 * create still runs, exits and is reaped, and fork works again once they
 * are gone.
 *
 * The children form a chain, not a fan: each process forks one child
 * and waits for it, and the newest one forks again, until fork fails or
 * MAX processes are alive below the first. So every process but the
 * newest sleeps in wait4 (none spins), all of them hold their memory at
 * once, and the failure comes where it would in a real fork bomb. The
 * newest records how deep it got and the errno in MAP_SHARED memory,
 * then the chain unwinds, each exit status folding in its child's.
 *
 * Fails on a fork that reports its failure with a wrong errno (or
 * crashes the kernel, or kills the caller), one that leaks a half-built
 * process so that its slot or memory never comes back, and on an exit or
 * wait path that loses children when hundreds end at once.
 *
 * Usage: fork_bomb [MAX [MODE]], MAX default 10000, MODE "must-fail"
 * (the default, for vmlab: MAX children without a failed fork is a
 * failure) or "may-stop" (for Linux, whose limits are far higher:
 * reaching MAX is fine).
 */
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/utest.h"

#define DEFAULT_MAX 10000

/* What the newest process of the chain saw; MAP_SHARED. */
struct outcome {
	long depth; /* processes forked below the first */
	int err;    /* fork's errno there, 0 if MAX was reached */
};
static struct outcome *out;

/*
 * One link of the chain, depth processes below the first: fork the next
 * and wait for it. Its exit status: 0 if it and every process below it
 * ended cleanly.
 */
static int link_(long depth, long max)
{
	pid_t pid;
	int st;

	if (depth == max) {
		out->depth = depth;
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		out->err = errno;
		out->depth = depth;
		return 0;
	}
	if (pid == 0)
		_exit(link_(depth + 1, max));
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	long max = argc > 1 ? atol(argv[1]) : DEFAULT_MAX;
	const char *mode = argc > 2 ? argv[2] : "must-fail";
	const char *name = "fork_fails_with_enomem_or_eagain";
	int must_fail = strcmp(mode, "must-fail") == 0, chain, st = -1;
	int left, left_err;
	pid_t pid;

	if (max < 1 || (!must_fail && strcmp(mode, "may-stop") != 0)) {
		printf("usage: fork_bomb [MAX [must-fail|may-stop]]\n");
		return 2;
	}
	ut_plan(3);
	out = mmap(NULL, sizeof(*out), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (out == MAP_FAILED)
		ut_skip("no MAP_SHARED|MAP_ANONYMOUS memory for the outcome");
	chain = link_(0, max);
	if (out->err != 0)
		printf("# forked a chain of %ld processes before fork failed: "
		       "errno %d (%s)\n", out->depth, out->err,
		       strerror(out->err));
	else
		printf("# forked a chain of %ld processes (MAX) before any "
		       "fork failed (%s)\n", out->depth, mode);
	if (out->err != 0)
		UT_CHECK(out->err == ENOMEM || out->err == EAGAIN, name,
			 "fork %ld failed with errno %d (%s), want ENOMEM or "
			 "EAGAIN", out->depth + 1, out->err,
			 strerror(out->err));
	else
		UT_CHECK(!must_fail, name, "all %ld forks succeeded: "
			 "must-fail wants the kernel to refuse one", out->depth);
	left = waitpid(-1, NULL, WNOHANG);
	left_err = errno;
	UT_CHECK(chain == 0 && left == -1 && left_err == ECHILD,
		 "every_child_reaped", "the chain of %ld ended with status %d; "
		 "then wait gave %d, errno %d", out->depth, chain, left,
		 left_err);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(42);
	UT_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 WEXITSTATUS(st) == 42, "fork_works_after_reaping",
		 "fork gave %d (errno %d), wait status %#x", pid, errno, st);
	ut_done();
}
