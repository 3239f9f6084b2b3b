/*
 * threads — what lab 7's threads give a program, through musl's pthreads:
 * clone with shared memory and TLS, thread ids, futex-based mutexes and
 * joins, and exit_group ending every thread.
 *
 * Each subtest names the kernel bug it catches. The program passes on
 * Linux too: it tests the Linux semantics the kernel promises.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/utest.h"

#define NTHREADS 4
#define INCREMENTS 2000   /* per thread, under the mutex */
#define EXIT_CODE 42      /* what exit_group's thread asks for */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static __thread long tls_word; /* each thread's own (FS.base) */
static pid_t tids[NTHREADS];

static long gettid_raw(void)
{
	return syscall(SYS_gettid);
}

static void *worker(void *arg)
{
	long i = (long)(intptr_t)arg;

	tids[i] = (pid_t)gettid_raw();
	tls_word = i + 100;
	for (int k = 0; k < INCREMENTS; k++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
		if (k % 256 == 0)
			sched_yield();
	}
	/* TLS stayed this thread's while the others ran. */
	return (void *)(intptr_t)(tls_word == i + 100 ? i * 10 : -1);
}

/*
 * Four threads share memory and a mutex: the counter is exact, each
 * thread's return value comes back through pthread_join, each had its
 * own TLS, and each its own thread id, none the pid. Bugs: clone without
 * CLONE_VM (the counter stays 0 in the parent), FS.base not per thread,
 * a futex wake that is lost (a hang), a join that returns before the
 * thread's exit cleared its tid.
 */
static void create_and_join(void)
{
	pthread_t th[NTHREADS];
	int ok = 1, distinct = 1;

	tls_word = -7;
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i))
			ok = 0;
	UT_CHECK(ok, "pthread_create", "a create failed");
	if (!ok)
		return;
	for (long i = 0; i < NTHREADS; i++) {
		void *ret = NULL;

		if (pthread_join(th[i], &ret) != 0 || (intptr_t)ret != i * 10)
			ok = 0;
	}
	UT_CHECK(ok, "join_returns_each_value", "a join or a TLS check failed");
	UT_CHECK(counter == NTHREADS * INCREMENTS, "mutex_counter_exact",
		 "%ld, not %d", counter, NTHREADS * INCREMENTS);
	for (int i = 0; i < NTHREADS; i++) {
		distinct &= tids[i] > 0 && tids[i] != getpid();
		for (int j = 0; j < i; j++)
			distinct &= tids[i] != tids[j];
	}
	UT_CHECK(distinct, "thread_ids_distinct", "tids %d %d %d %d (pid %d)",
		 tids[0], tids[1], tids[2], tids[3], getpid());
	UT_CHECK(tls_word == -7 && gettid_raw() == getpid(),
		 "main_thread_unchanged", "tls %ld, tid %ld", tls_word,
		 gettid_raw());
}

static void *spinner(void *arg)
{
	(void)arg;
	for (;;)
		__asm__ volatile("" ::: "memory"); /* user mode, forever */
	return NULL;
}

static void *ender(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++)
		sched_yield();
	syscall(SYS_exit_group, EXIT_CODE);
	return NULL;
}

/*
 * exit_group from one thread ends the process, whose other threads spin
 * in user mode on other CPUs or sleep in pthread_join: the parent sees
 * exit status 42. Bugs: exit_group that ends only its caller (the
 * process never ends: the run times out), or threads that keep running
 * after their address space is gone (a panic).
 */
static void exit_group_ends_all(void)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		pthread_t a, b, c;

		pthread_create(&a, NULL, spinner, NULL);
		pthread_create(&b, NULL, spinner, NULL);
		pthread_create(&c, NULL, ender, NULL);
		pthread_join(a, NULL); /* sleeps in futex until the end */
		_exit(1);
	}
	UT_CHECK(pid > 0 && waitpid(pid, &status, 0) == pid &&
		 WIFEXITED(status) && WEXITSTATUS(status) == EXIT_CODE,
		 "exit_group_ends_every_thread", "status %#x", status);
}

int main(void)
{
	ut_plan(6);
	create_and_join();
	exit_group_ends_all();
	ut_done();
}
