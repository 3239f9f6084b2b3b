/*
 * mmap_test — what mmap(2), munmap(2), mprotect(2), mincore(2) and brk(2)
 * promise a process: lab 5's address space and segment driver as a
 * program sees them. No fork: lab 5 has none yet.
 *
 * Without arguments it runs every check a process survives. With one
 * argument it does one thing that must kill it, and the caller checks
 * the signal (vmlab's kernel test, and `make check` on Linux):
 *
 *	write_ro	write to a PROT_READ mapping	SIGSEGV
 *	read_none	read a PROT_NONE mapping	SIGSEGV
 *	after_munmap	touch a page after munmap	SIGSEGV
 *	past_eof	touch a file mapping's page past EOF	SIGBUS
 *
 * The file is files/pattern.bin (3 pages and 100 bytes, byte i is
 * (i * 7 + i / 4096) & 0xff), opened read-write for the shared-mapping
 * checks; every byte it changes it puts back.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/utest.h"

#define PG 4096L
#define FILE_SIZE (3 * PG + 100)
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static const char *path = "/files/pattern.bin";

static unsigned char pattern(long i)
{
	return (unsigned char)((i * 7 + i / 4096) & 0xff);
}

static long minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* The fatal cases: each must end the process with a signal. */
static int fatal(const char *what)
{
	volatile unsigned char *p;
	int fd;

	if (strcmp(what, "write_ro") == 0) {
		p = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
	} else if (strcmp(what, "read_none") == 0) {
		p = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		(void)p[0];
	} else if (strcmp(what, "after_munmap") == 0) {
		p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[PG] = 1;
		munmap((void *)p, 2 * PG);
		p[PG] = 2;
	} else if (strcmp(what, "past_eof") == 0) {
		fd = open(path, O_RDONLY);
		p = mmap(NULL, 8 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
		(void)p[3 * PG + 200]; /* the last page: fine, zeros */
		(void)p[5 * PG];       /* past it: SIGBUS */
	} else {
		printf("mmap_test: no case %s\n", what);
		return 2;
	}
	printf("mmap_test: %s: still alive\n", what);
	return 3;
}

static void anonymous(void)
{
	long before, after, zero = 1, resident = 0;
	unsigned char vec[16];
	unsigned char *p;

	p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	UT_CHECK(p != MAP_FAILED, "anon_mmap_succeeds", "errno %d", errno);
	if (p == MAP_FAILED)
		return;
	UT_CHECK(mincore(p, 16 * PG, vec) == 0, "mincore_succeeds",
		 "errno %d", errno);
	for (int i = 0; i < 16; i++)
		resident += vec[i] & 1;
	UT_CHECK(resident == 0, "untouched_pages_not_resident",
		 "%ld of 16 resident", resident);
	/*
	 * Write first: Linux maps its shared zero page on a read fault and
	 * faults again on the write that follows, vmlab zero-fills at once;
	 * a write first costs one fault on both. Count from here: the
	 * printf of the checks above may take a fault of its own on Linux.
	 */
	before = minflt();
	for (int i = 0; i < 16; i += 2) {
		p[i * PG] = 0xaa;
		__asm__ volatile("" ::: "memory"); /* the store goes first */
		zero &= p[i * PG + 123] == 0;
	}
	after = minflt();
	UT_CHECK(zero, "anon_reads_zero", "a byte was not 0");
	UT_CHECK(after - before == 8, "one_fault_per_touched_page",
		 "%ld faults for 8 pages", after - before);
	mincore(p, 16 * PG, vec);
	resident = 0;
	for (int i = 0; i < 16; i++)
		resident += (vec[i] & 1) == (i % 2 == 0);
	UT_CHECK(resident == 16, "mincore_shows_touched_pages",
		 "%ld of 16 pages as expected", resident);
	munmap(p, 16 * PG);
}

static void file_mappings(void)
{
	int fd = open(path, O_RDWR), rofd = open(path, O_RDONLY), same = 1;
	unsigned char *p, *q, *s, b = 0;
	long tail = 1;

	UT_CHECK(fd >= 0 && rofd >= 0, "open_pattern", "errno %d", errno);
	if (fd < 0 || rofd < 0)
		return;
	p = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, rofd, 0);
	UT_CHECK(p != MAP_FAILED, "file_mmap_succeeds", "errno %d", errno);
	if (p == MAP_FAILED)
		return;
	for (long i = 0; i < FILE_SIZE; i += 97)
		same &= p[i] == pattern(i);
	UT_CHECK(same, "file_mapping_reads_the_file", "a byte differs");
	for (long i = FILE_SIZE; i < 4 * PG; i++)
		tail &= p[i] == 0;
	UT_CHECK(tail, "last_page_tail_reads_zero", "a byte is not 0");

	/* MAP_SHARED: a store is the file's, for read() and other maps. */
	s = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, PG);
	q = mmap(NULL, PG, PROT_READ, MAP_SHARED, rofd, PG);
	UT_CHECK(s != MAP_FAILED && q != MAP_FAILED, "shared_mmap_succeeds",
		 "errno %d", errno);
	if (s != MAP_FAILED && q != MAP_FAILED) {
		s[10] = (unsigned char)~pattern(PG + 10);
		pread(fd, &b, 1, PG + 10);
		UT_CHECK(b == (unsigned char)~pattern(PG + 10),
			 "shared_write_seen_by_read", "read %#x", b);
		UT_CHECK(q[10] == b, "shared_write_seen_by_other_mapping",
			 "%#x", q[10]);
		s[10] = pattern(PG + 10);
	}

	/* MAP_PRIVATE: a store is the process's own copy. */
	q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (q != MAP_FAILED) {
		/* Read first: the write then meets a page already mapped. */
		b = q[20];
		q[20] = (unsigned char)~b;
		pread(fd, &b, 1, 20);
		UT_CHECK(b == pattern(20) && p[20] == pattern(20) &&
			 q[20] == (unsigned char)~pattern(20),
			 "private_write_seen_by_no_one_else",
			 "read %#x, other map %#x", b, p[20]);
	}

	/* maxprot: a file open for reading never becomes shared-writable. */
	q = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, rofd, 0);
	UT_ERRNO(q == MAP_FAILED ? -1 : 0, errno, EACCES,
		 "shared_write_map_of_readonly_fd_eacces", "mmap");
	q = mmap(NULL, PG, PROT_READ, MAP_SHARED, rofd, 0);
	if (q != MAP_FAILED)
		UT_ERRNO(mprotect(q, PG, PROT_READ | PROT_WRITE), errno, EACCES,
			 "mprotect_beyond_maxprot_eacces", "mprotect");
	close(fd);
	close(rofd);
}

static void kernel_touches_lazy_pages(void)
{
	int fd = open(path, O_RDONLY);
	unsigned char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *ro = mmap(NULL, PG, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ssize_t n;

	n = read(fd, p + 100, PG);
	UT_CHECK(n == PG && p[100] == pattern(0) && p[100 + PG - 1] ==
		 pattern(PG - 1), "read_into_untouched_buffer",
		 "read %zd", n);
	lseek(fd, 0, SEEK_SET);
	UT_ERRNO(read(fd, ro, 10), errno, EFAULT, "read_into_prot_read_efault",
		 "read");
	close(fd);
}

static void brk_cycle(void)
{
	char *base = (char *)syscall(SYS_brk, 0), *top;
	int zero = 1;

	top = (char *)syscall(SYS_brk, base + 5 * PG);
	UT_CHECK(top == base + 5 * PG, "brk_grows", "%p for %p", top,
		 base + 5 * PG);
	if (top != base + 5 * PG)
		return;
	memset(base, 0x5a, 5 * PG);
	top = (char *)syscall(SYS_brk, base + PG);
	UT_CHECK(top == base + PG, "brk_shrinks", "%p", top);
	top = (char *)syscall(SYS_brk, base + 5 * PG);
	for (long i = PG; top == base + 5 * PG &&
	     i < 5 * PG; i += 511)
		zero &= base[i] == 0;
	UT_CHECK(top == base + 5 * PG && zero, "brk_regrown_memory_is_zero",
		 "top %p", top);
	syscall(SYS_brk, base);
}

static void placement(void)
{
	char *a = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0), *b, *hint;

	b = mmap(a + PG, PG, PROT_READ,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	UT_ERRNO(b == MAP_FAILED ? -1 : 0, errno, EEXIST,
		 "fixed_noreplace_occupied_eexist", "mmap");
	munmap(a, 4 * PG);
	hint = a + PG;
	b = mmap(hint, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	UT_CHECK(b == hint, "free_hint_honoured", "%p for %p", b, hint);
	munmap(b, PG);
	b = mmap(a, 2 * PG, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	b[0] = 1;
	b = mmap(a, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0);
	UT_CHECK(b == a && b[0] == 0, "map_fixed_replaces", "%p %d", b,
		 b == a ? b[0] : -1);
	munmap(a, 2 * PG);
}

static void bad_arguments(void)
{
	char *p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	UT_ERRNO(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) ==
		 MAP_FAILED ? -1 : 0, errno, EINVAL, "mmap_length_0_einval",
		 "mmap");
	UT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0) == MAP_FAILED
		 ? -1 : 0, errno, EINVAL, "mmap_no_type_einval", "mmap");
	UT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 99, 0) == MAP_FAILED
		 ? -1 : 0, errno, EBADF, "mmap_bad_fd_ebadf", "mmap");
	UT_ERRNO(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      100) == MAP_FAILED ? -1 : 0, errno, EINVAL,
		 "mmap_unaligned_offset_einval", "mmap");
	UT_ERRNO(mmap(p + 1, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		      MAP_FIXED, -1, 0) == MAP_FAILED ? -1 : 0, errno, EINVAL,
		 "mmap_fixed_unaligned_einval", "mmap");
	UT_ERRNO(munmap(p + 1, PG), errno, EINVAL, "munmap_unaligned_einval",
		 "munmap");
	UT_ERRNO(munmap(p, 0), errno, EINVAL, "munmap_length_0_einval",
		 "munmap");
	UT_ERRNO(syscall(SYS_mprotect, p + 1, PG, PROT_READ), errno, EINVAL,
		 "mprotect_unaligned_einval", "mprotect");
	UT_ERRNO(mprotect(p, PG, 0x100), errno, EINVAL,
		 "mprotect_bad_prot_einval", "mprotect");
	munmap(p, 2 * PG);
	UT_ERRNO(mprotect(p, PG, PROT_READ), errno, ENOMEM,
		 "mprotect_unmapped_enomem", "mprotect");
	UT_CHECK(munmap(p, PG) == 0, "munmap_unmapped_is_fine",
		 "errno %d", errno);
}

int main(int argc, char **argv)
{
	if (argc > 2)
		path = argv[2];
	if (argc > 1 && strcmp(argv[1], "-") != 0)
		return fatal(argv[1]);
	ut_plan(35);
	anonymous();
	file_mappings();
	kernel_touches_lazy_pages();
	brk_cycle();
	placement();
	bad_arguments();
	ut_done();
}
