/*
 * spin — timer preemption: two CPU-bound processes both progress. Two
 * children spin on arithmetic and never block or yield; each counts its
 * rounds in a MAP_SHARED page. The parent yields until both counters pass
 * N, then sets the stop flag in the same page, and the children exit by
 * themselves. On one CPU only the timer can take the CPU away from a
 * spinning child, so without preemption the first child to run starves the
 * other and the parent, and the test never ends (the harness's timeout
 * reports it).
 *
 *   spin [N]      N rounds each child must pass (default 1000)
 */
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/utest.h"

#define NCHILD 2
#define DEFAULT_ROUNDS 1000
/* Yields the parent makes before it gives up: far more than it needs on
 * Linux (a few) or with a 10 ms tick on one CPU (a few per child). */
#define MAX_YIELDS 1000000

struct shared {
	volatile unsigned long rounds[NCHILD];
	volatile int stop;
};

/* A child: 1000 steps of a linear congruential generator per round (the
 * empty asm keeps gcc from folding them away), one count per round. */
static __attribute__((noreturn)) void spin(struct shared *sh, int i)
{
	unsigned long x = (unsigned long)i + 1;

	while (!sh->stop) {
		for (int k = 0; k < 1000; k++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			__asm__ volatile("" : "+r"(x));
		}
		sh->rounds[i]++;
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : DEFAULT_ROUNDS;
	struct shared *sh;
	pid_t pid[NCHILD];
	long yields = 0;
	int st, clean = 1;

	ut_plan(NCHILD + 2);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ut_skip("mmap(MAP_SHARED | MAP_ANONYMOUS) failed");
	fflush(stdout);
	for (int i = 0; i < NCHILD; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			spin(sh, i);
	}
	while ((sh->rounds[0] < n || sh->rounds[1] < n) && yields < MAX_YIELDS) {
		sched_yield();
		yields++;
	}
	for (int i = 0; i < NCHILD; i++) {
		char name[48];

		snprintf(name, sizeof(name), "child_%d_progressed", i);
		UT_CHECK(pid[i] > 0 && sh->rounds[i] >= n, name,
			 "%lu rounds of %lu after %ld yields (the other: %lu)",
			 sh->rounds[i], n, yields, sh->rounds[!i]);
	}
	UT_CHECK(yields < MAX_YIELDS, "parent_ran_while_children_spin",
		 "gave up after %ld yields", yields);
	sh->stop = 1;
	for (int i = 0; i < NCHILD; i++)
		if (pid[i] <= 0 || waitpid(pid[i], &st, 0) != pid[i] ||
		    !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			clean = 0;
	UT_CHECK(clean, "children_exit_on_the_stop_flag",
		 "a child was not reaped with exit status 0");
	printf("# spin: %lu and %lu rounds, %ld yields\n", sh->rounds[0],
	       sh->rounds[1], yields);
	ut_done();
}
