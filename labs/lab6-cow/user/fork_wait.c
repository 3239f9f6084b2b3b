/*
 * fork_wait — what a parent sees of its children (man 2 fork, wait4): the
 * child's own pid and its parent's, an exit status, a death by SIGSEGV as
 * Linux's default action reports it, vfork, and ECHILD once all are reaped.
 */
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/utest.h"

/* Fork a child that runs fn and exits with its value; its wait status. */
static int run_child(int (*fn)(void), pid_t *pid)
{
	int status = -1;

	fflush(stdout);
	*pid = fork();
	if (*pid == 0)
		_exit(fn());
	if (*pid < 0 || waitpid(*pid, &status, 0) != *pid)
		return -1;
	return status;
}

static pid_t parent;

static int exits_42(void)
{
	return 42;
}

static int checks_its_ids(void)
{
	return getppid() == parent && getpid() != parent ? 0 : 1;
}

/* Page 0 is never mapped; through a volatile so gcc keeps the store. */
static int *volatile nowhere = (int *)0x10;

static int faults(void)
{
	*nowhere = 1;
	return 0;
}

int main(void)
{
	pid_t pid, vpid;
	int st;

	ut_plan(7);
	parent = getpid();
	st = run_child(exits_42, &pid);
	UT_CHECK(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 42,
		 "exit_status_reaches_the_parent", "pid %d status %#x", pid,
		 st);
	st = run_child(checks_its_ids, &pid);
	UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		 "child_sees_its_own_pid_and_parent", "status %#x", st);
	UT_CHECK(pid != parent, "child_pid_differs", "child %d parent %d", pid,
		 parent);
	st = run_child(faults, &pid);
	UT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		 "segv_kills_the_child_with_sigsegv",
		 "status %#x (signaled %d, signal %d)", st, WIFSIGNALED(st),
		 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	fflush(stdout);
	vpid = vfork();
	if (vpid == 0)
		_exit(7);
	st = -1;
	UT_CHECK(vpid > 0 && waitpid(vpid, &st, 0) == vpid && WIFEXITED(st) &&
		 WEXITSTATUS(st) == 7, "vfork_child_exits_first",
		 "pid %d status %#x", vpid, st);
	UT_CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD,
		 "all_children_reaped", "errno %d", errno);
	UT_CHECK(syscall(SYS_wait4, -1, (long)0xffffffff80100000UL, 0, 0) ==
		 -1 && errno == ECHILD, "wait4_checks_children_first",
		 "errno %d", errno);
	ut_done();
}
