/*
 * bench_ops — instructions per system operation, for `make bench`: the same
 * binary runs as /init under Linux and as a user program under vmlab, in
 * the same QEMU, and each prints one line per operation:
 *
 *   bench: getpid 1000 ops 187 insns/op
 *
 * Counting instructions with rdtsc. Under `-icount shift=S` QEMU's TCG
 * stops using the host's time for the guest: the virtual clock advances by
 * 2^S ns per guest instruction executed (icount_get(): the instruction
 * count shifted left by S, plus a bias that moves only while every vCPU is
 * idle), and rdtsc reads that clock (helper_rdtsc -> cpu_get_tsc ->
 * cpu_get_ticks, which returns icount_get() when icount is on; rdtsc is
 * an I/O instruction under icount, so the count is exact at the
 * instruction). So a difference of rdtsc values is 2^S times the
 * instructions that all vCPUs ran in between (vCPUs run round-robin under
 * icount and share the one counter). Rather than trust S, calibrate(),
 * below, times a loop of a known number of instructions and prints the
 * ratio: 8.000 ticks per instruction at shift=3. On a real CPU the TSC
 * counts time, not instructions, so the figures on the host only show that
 * the program works.
 *
 * Each figure is the minimum over BATCHES batches: under icount every
 * batch is deterministic, and a timer interrupt that lands in one only
 * adds to it. The last figures, lab 7's munmap with threads on up to
 * four CPUs, subtract what those threads run (see "TLB shootdown"
 * below). As PID 1 (Linux's init) it brings up, before those, the CPUs
 * that Linux booted without, and at the end powers the machine off, so
 * QEMU exits; anywhere else it just exits.
 *
 *   bench_ops           run the benchmarks
 *   bench_ops --exit    exit at once (what the exec benchmark execs)
 */
#define _GNU_SOURCE         /* sched_setaffinity, cpu_set_t */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCHES 5
#define CALIBRATE_LOOPS 20000   /* 2 instructions each: dec, jnz */

static inline unsigned long rdtsc(void)
{
	unsigned int lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return (unsigned long)hi << 32 | lo;
}

/* TSC ticks per instruction: a loop of 2 * CALIBRATE_LOOPS instructions,
 * plus lfence and rdtsc, 2 more (the smallest of BATCHES tries). */
static double calibrate(void)
{
	double best = 0;

	for (int b = 0; b < BATCHES; b++) {
		unsigned long n = CALIBRATE_LOOPS, t0, t1;

		t0 = rdtsc();
		__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n));
		t1 = rdtsc();
		double r = (double)(t1 - t0) / (2 * CALIBRATE_LOOPS + 2);
		if (b == 0 || r < best)
			best = r;
	}
	return best;
}

static void op_getpid(void)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(SYS_getpid)
			 : "rcx", "r11", "memory");
}

static void op_fork(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0)
		_exit(0);
	waitpid(pid, &st, 0);
}

static const char *self;

static void op_fork_exec(void)
{
	char *argv[] = {(char *)self, "--exit", NULL};
	char *envp[] = {NULL};
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		execve(self, argv, envp);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

/*
 * Page faults (lab 5's layer): each call touches one page that is not
 * mapped yet. zfod: the next page of a large anonymous mapping (a zero
 * fill). file_minor: the first page of the next of many one-page
 * mappings of this program's own file, which is cached already (a minor
 * fault: no read from the backing store).
 */
#define FAULT_OPS 200
static volatile char *zfod_next;
static volatile char **file_maps;
static int file_next;

static void op_zfod(void)
{
	*zfod_next = 1;
	zfod_next += 4096;
}

static void op_file_minor(void)
{
	(void)*file_maps[file_next++];
}

static int fault_setup(void)
{
	int n = FAULT_OPS * BATCHES, fd = open(self, O_RDONLY);

	zfod_next = mmap(NULL, (size_t)n * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	file_maps = mmap(NULL, (size_t)n * sizeof(char *), PROT_READ |
			 PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || zfod_next == MAP_FAILED || file_maps == MAP_FAILED)
		return -1;
	for (int i = 0; i < n; i++) {
		file_maps[i] = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		if (file_maps[i] == MAP_FAILED)
			return -1;
	}
	close(fd);
	return 0;
}

/*
 * Fork with memory (lab 6's layer): the parent has 1 MiB of anonymous
 * memory, every page written. fork_1mib: the child exits at once, so the
 * cost is fork's: sharing 256 slots (or copying 256 page-table entries)
 * and write-protecting the parent's. fork_1mib_cow: the child writes
 * every page first, 256 copy-on-write breaks; the difference between the
 * two, over 256, is one COW break (the fault, the copy, and freeing the
 * copy at exit).
 */
#define COW_PAGES 256
static volatile char *cow_mem;

static int cow_setup(void)
{
	cow_mem = mmap(NULL, COW_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (cow_mem == MAP_FAILED)
		return -1;
	for (int i = 0; i < COW_PAGES; i++)
		cow_mem[i * 4096] = (char)i;
	return 0;
}

static void op_fork_1mib_cow(void)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		for (int i = 0; i < COW_PAGES; i++)
			cow_mem[i * 4096] = 1;
		_exit(0);
	}
	waitpid(pid, &st, 0);
}

/* Ticks per call of op: the least over BATCHES batches of n calls. */
static double measure(void (*op)(void), int n)
{
	double best = 0;

	for (int b = 0; b < BATCHES; b++) {
		unsigned long t0 = rdtsc();

		for (int i = 0; i < n; i++)
			op();
		double t = (double)(rdtsc() - t0) / n;
		if (b == 0 || t < best)
			best = t;
	}
	return best;
}

static double report(const char *name, void (*op)(void), int n,
		     double per_insn)
{
	double insns = measure(op, n) / per_insn;

	printf("bench: %s %d ops %.0f insns/op\n", name, n, insns);
	return insns;
}

/*
 * TLB shootdown (lab 7's layer): munmap of pages just written, while the
 * process has threads running on 1, 2 or 4 CPUs. The main thread unmaps
 * on CPU 0; each other thread spins on a CPU of its own in user mode,
 * reading memory, so its CPU holds the address space and every munmap
 * must flush it too: an IPI, and an ack to wait for. Linux is told
 * where each thread runs (sched_setaffinity); vmlab has no such call,
 * but its one run queue gives each of four running threads a CPU.
 *
 * Counting fairly. rdtsc counts the instructions of all the vCPUs (see
 * the top of this file), so the spinners' loops would be in the figure,
 * in amounts that depend on how each kernel waits. So each spinner
 * counts its iterations, each exactly SPIN_INSNS instructions (spin()'s
 * loop is written in assembly), and a figure subtracts what the
 * spinners ran in user mode during the munmap calls. What is left is
 * what the machine ran for the munmap: the unmapping thread's system
 * call, and the other CPUs' share of the shootdown (interrupt, flush,
 * ack), on both kernels alike. The spinners pause in every iteration:
 * QEMU runs the vCPUs one at a time, and a vCPU that pauses hands the
 * turn on at once, so a spinner runs one iteration whenever the
 * unmapping CPU gives up its turn (to send an IPI, to wait for acks).
 * Without the pause, a spinner given the turn would keep it until the
 * next timer deadline: every munmap would last a timer tick, and bring
 * the ticks' interrupts on every CPU into its figure. (Checked on both
 * kernels: while the main thread ran 1,000 pauses, three spinners ran
 * exactly 3,000 iterations, and the count added up to within 4.)
 *
 * Each munmap is timed alone: the mmap before it and the faults that
 * write its pages stay out of the figure. Each figure is the least over
 * SHOOT_BATCHES batches, the batches of the five operations interleaved
 * so that a kernel's state drifts alike under all five, less the same
 * loop timing nothing (the same spinners, the rdtsc pairs and the
 * counter reads: 8 instructions). A batch times 200,000 to 500,000
 * instructions, no more than a CPU runs between two of Linux's timer
 * ticks (HZ=250: 4 ms, 500,000 instructions at shift=3), so the least of
 * SHOOT_BATCHES seldom has a tick in it. In the 1-CPU figures the CPUs
 * that ran spinners still hold the address space, idle and lazily:
 * neither kernel sends them an IPI.
 */
#define SHOOT_CPUS 4
#define SHOOT_BATCHES 10
#define SPIN_INSNS 4            /* spin(): pause, incq, cmpl, je */
/* Past both kernels' ceiling of 33 pages: a full flush, not invlpg. */
#define SHOOT_PAGES_MAX 64
#define BLOCK (2UL << 20)       /* what one page table maps */

static struct shoot_op {
	const char *name;
	long pages;             /* unmapped by each munmap */
	int nspin;              /* spinning threads: on CPUs 1..nspin */
	int n;                  /* munmap calls per batch */
	double best, base;      /* the least batch; the empty loop's */
} shoot_ops[] = {
	{ "munmap_1p_1cpu", 1, 0, 20, 0, 0 },
	{ "munmap_1p_2cpu", 1, 1, 20, 0, 0 },
	{ "munmap_1p_4cpu", 1, SHOOT_CPUS - 1, 20, 0, 0 },
	{ "munmap_64p_1cpu", SHOOT_PAGES_MAX, 0, 5, 0, 0 },
	{ "munmap_64p_4cpu", SHOOT_PAGES_MAX, SHOOT_CPUS - 1, 5, 0, 0 },
};

static struct spinner {
	volatile unsigned long iters;
	pthread_t thread;
	int cpu;
} __attribute__((aligned(64))) spinners[SHOOT_CPUS - 1];

static volatile int spin_stop;
static char *shoot_slot;        /* where each munmap's pages are mapped */

/* Keep the calling thread on cpu, where the kernel can (Linux). */
static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)sched_setaffinity(0, sizeof(set), &set);
}

/* A spinner: SPIN_INSNS instructions an iteration until spin_stop. */
static void *spin(void *arg)
{
	struct spinner *s = arg;

	pin(s->cpu);
	__asm__ volatile("1:	pause\n\t"
			 "incq %0\n\t"
			 "cmpl $0, %1\n\t"
			 "je 1b"
			 : "+m"(s->iters) : "m"(spin_stop) : "cc");
	return NULL;
}

/* Iterations of the first n spinners so far. */
static unsigned long spun(int n)
{
	unsigned long sum = 0;

	for (int i = 0; i < n; i++)
		sum += spinners[i].iters;
	return sum;
}

/* Start n spinners on CPUs 1..n and wait until each runs: 0, or -1. */
static int spin_start(int n)
{
	spin_stop = 0;
	for (int i = 0; i < n; i++) {
		spinners[i].iters = 0;
		spinners[i].cpu = i + 1;
		if (pthread_create(&spinners[i].thread, NULL, spin,
				   &spinners[i]) != 0)
			return -1;
	}
	for (int i = 0; i < n; i++)
		while (spinners[i].iters == 0) {
			__builtin_ia32_pause();
			sched_yield();
		}
	return 0;
}

static void spin_end(int n)
{
	spin_stop = 1;
	for (int i = 0; i < n; i++)
		pthread_join(spinners[i].thread, NULL);
}

/*
 * The slot's neighbourhood, the same for every figure: a 2 MiB block of
 * its own (one page table), reserved PROT_NONE but for a keeper page:
 *
 *	| keeper | none | slot: 1 or 64 pages | none ...             |
 *	^ a 2 MiB boundary                              the next one ^
 *
 * The keeper, written once, keeps the page table from ever emptying, so
 * neither kernel frees and rebuilds it around a munmap (vmlab frees a
 * table once it is empty; Linux keeps one that other mappings share),
 * and vmlab's test for an empty table stops at its first entry whatever
 * else the process has mapped. The PROT_NONE pages make each mapping in
 * the slot one of its own, which no mmap merges with a neighbour and no
 * munmap has to split. Between batches the slot is PROT_NONE too, so
 * that no other mapping (a thread's stack) lands in it.
 */
static int shoot_setup(void)
{
	char *r = mmap(NULL, 2 * BLOCK, PROT_NONE, MAP_PRIVATE |
		       MAP_ANONYMOUS, -1, 0);
	char *keeper = (char *)(((unsigned long)r + BLOCK - 1) & ~(BLOCK - 1));

	if (r == MAP_FAILED || mmap(keeper, 4096, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
				    -1, 0) == MAP_FAILED)
		return -1;
	*keeper = 1;
	shoot_slot = keeper + 2 * 4096;
	return 0;
}

/* Map pages at shoot_slot with prot, and write each unless PROT_NONE. */
static int shoot_map(long pages, int prot)
{
	if (mmap(shoot_slot, pages * 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED, -1, 0) == MAP_FAILED)
		return -1;
	for (long k = 0; prot != PROT_NONE && k < pages; k++)
		shoot_slot[k * 4096] = 1;
	return 0;
}

/*
 * Instructions per timed window over n windows, less the spinners': each
 * window around one munmap of op's pages, just mapped and written, or
 * with unmap 0 around nothing. -1 if mmap or munmap fails.
 */
static double shoot_batch(const struct shoot_op *op, int unmap,
			  double per_insn)
{
	unsigned long ticks = 0, iters = 0;
	size_t len = (size_t)op->pages * 4096;

	for (int i = 0; i < op->n; i++) {
		if (unmap && shoot_map(op->pages, PROT_READ | PROT_WRITE) != 0)
			return -1;
		unsigned long s0 = spun(op->nspin), t0 = rdtsc();
		int err = unmap ? munmap(shoot_slot, len) : 0;
		unsigned long t1 = rdtsc();

		ticks += t1 - t0;
		iters += spun(op->nspin) - s0;
		if (err != 0)
			return -1;
	}
	if (unmap && shoot_map(SHOOT_PAGES_MAX, PROT_NONE) != 0)
		return -1;
	return (ticks / per_insn - (double)iters * SPIN_INSNS) / op->n;
}

/* One batch of op, and one of its empty loop, with its spinners: 0/-1. */
static int shoot_round(struct shoot_op *op, int first, double per_insn)
{
	double t, z;

	if (spin_start(op->nspin) != 0)
		return -1;
	t = shoot_batch(op, 1, per_insn);
	z = shoot_batch(op, 0, per_insn);
	spin_end(op->nspin);
	if (t < 0 || z < 0)
		return -1;
	if (first || t < op->best)
		op->best = t;
	if (first || z < op->base)
		op->base = z;
	return 0;
}

static void shootdown_benchmarks(double per_insn)
{
	int nops = sizeof(shoot_ops) / sizeof(shoot_ops[0]);

	if (shoot_setup() != 0) {
		printf("bench: shootdown setup failed\n");
		return;
	}
	pin(0);
	for (int b = 0; b < SHOOT_BATCHES; b++)
		for (int i = 0; i < nops; i++)
			if (shoot_round(&shoot_ops[i], b == 0, per_insn) != 0) {
				printf("bench: %s failed\n", shoot_ops[i].name);
				return;
			}
	for (int i = 0; i < nops; i++)
		printf("bench: %s %d ops %.0f insns/op\n", shoot_ops[i].name,
		       shoot_ops[i].n, shoot_ops[i].best - shoot_ops[i].base);
}

/*
 * As Linux's init, bring up the other CPUs. bench.py boots Linux with
 * maxcpus=1, as its own bring-up of them hangs under -icount (bench.py
 * says why), and they come up here, through sysfs, once the figures of
 * one CPU are taken. A thread beside the write pauses in a loop on CPU
 * 0: the write waits for the new CPU in a loop that calls schedule() and
 * never pauses, and QEMU would never let the new CPU run; each pause
 * gives it a turn. Anywhere else (vmlab, the host) this does nothing:
 * not init, or no sysfs to mount.
 */
static volatile int pauser_stop;

static void *pauser(void *arg)
{
	(void)arg;
	pin(0);
	while (!pauser_stop)
		__builtin_ia32_pause();
	return NULL;
}

static void online_cpu(int cpu)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		printf("bench: cpu%d did not come online\n", cpu);
	if (fd >= 0)
		close(fd);
}

static void online_cpus(void)
{
	pthread_t t;

	if (getpid() != 1)
		return;
	mkdir("/sys", 0755);
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) != 0)
		return;
	pauser_stop = 0;
	if (pthread_create(&t, NULL, pauser, NULL) != 0)
		return;
	for (int cpu = 1; cpu < SHOOT_CPUS; cpu++)
		online_cpu(cpu);
	pauser_stop = 1;
	pthread_join(t, NULL);
}

int main(int argc, char **argv)
{
	double per_insn, fork_insns, exec_insns;

	if (argc > 1 && strcmp(argv[1], "--exit") == 0)
		_exit(0);
	setvbuf(stdout, NULL, _IOLBF, 0);
	self = argv[0][0] == '/' ? argv[0] : "/bin/bench_ops";
	per_insn = calibrate();
	printf("bench: calibrate %d ops %.3f ticks/insn\n",
	       2 * CALIBRATE_LOOPS, per_insn);
	report("getpid", op_getpid, 1000, per_insn);
	fork_insns = report("fork_exit_wait", op_fork, 50, per_insn);
	exec_insns = report("fork_exec_exit_wait", op_fork_exec, 20, per_insn);
	printf("bench: exec_only %d ops %.0f insns/op\n", 20,
	       exec_insns - fork_insns);
	/* Before fault_setup's thousand mappings, which fork would copy. */
	if (cow_setup() == 0) {
		double plain = report("fork_1mib_exit_wait", op_fork, 20,
				      per_insn);
		double cow = report("fork_1mib_cow_exit_wait", op_fork_1mib_cow,
				    20, per_insn);

		printf("bench: cow_break %d ops %.0f insns/op\n", COW_PAGES,
		       (cow - plain) / COW_PAGES);
	} else {
		printf("bench: cow setup failed\n");
	}
	if (fault_setup() == 0) {
		(void)*file_maps[0]; /* the file's first page, cached now */
		file_next = 1;
		report("zfod_fault", op_zfod, FAULT_OPS - 1, per_insn);
		report("file_minor_fault", op_file_minor, FAULT_OPS - 1,
		       per_insn);
	} else {
		printf("bench: fault setup failed\n");
	}
	/* Last: the other CPUs come online only now on Linux, and threads
	 * leave them holding this process's address space. */
	online_cpus();
	shootdown_benchmarks(per_insn);
	printf("bench: done\n");
	fflush(stdout);
	if (getpid() == 1) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return 0;
}
