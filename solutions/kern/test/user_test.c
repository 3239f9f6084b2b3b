/*
 * user_test.c — user test programs, run by the kernel (lab 5 on).
 *
 * Each test starts one program from the initrd as a child of the test
 * thread, waits for it, and checks its wait status: 0 means every subtest
 * it reported passed. The program's output (its KTAP subtests, and why
 * any failed) appears inside this test's block as diagnostics, and the
 * same binary passes on Linux (make check's "user programs pass on
 * Linux"), which is what proves a failure here is the kernel's.
 *
 * A program cannot even start until lab 5's layer works: exec maps it
 * through as_map() and seg_vn, and its pages come through the page cache.
 */
#if LAB >= 5
#include <cpuvar.h>
#include <kernel.h>
#include <ktest.h>
#include <proc.h>
#include <thread.h>

#define UT_SKIPPED 77 /* utest.h: the program cannot run here */

/* Run path with argv and wait for it; its wait status. */
static int user_run(const char *path, const char *const argv[])
{
	int pid, wstat = -1, got;

	pid = proc_spawn(path, argv, NULL);
	if (pid < 0) {
		ktest_fail(__FILE__, __LINE__, "proc_spawn(%s): error %d",
			   path, -pid);
		return -1;
	}
	got = proc_wait(pid, &wstat, false, NULL);
	EXPECT_EQ(got, pid);
	proc_reap_orphans();
	return wstat;
}

/* Run a test program and require that it exits 0. */
static void user_expect_pass(const char *path, const char *const argv[])
{
	int wstat = user_run(path, argv);

	if (wstat == -1)
		return;
	if ((wstat & 0x7f) != 0) {
		ktest_fail(__FILE__, __LINE__, "%s was killed by signal %d",
			   path, wstat & 0x7f);
		return;
	}
	if (((wstat >> 8) & 0xff) == UT_SKIPPED) {
		ktest_skip("the program says it cannot run here");
		return;
	}
	EXPECT_EQ((wstat >> 8) & 0xff, 0);
}

#define USER_TEST(name, prog)                                             \
	KTEST(user, name)                                                 \
	{                                                                 \
		static const char *const argv[] = { prog, NULL };         \
		user_expect_pass("/bin/" prog, argv);                     \
	}

USER_TEST(hello_printf, "hello")
USER_TEST(errno_table, "errno_test")
USER_TEST(fork_wait_status, "fork_wait")
USER_TEST(anon_minflt, "minflt")
USER_TEST(read_file_bytes, "read_file")
USER_TEST(syscall_registers, "regs")
USER_TEST(exec_static_and_pie, "exec_test")
/*
 * Two CPU-bound children and their parent on one CPU: both children make
 * progress only if the timer takes the CPU from whichever runs (a
 * scheduler with no preemption hangs here, and the watchdog ends it).
 */
KTEST(user, timer_preemption)
{
	static const char *const argv[] = { "spin", NULL };

	disp_onecpu = true;
	user_expect_pass("/bin/spin", argv);
	disp_onecpu = false;
}
/*
 * Four CPUs run four processes at once: two spin programs make six
 * CPU-bound processes, and the dispatcher must have had a user thread on
 * every CPU at some moment. A dispatcher that never wakes an idle CPU for
 * a new thread (or one CPU that takes everything) runs them one or two
 * at a time.
 */
KTEST(user, four_cpus_at_once)
{
	/* Rounds enough that six processes are runnable together a while. */
	static const char *const argv[] = { "spin", "4000", NULL };
	int pids[2], wstat;

	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	spin_lock(&disp_lock);
	disp_user_max = 0;
	spin_unlock(&disp_lock);
	for (int i = 0; i < 2; i++) {
		pids[i] = proc_spawn("/bin/spin", argv, NULL);
		ASSERT_GT(pids[i], 0);
	}
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(proc_wait(pids[i], &wstat, false, NULL), pids[i]);
		EXPECT_EQ(wstat, 0);
	}
	proc_reap_orphans();
	EXPECT_GE(disp_user_max, 4);
}
#endif /* LAB >= 5 */
