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
 * adds to it. As PID 1 (Linux's init) it powers the machine off at the
 * end, so QEMU exits; anywhere else it just exits.
 *
 *   bench_ops           run the benchmarks
 *   bench_ops --exit    exit at once (what the exec benchmark execs)
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <string.h>
#include <sys/reboot.h>
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
	printf("bench: done\n");
	fflush(stdout);
	if (getpid() == 1) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return 0;
}
