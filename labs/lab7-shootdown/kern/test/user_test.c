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
#include <cpuvar.h>
#include <fmt.h>
#include <kernel.h>
#include <ktest.h>
#include <proc.h>
#include <page.h>
#include <thread.h>
#include <vnode.h>

#include "vmtest.h"

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

/* Lab 5: programs that need exec (as_map, seg_vn) and the page cache. */
USER_TEST(hello_printf, "hello")
USER_TEST(errno_table, "errno_test")
USER_TEST(anon_minflt, "minflt")
USER_TEST(read_file_bytes, "read_file")
USER_TEST(syscall_registers, "regs")
USER_TEST(mmap_semantics, "mmap_test")

/* Lab 6: programs that fork. */
USER_TEST(fork_wait_status, "fork_wait")
USER_TEST(exec_static_and_pie, "exec_test")

/*
 * The accesses that must kill a process, each in a process of its own
 * (mmap_test CASE): the signal is the test. A driver that maps what it
 * should refuse lets the program live (exit status 3).
 */
KTEST(user, mmap_faults_kill)
{
	static const struct {
		const char *what;
		int sig;
	} cases[] = {
		{ "write_ro", SIGSEGV },
		{ "read_none", SIGSEGV },
		{ "after_munmap", SIGSEGV },
		{ "past_eof", SIGBUS },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *argv[] = { "mmap_test", cases[i].what, NULL };
		int wstat = user_run("/bin/mmap_test", argv);

		if ((wstat & 0x7f) != cases[i].sig)
			ktest_fail(__FILE__, __LINE__,
				   "mmap_test %s: wait status %#x, want signal "
				   "%d", cases[i].what, (unsigned)wstat,
				   cases[i].sig);
	}
}

/* Pages of vp in the page cache, found through the hash. */
static int cached_pages(vnode_t *vp)
{
	int n = 0;

	for (uint64_t off = 0; off < vp->v_size; off += PAGESIZE)
		n += page_lookup(vp, off) != NULL;
	return n;
}

/*
 * Two processes run one binary: the first reads each page it touches in
 * from the initrd (one major fault per page, and the page stays cached),
 * the second finds them all in the page cache (no major fault at all).
 * /bin/share is a program no other test runs, so nothing of it is cached
 * yet. A page cache that loses pages, or a seg_vn that reads the file
 * itself instead of asking VOP_GETPAGE, makes the second read them again.
 */
KTEST(user, same_binary_shares_pages)
{
	static const char *const argv[] = { "share", NULL };
	vnode_t *vp = ramfs_lookup("/bin/share");
	uint64_t ru[2][2];
	int pid, wstat;

	if (vp == NULL)
		ktest_skip("no /bin/share in the initrd");
	if (cached_pages(vp) != 0)
		ktest_skip("/bin/share is cached already (run twice?)");
	for (int i = 0; i < 2; i++) {
		pid = proc_spawn("/bin/share", argv, NULL);
		ASSERT_GT(pid, 0);
		EXPECT_EQ(proc_wait(pid, &wstat, false, ru[i]), pid);
		EXPECT_EQ(wstat & 0x7f, 0);
	}
	ktest_diag("first run: %lu major faults; second: %lu major, %lu minor; "
		   "%d pages cached", ru[0][1], ru[1][1], ru[1][0],
		   cached_pages(vp));
	EXPECT_GT(ru[0][1], 0UL);
	/* exec itself read the header page in, with read(): not a fault. */
	EXPECT_LE(ru[0][1], (uint64_t)cached_pages(vp));
	EXPECT_GE(ru[0][1] + 1, (uint64_t)cached_pages(vp));
	EXPECT_EQ(ru[1][1], 0UL);
	EXPECT_GT(ru[1][0], 0UL);
}

/* Start n burn processes of rounds each; wait for all; all must exit 0. */
static void burn_n(int n, const char *rounds)
{
	const char *argv[] = { "burn", rounds, NULL };
	int pids[8], wstat;

	ASSERT(n <= (int)ARRAY_SIZE(pids));
	for (int i = 0; i < n; i++) {
		pids[i] = proc_spawn("/bin/burn", argv, NULL);
		ASSERT_GT(pids[i], 0);
	}
	for (int i = 0; i < n; i++) {
		EXPECT_EQ(proc_wait(pids[i], &wstat, false, NULL), pids[i]);
		EXPECT_EQ(wstat, 0);
	}
}

/*
 * Two CPU-bound processes on one CPU: only the timer can take the CPU
 * from the one running, so the dispatcher must have preempted a user
 * thread for another at least twice (a kernel that never preempts runs
 * them one after the other, with no preemption at all).
 */
KTEST(user, timer_preemption)
{
	uint64_t before = disp_preemptions;

	disp_onecpu = true;
	burn_n(2, "600000");
	disp_onecpu = false;
	EXPECT_GE(disp_preemptions - before, 2UL);
}

/*
 * Four CPUs run four processes at once: six CPU-bound processes, and the
 * dispatcher must have had a user thread on every CPU at some moment. A
 * dispatcher that never wakes an idle CPU for a new thread (or one CPU
 * that takes everything) runs them one or two at a time.
 */
KTEST(user, four_cpus_at_once)
{
	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	spin_lock(&disp_lock);
	disp_user_max = 0;
	spin_unlock(&disp_lock);
	burn_n(6, "250000");
	EXPECT_GE(disp_user_max, 4);
}

/* Lab 6: copy-on-write as programs see it (the same binaries pass on Linux). */
USER_TEST(cow_semantics, "cow_test")

/*
 * A seeded random tree of forks, writes and exits, each process checking
 * its own view against its model. The kernel's seed (seed= on the
 * command line) picks the tree; the program prints it, so a failure can
 * be replayed on Linux too.
 */
KTEST(user, cow_stress_model)
{
	char seed[24];
	const char *argv[] = { "cow_stress", seed, NULL };

	snprintf(seed, sizeof(seed), "%lu", ktest_seed() % 1000000007UL);
	user_expect_pass("/bin/cow_stress", argv);
}

/*
 * Four processes fork, write and exit over and over, each on a CPU of
 * its own: the anon reference counts, the reverse map and the process
 * table change on four CPUs at once. The ledger after the test requires
 * every page and buffer back.
 */
KTEST(user, fork_storm_four_cpus)
{
	static const char *const argv[] = { "fork_storm", NULL };

	if (ncpus < 4)
		ktest_skip("fewer than 4 CPUs");
	spin_lock(&disp_lock);
	disp_user_max = 0;
	spin_unlock(&disp_lock);
	user_expect_pass("/bin/fork_storm", argv);
	EXPECT_GE(disp_user_max, 4);
}

/*
 * Fork a chain of processes until memory runs out: with all but 8 MiB
 * taken, the refusal is ENOMEM (or EAGAIN, from a full process table),
 * never a panic and never a child killed by its first fault; once the
 * chain has unwound, the ledger finds every page and buffer back.
 */
KTEST(user, fork_until_refused)
{
	static const char *const argv[] = { "fork_bomb", NULL };
	struct hoard h;

	hoard_all(&h);
	hoard_release(&h, 2048);
	ktest_diag("%lu pages taken, %lu left free", h.count,
		   page_free_count());
	user_expect_pass("/bin/fork_bomb", argv);
	hoard_release(&h, h.count);
}

/*
 * Lab 7: threads on four CPUs (the same binaries pass on Linux). Each
 * program's subtests name the shootdown bug they catch; a stale read is
 * a real one, from QEMU's per-CPU TLB.
 */
USER_TEST(threads_basic, "threads")
USER_TEST(tlb_stale_reads, "tlb_stale")
USER_TEST(tlb_flush_before_free, "tlb_free")
USER_TEST(tlb_mprotect_threads, "tlb_mprotect")
USER_TEST(tlb_fork_with_threads, "tlb_fork")
