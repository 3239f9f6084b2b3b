/*
 * cow_test — what fork(2) promises about memory, as lab 6's copy-on-write
 * makes it true: the child starts with a copy of everything the parent
 * had, and from then on every store, mprotect and munmap belongs to the
 * process that made it. MAP_SHARED memory is the one exception, and stays
 * shared.
 *
 * Each subtest forks. Parent and child order their steps through a page
 * of MAP_SHARED|MAP_ANONYMOUS memory (post() and await(), which spins with
 * sched_yield and gives up after WAIT_NS), and a child reports through its
 * exit status: 0 when all it checked held, else bits that the parent's
 * message explains. A message gives a child's outcome: its exit code, or
 * minus the signal that killed it (-999: there was no child). Every
 * subtest's comment names the kernel bug it catches.
 *
 * Usage: cow_test [PATH], PATH the pattern file (default
 * /files/pattern.bin, as in vmlab's initrd): 3 pages and 100 bytes, byte i
 * is (i * 7 + i / 4096) & 0xff. It is only read.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define WORDS (PG / 8)          /* 64-bit words in a page */
#define WAIT_NS 2000000000L     /* a peer silent this long is stuck */

static const char *path = "/files/pattern.bin";

/* Who posts a step: each process advances its own counter. */
enum { PARENT, CHILD, GRANDCHILD };

/* Shared by every process of a subtest; reset before each fork. */
static struct shared {
	int step[3];
	long val[2];
} *sh;

static uint64_t data_words[WORDS] = { 1 }; /* initialised: .data */
static uint64_t bss_words[WORDS];           /* zero: .bss */

static unsigned char pattern(long i)
{
	return (unsigned char)((i * 7 + i / 4096) & 0xff);
}

/* Word k of memory filled with tag: differs by tag, page and word. */
static uint64_t word(uint64_t tag, long k)
{
	return tag * 0x9e3779b97f4a7c15ULL + (uint64_t)k;
}

static void fill(volatile uint64_t *w, long n, uint64_t tag)
{
	for (long k = 0; k < n; k++)
		w[k] = word(tag, k);
}

/* The first of n words that does not hold tag's fill, or -1. */
static long bad_word(const volatile uint64_t *w, long n, uint64_t tag)
{
	for (long k = 0; k < n; k++)
		if (w[k] != word(tag, k))
			return k;
	return -1;
}

static int holds(const volatile uint64_t *w, long n, uint64_t tag)
{
	return bad_word(w, n, tag) < 0;
}

static void post(int who, int step)
{
	__atomic_store_n(&sh->step[who], step, __ATOMIC_RELEASE);
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Wait until who has posted step; 0 if it did not within WAIT_NS. */
static int await(int who, int step)
{
	long end = now_ns() + WAIT_NS;

	while (__atomic_load_n(&sh->step[who], __ATOMIC_ACQUIRE) < step) {
		if (now_ns() > end)
			return 0;
		sched_yield();
	}
	return 1;
}

/* fork, with stdout flushed so that no buffered line prints twice. */
static pid_t fork_clean(void)
{
	fflush(stdout);
	memset(sh, 0, sizeof(*sh));
	return fork();
}

/* Wait for pid; its wait status, or -1 if there is no such child. */
static int reap(pid_t pid)
{
	int st = -1;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static int exited_0(int st)
{
	return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A wait status for a message: the exit code, or minus the signal. */
static int outcome(int st)
{
	if (st != -1 && WIFEXITED(st))
		return WEXITSTATUS(st);
	return st != -1 && WIFSIGNALED(st) ? -WTERMSIG(st) : -999;
}

/* A fresh region of pages; on failure the subtest name fails. */
static uint64_t *map_pages(long pages, int flags, const char *name)
{
	void *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE,
		       flags | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		return p;
	UT_CHECK(0, name, "mmap of %ld pages: errno %d", pages, errno);
	return NULL;
}

/*
 * child_reads_parent_data: the child sees what the parent wrote before
 * fork in every kind of memory: an mmap region, .data, .bss and the
 * stack. Fails on a fork that copies only some segments, or that gives
 * the child zero-fill pages instead of the parent's.
 */
static int child_reads(const uint64_t *p, const volatile uint64_t *stack)
{
	int bad = 0;

	bad |= holds(p, 4 * WORDS, 0x100) ? 0 : 1;
	bad |= holds(data_words, WORDS, 0x101) ? 0 : 2;
	bad |= holds(bss_words, WORDS, 0x102) ? 0 : 4;
	bad |= holds(stack, 256, 0x103) ? 0 : 8;
	return bad;
}

static void child_reads_parent_data(void)
{
	const char *name = "child_reads_parent_data";
	volatile uint64_t stack[256];
	uint64_t *p = map_pages(4, MAP_PRIVATE, name);
	pid_t pid;
	int st;

	if (p == NULL)
		return;
	fill(p, 4 * WORDS, 0x100);
	fill(data_words, WORDS, 0x101);
	fill(bss_words, WORDS, 0x102);
	fill(stack, 256, 0x103);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_reads(p, stack));
	st = reap(pid);
	UT_CHECK(exited_0(st), name, "child's outcome %d (bits: 1 mmap, "
		 "2 .data, 4 .bss, 8 stack differ)", outcome(st));
	munmap(p, 4 * PG);
}

/*
 * child_writes_are_private: the child overwrites every page; the parent's
 * pages keep their values while the child lives and after it is gone.
 * Fails on a fork that shares pages writable, and on a COW fault that
 * writes the shared page in place instead of a copy.
 */
static int child_writes(uint64_t *p)
{
	int bad;

	fill(p, 4 * WORDS, 0x201);
	bad = !holds(p, 4 * WORDS, 0x201);
	post(CHILD, 1);
	return bad | (await(PARENT, 1) ? 0 : 2);
}

static void child_writes_are_private(void)
{
	const char *name = "child_writes_are_private";
	uint64_t *p = map_pages(4, MAP_PRIVATE, name);
	long during, after;
	pid_t pid;
	int st, wrote;

	if (p == NULL)
		return;
	fill(p, 4 * WORDS, 0x200);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_writes(p));
	wrote = await(CHILD, 1);
	during = bad_word(p, 4 * WORDS, 0x200);
	post(PARENT, 1);
	st = reap(pid);
	after = bad_word(p, 4 * WORDS, 0x200);
	UT_CHECK(wrote && during < 0 && after < 0 && exited_0(st), name,
		 "child wrote: %d; parent's first changed word %ld while the "
		 "child lives, %ld after; child's outcome %d (1: its own "
		 "write lost, 2: timed out)", wrote, during, after,
		 outcome(st));
	munmap(p, 4 * PG);
}

/*
 * parent_writes_are_private: the other direction. The parent wrote every
 * page before fork, so its TLB holds writable translations. Fails on a
 * fork that write-protects only the child's page table entries, or
 * the parent's without flushing its TLB.
 */
static int child_sees_old(const uint64_t *p)
{
	if (!await(PARENT, 1))
		return 2;
	return !holds(p, 4 * WORDS, 0x300);
}

static void parent_writes_are_private(void)
{
	const char *name = "parent_writes_are_private";
	uint64_t *p = map_pages(4, MAP_PRIVATE, name);
	long during, after;
	pid_t pid;
	int st;

	if (p == NULL)
		return;
	fill(p, 4 * WORDS, 0x300);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_sees_old(p));
	fill(p, 4 * WORDS, 0x301);
	during = bad_word(p, 4 * WORDS, 0x301);
	post(PARENT, 1);
	st = reap(pid);
	after = bad_word(p, 4 * WORDS, 0x301);
	UT_CHECK(during < 0 && after < 0 && exited_0(st), name,
		 "child's outcome %d (1: it saw the parent's write, 2: timed "
		 "out); parent's own word %ld wrong while the child lives, %ld "
		 "after", outcome(st), during, after);
	munmap(p, 4 * PG);
}

/*
 * The minor faults taken while writing word 0 of n pages. noinline: every
 * call runs the same code on the same stack, so a first call warms the
 * text, the stack and the rusage structs for the next.
 */
static __attribute__((noinline)) long faults_writing(volatile uint64_t *p,
						     int n, uint64_t v)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	for (int i = 0; i < n; i++)
		p[i * WORDS] = v;
	getrusage(RUSAGE_SELF, &b);
	return b.ru_minflt - a.ru_minflt;
}

/*
 * child_minflt_is_pages_written: the parent wrote all 8 pages before fork;
 * the child writes 5 of them and takes exactly 5 minor faults, one COW
 * copy each (page 7 first, to warm everything else). Fails on a fork that
 * copies every page at once (0 faults), on a COW fault that leaves the
 * page read-only (a second fault on it), and on one that copies its
 * neighbours too (fewer faults). 32 KiB: no huge page on Linux.
 */
static int child_counts(uint64_t *p)
{
	long warm = faults_writing(p + 7 * WORDS, 1, 1);
	long n = faults_writing(p, 5, 2);

	sh->val[0] = n;
	sh->val[1] = warm;
	return n != 5;
}

static void child_minflt_is_pages_written(void)
{
	const char *name = "child_minflt_is_pages_written";
	uint64_t *p = map_pages(8, MAP_PRIVATE, name);
	pid_t pid;
	int st;

	if (p == NULL)
		return;
	fill(p, 8 * WORDS, 0x400);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_counts(p));
	st = reap(pid);
	UT_CHECK(exited_0(st), name, "child took %ld minor faults writing 5 "
		 "shared pages, want 5 (%ld warming up); outcome %d",
		 sh->val[0], sh->val[1], outcome(st));
	munmap(p, 8 * PG);
}

/* Fill page i with tag, and say so in the model want[]. */
static void write_page(uint64_t *p, uint64_t *want, int i, uint64_t tag)
{
	fill(p + i * WORDS, WORDS, tag);
	want[i] = tag;
}

static int view_holds(const uint64_t *p, const uint64_t *want, int pages)
{
	for (int i = 0; i < pages; i++)
		if (!holds(p + i * WORDS, WORDS, want[i]))
			return 0;
	return 1;
}

/* The grandchild: its writes, then its view once all three wrote. */
static int grandchild(uint64_t *p, uint64_t *want)
{
	write_page(p, want, 2, 0x530);
	write_page(p, want, 3, 0x531);
	post(GRANDCHILD, 1);
	if (!await(PARENT, 1) || !await(CHILD, 1))
		return 2;
	return !view_holds(p, want, 6);
}

/* The middle generation: writes before and after its fork. */
static int middle_child(uint64_t *p, uint64_t *want)
{
	int bad, st, waited;
	pid_t pid;

	write_page(p, want, 1, 0x520);
	write_page(p, want, 2, 0x521);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(grandchild(p, want));
	write_page(p, want, 4, 0x522);
	post(CHILD, 1);
	waited = await(PARENT, 1) && await(GRANDCHILD, 1);
	bad = !view_holds(p, want, 6);
	st = reap(pid);
	return bad | (exited_0(st) ? 0 : 2) | (waited ? 0 : 4);
}

/*
 * three_generations: parent, child and grandchild share pages three ways
 * and each writes its own subset (page 2 by all three, page 5 by none).
 * Each checks its whole view once every process has written. Fails on
 * a COW fault that keeps a page shared by three in place because it
 * miscounts the sharers, and on a fork that copies from the wrong
 * frame.
 */
static void three_generations(void)
{
	const char *name = "three_generations";
	uint64_t *p = map_pages(6, MAP_PRIVATE, name);
	uint64_t want[6];
	int bad, st, waited;
	pid_t pid;

	if (p == NULL)
		return;
	for (int i = 0; i < 6; i++)
		write_page(p, want, i, 0x500 + (uint64_t)i);
	pid = fork_clean();
	if (pid == 0)
		_exit(middle_child(p, want));
	write_page(p, want, 0, 0x510);
	write_page(p, want, 2, 0x511);
	post(PARENT, 1);
	waited = await(CHILD, 1) && await(GRANDCHILD, 1);
	bad = !view_holds(p, want, 6);
	st = reap(pid);
	bad |= !view_holds(p, want, 6); /* and once they are gone */
	UT_CHECK(!bad && waited && exited_0(st), name, "parent's view %s, "
		 "waits %s; child's outcome %d (1: child's view wrong, 2: "
		 "grandchild's view wrong or it timed out, 4: child timed "
		 "out)", bad ? "wrong" : "right", waited ? "done" : "timed out",
		 outcome(st));
	munmap(p, 6 * PG);
}

/*
 * shared_anon_stays_shared: in a MAP_SHARED|MAP_ANONYMOUS region the
 * child's store to a page touched before fork reaches the parent, and
 * the parent's store to a page first touched after fork reaches the
 * child. Fails on a fork that makes every writable page copy-on-write,
 * shared ones too, and on a fault that gives one process a private zero
 * page for a shared page.
 */
static int child_shares(uint64_t *p)
{
	fill(p, WORDS, 0x601);
	post(CHILD, 1);
	if (!await(PARENT, 1))
		return 2;
	return !holds(p + WORDS, WORDS, 0x602);
}

static void shared_anon_stays_shared(void)
{
	const char *name = "shared_anon_stays_shared";
	uint64_t *p = map_pages(2, MAP_SHARED, name);
	int saw, st;
	pid_t pid;

	if (p == NULL)
		return;
	fill(p, WORDS, 0x600);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_shares(p));
	saw = await(CHILD, 1) && holds(p, WORDS, 0x601);
	fill(p + WORDS, WORDS, 0x602);
	post(PARENT, 1);
	st = reap(pid);
	UT_CHECK(saw && exited_0(st), name, "parent saw the child's write: "
		 "%d; child's outcome %d (1: it did not see the parent's, 2: "
		 "timed out)", saw, outcome(st));
	munmap(p, 2 * PG);
}

/*
 * The first byte of page 0 of a private file mapping that is neither the
 * pattern nor, at changed, its complement; -1 if none.
 */
static long file_page_diff(const volatile unsigned char *p, long changed)
{
	for (long i = 0; i < PG; i++) {
		unsigned char want = pattern(i);

		if (p[i] != (i == changed ? (unsigned char)~want : want))
			return i;
	}
	return -1;
}

static int child_file_write(volatile unsigned char *p)
{
	p[200] = (unsigned char)~pattern(200);
	post(CHILD, 1);
	if (!await(PARENT, 1))
		return 2;
	return file_page_diff(p, 200) >= 0;
}

/* What the file holds after both processes wrote their copies. */
static long file_unchanged(int fd)
{
	unsigned char buf[PG], *q;
	long bad = -2;

	if (pread(fd, buf, PG, 0) != PG)
		return -3;
	q = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	if (q == MAP_FAILED)
		return -4;
	if (file_page_diff(buf, -1) < 0 && file_page_diff(q, -1) < 0)
		bad = -1;
	munmap(q, PG);
	return bad;
}

/*
 * private_file_mapping_after_fork: a MAP_PRIVATE file page, mapped by a
 * read before fork, written at different bytes by parent and child: each
 * sees its own byte only, and read() and a new MAP_SHARED mapping still
 * see the file. Fails on a private write fault that writes the page
 * cache's page in place, and on a fork that shares one process's
 * private copy with the other.
 */
static void private_file_mapping_after_fork(void)
{
	const char *name = "private_file_mapping_after_fork";
	int fd = open(path, O_RDONLY), st;
	volatile unsigned char *p;
	long own, file;
	pid_t pid;

	if (fd < 0) {
		UT_CHECK(0, name, "open(%s): errno %d", path, errno);
		return;
	}
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		UT_CHECK(0, name, "mmap: errno %d", errno);
		close(fd);
		return;
	}
	(void)p[0];
	(void)p[PG];
	pid = fork_clean();
	if (pid == 0)
		_exit(child_file_write(p));
	p[100] = (unsigned char)~pattern(100);
	post(PARENT, 1);
	own = await(CHILD, 1) ? file_page_diff(p, 100) : -2;
	st = reap(pid);
	file = file_unchanged(fd);
	UT_CHECK(own == -1 && file == -1 && exited_0(st), name, "parent's "
		 "page differs at byte %ld (-2: timed out); child's outcome %d "
		 "(1: its page differs, 2: timed out); the file differs at "
		 "%ld (-3: pread failed, -4: mmap failed)", own, outcome(st),
		 file);
	munmap((void *)p, 2 * PG);
	close(fd);
}

/* The first byte of a page that is not c, or -1. */
static long byte_not(const volatile unsigned char *b, unsigned char c)
{
	for (long i = 0; i < PG; i++)
		if (b[i] != c)
			return i;
	return -1;
}

/* read() a page of the file into buf; 0 if it came in whole and right. */
static int read_page(int fd, volatile unsigned char *buf)
{
	if (read(fd, (void *)buf, PG) != PG)
		return 1;
	for (long i = 0; i < PG; i++)
		if (buf[i] != pattern(i))
			return 1;
	return 0;
}

static int child_keeps_a(volatile unsigned char *buf)
{
	if (!await(PARENT, 1))
		return 2;
	return byte_not(buf, 'A') >= 0;
}

/* Direction 1: the parent read()s into the shared page. */
static int parent_reads(int fd, const char *name)
{
	volatile unsigned char *buf = (void *)map_pages(1, MAP_PRIVATE, name);
	int bad, st;
	pid_t pid;

	if (buf == NULL)
		return -1;
	memset((void *)buf, 'A', PG);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_keeps_a(buf));
	bad = read_page(fd, buf);
	post(PARENT, 1);
	st = reap(pid);
	munmap((void *)buf, PG);
	return bad | (exited_0(st) ? 0 : 2);
}

static int child_reads_file(int fd, volatile unsigned char *buf)
{
	int bad = read_page(fd, buf);

	post(CHILD, 1);
	if (!await(PARENT, 1))
		return 2;
	return bad;
}

/* Direction 2: the child read()s into the shared page. */
static int child_read_stays(int fd, const char *name)
{
	volatile unsigned char *buf = (void *)map_pages(1, MAP_PRIVATE, name);
	int bad, st;
	pid_t pid;

	if (buf == NULL)
		return -1;
	memset((void *)buf, 'A', PG);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_reads_file(fd, buf));
	bad = !await(CHILD, 1) || byte_not(buf, 'A') >= 0;
	post(PARENT, 1);
	st = reap(pid);
	munmap((void *)buf, PG);
	return bad | (exited_0(st) ? 0 : 2);
}

/*
 * read_into_cow_buffer: read(2) into a page that fork left shared, first
 * by the parent, then by the child; the other's copy stays all 'A', and
 * the reader gets the file. Fails on a copyout that ignores write
 * protection (CR0.WP clear, or a copy through the kernel's own mapping
 * of the frame) and so writes the shared page instead of taking the COW
 * fault.
 */
static void read_into_cow_buffer(void)
{
	const char *name = "read_into_cow_buffer";
	int fd = open(path, O_RDONLY), first, second;

	if (fd < 0) {
		UT_CHECK(0, name, "open(%s): errno %d", path, errno);
		return;
	}
	first = parent_reads(fd, name);
	lseek(fd, 0, SEEK_SET);
	second = first < 0 ? -1 : child_read_stays(fd, name);
	close(fd);
	if (second < 0)
		return; /* map_pages() reported it */
	UT_CHECK(first == 0 && second == 0, name, "parent reads: %d, child "
		 "reads: %d (1: the reader's or the other's copy is wrong, 2: "
		 "the child failed or timed out)", first, second);
}

/* Parent side of the next two: the region survives what the child did. */
static int parent_still_owns(uint64_t *p, pid_t pid, uint64_t tag)
{
	int bad = 0, st;

	bad |= await(CHILD, 1) ? 0 : 1;
	bad |= holds(p, 4 * WORDS, tag) ? 0 : 2;
	fill(p, 4 * WORDS, tag + 1);
	bad |= holds(p, 4 * WORDS, tag + 1) ? 0 : 4;
	post(PARENT, 1);
	st = reap(pid);
	bad |= holds(p, 4 * WORDS, tag + 1) ? 0 : 8;
	return bad | (exited_0(st) ? 0 : 16);
}

/*
 * munmap_in_child_leaves_parent: the child unmaps the region, then fills
 * fresh memory of its own (which reuses any frames it freed); the parent
 * still reads its values and writes new ones. Fails on a munmap that
 * frees frames other processes still map, and on one that unmaps the
 * parent's address space.
 */
static int child_unmaps(uint64_t *p)
{
	int bad = munmap(p, 4 * PG) != 0;
	uint64_t *q = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (q != MAP_FAILED)
		fill(q, 8 * WORDS, 0xdead);
	post(CHILD, 1);
	return bad | (await(PARENT, 1) ? 0 : 2);
}

static void munmap_in_child_leaves_parent(void)
{
	const char *name = "munmap_in_child_leaves_parent";
	uint64_t *p = map_pages(4, MAP_PRIVATE, name);
	int bad;
	pid_t pid;

	if (p == NULL)
		return;
	fill(p, 4 * WORDS, 0x900);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_unmaps(p));
	bad = parent_still_owns(p, pid, 0x900);
	UT_CHECK(bad == 0, name, "bits %#x (1: child timed out, 2: old "
		 "values lost, 4: new write lost, 8: lost after the child "
		 "exited, 16: child's munmap failed)", bad);
	munmap(p, 4 * PG);
}

/*
 * mprotect_in_child_leaves_parent: the child makes the region PROT_NONE;
 * the parent still reads and writes it. Fails on an mprotect that changes
 * another address space's page tables (a page table shared by fork, or
 * the wrong hat).
 */
static int child_protects(uint64_t *p)
{
	int bad = mprotect(p, 4 * PG, PROT_NONE) != 0;

	post(CHILD, 1);
	return bad | (await(PARENT, 1) ? 0 : 2);
}

static void mprotect_in_child_leaves_parent(void)
{
	const char *name = "mprotect_in_child_leaves_parent";
	uint64_t *p = map_pages(4, MAP_PRIVATE, name);
	int bad;
	pid_t pid;

	if (p == NULL)
		return;
	fill(p, 4 * WORDS, 0xa00);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_protects(p));
	bad = parent_still_owns(p, pid, 0xa00);
	UT_CHECK(bad == 0, name, "bits %#x (1: child timed out, 2: old "
		 "values lost, 4: new write lost, 8: lost after the child "
		 "exited, 16: child's mprotect failed)", bad);
	munmap(p, 4 * PG);
}

/* Whether a store to p in a forked helper kills it with SIGSEGV. */
static int write_kills(volatile uint64_t *p)
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		p[0] = 0xbad;
		_exit(0);
	}
	st = reap(pid);
	return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

/* The child of mprotect_ro_before_fork_stays_ro. */
static int child_unprotects(uint64_t *p)
{
	int bad = write_kills(p) ? 0 : 1;

	bad |= mprotect(p, 2 * PG, PROT_READ | PROT_WRITE) == 0 ? 0 : 2;
	fill(p, WORDS, 0xb01);
	post(CHILD, 1);
	if (!await(PARENT, 1))
		return bad | 8;
	if (!holds(p, WORDS, 0xb01) || !holds(p + WORDS, WORDS, 0xb00 + 1))
		bad |= 4;
	return bad;
}

/* The second child: it only looks, after the first child wrote. */
static int second_child(const uint64_t *p)
{
	if (!await(CHILD, 1))
		return 2;
	return !(holds(p, WORDS, 0xb00) && holds(p + WORDS, WORDS, 0xb00 + 1));
}

/*
 * mprotect_ro_before_fork_stays_ro: a region made read-only before fork
 * stays read-only in both processes (a store in a forked helper dies of
 * SIGSEGV). Then the child makes it writable and writes page 0: the
 * parent and a second child still see the old page; then the parent
 * does the same to page 1, which it still shares with the child, and
 * the child's page 1 stays old. Fails on a fork or COW fault that grants
 * write to a read-only segment, and on an mprotect that makes a page
 * still shared by fork writable in place.
 */
static void mprotect_ro_before_fork_stays_ro(void)
{
	const char *name = "mprotect_ro_before_fork_stays_ro";
	uint64_t *p = map_pages(2, MAP_PRIVATE, name);
	int killed, still_ro, view, st, st2;
	pid_t pid, pid2;

	if (p == NULL)
		return;
	fill(p, WORDS, 0xb00);
	fill(p + WORDS, WORDS, 0xb00 + 1);
	mprotect(p, 2 * PG, PROT_READ);
	killed = write_kills(p);
	pid = fork_clean();
	if (pid == 0)
		_exit(child_unprotects(p));
	pid2 = fork();
	if (pid2 == 0)
		_exit(second_child(p));
	view = await(CHILD, 1) && holds(p, WORDS, 0xb00) &&
	       holds(p + WORDS, WORDS, 0xb00 + 1);
	still_ro = write_kills(p);
	st2 = reap(pid2);
	mprotect(p, 2 * PG, PROT_READ | PROT_WRITE);
	fill(p + WORDS, WORDS, 0xb02);
	view = view && holds(p, WORDS, 0xb00) && holds(p + WORDS, WORDS, 0xb02);
	post(PARENT, 1);
	st = reap(pid);
	UT_CHECK(killed && still_ro && view && exited_0(st) && exited_0(st2),
		 name, "parent's helper died of SIGSEGV: %d, and after the "
		 "child's mprotect: %d; parent's view right: %d; child's "
		 "outcome %d (1: its helper lived, 2: mprotect failed, 4: its "
		 "view changed, 8: timed out); second child's %d", killed,
		 still_ro, view, outcome(st), outcome(st2));
	munmap(p, 2 * PG);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		path = argv[1];
	ut_plan(11);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		ut_skip("no MAP_SHARED|MAP_ANONYMOUS memory to coordinate in");
	child_reads_parent_data();
	child_writes_are_private();
	parent_writes_are_private();
	child_minflt_is_pages_written();
	three_generations();
	shared_anon_stays_shared();
	private_file_mapping_after_fork();
	read_into_cow_buffer();
	munmap_in_child_leaves_parent();
	mprotect_in_child_leaves_parent();
	mprotect_ro_before_fork_stays_ro();
	ut_done();
}
