/*
 * errno_test — a table of bad calls and the errno Linux gives each (man 2
 * is the spec). Every pointer is checked before any work is done, and a bad
 * one is EFAULT, never a crash: pointers into kernel space, into the
 * canonical hole, and to unmapped user memory. Raw syscall() is used where
 * musl would check an argument itself.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/utest.h"

#define KERNEL_VA ((void *)0xffffffff80100000UL)   /* the kernel's text */
#define HOLE_VA ((void *)0x0000800000000000UL)     /* non-canonical */
#define LOW_VA ((void *)0x1000UL)                  /* never mapped */

/* A raw system call: -1 and errno set, as libc's wrappers do. */
static long sc(long nr, long a, long b, long c)
{
	return syscall(nr, a, b, c);
}

static void bad_pointers(void)
{
	static const struct {
		const char *name;
		void *p;
	} bad[] = {
		{"kernel", KERNEL_VA}, {"hole", HOLE_VA}, {"unmapped", LOW_VA},
	};
	char name[64];
	long r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "write_%s_buffer_efault",
			 bad[i].name);
		r = sc(SYS_write, 1, (long)bad[i].p, 8);
		UT_ERRNO(r, errno, EFAULT, name, "write(1, bad, 8)");
		snprintf(name, sizeof(name), "fstat_%s_buffer_efault",
			 bad[i].name);
		r = sc(SYS_fstat, 1, (long)bad[i].p, 0);
		UT_ERRNO(r, errno, EFAULT, name, "fstat(1, bad)");
		snprintf(name, sizeof(name), "open_%s_path_efault",
			 bad[i].name);
		r = sc(SYS_openat, AT_FDCWD, (long)bad[i].p, O_RDONLY);
		UT_ERRNO(r, errno, EFAULT, name, "openat(AT_FDCWD, bad)");
		snprintf(name, sizeof(name), "clock_gettime_%s_efault",
			 bad[i].name);
		r = sc(SYS_clock_gettime, CLOCK_MONOTONIC, (long)bad[i].p, 0);
		UT_ERRNO(r, errno, EFAULT, name, "clock_gettime(bad)");
	}
}

static void bad_descriptors(void)
{
	char c;
	long r;

	r = sc(SYS_read, 9999, (long)&c, 1);
	UT_ERRNO(r, errno, EBADF, "read_closed_fd_ebadf", "read(9999)");
	r = sc(SYS_write, -1, (long)&c, 1);
	UT_ERRNO(r, errno, EBADF, "write_negative_fd_ebadf", "write(-1)");
	r = sc(SYS_close, 9999, 0, 0);
	UT_ERRNO(r, errno, EBADF, "close_closed_fd_ebadf", "close(9999)");
	r = sc(SYS_lseek, 9999, 0, SEEK_SET);
	UT_ERRNO(r, errno, EBADF, "lseek_closed_fd_ebadf", "lseek(9999)");
}

static void bad_mappings(void)
{
	long r;

	r = (long)mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	UT_CHECK(r == (long)MAP_FAILED && errno == EINVAL,
		 "mmap_zero_length_einval", "got %#lx errno %d", r, errno);
	r = (long)mmap(NULL, 4096, PROT_READ, MAP_ANONYMOUS, -1, 0);
	UT_CHECK(r == (long)MAP_FAILED && errno == EINVAL,
		 "mmap_neither_shared_nor_private_einval",
		 "got %#lx errno %d", r, errno);
	r = (long)mmap((void *)0x10000001UL, 4096, PROT_READ,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	UT_CHECK(r == (long)MAP_FAILED && errno == EINVAL,
		 "mmap_fixed_unaligned_einval", "got %#lx errno %d", r,
		 errno);
	r = (long)mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 9999, 0);
	UT_CHECK(r == (long)MAP_FAILED && errno == EBADF,
		 "mmap_file_bad_fd_ebadf", "got %#lx errno %d", r, errno);
	r = sc(SYS_munmap, 0x10000001L, 4096, 0);
	UT_ERRNO(r, errno, EINVAL, "munmap_unaligned_einval",
		 "munmap(0x10000001)");
	r = sc(SYS_mprotect, 0x10000001L, 4096, PROT_READ);
	UT_ERRNO(r, errno, EINVAL, "mprotect_unaligned_einval",
		 "mprotect(0x10000001)");
}

static void other_calls(void)
{
	struct winsize ws;
	struct rusage ru;
	long r;

	r = sc(1000, 0, 0, 0);
	UT_ERRNO(r, errno, ENOSYS, "unknown_number_enosys", "syscall 1000");
	r = sc(SYS_openat, AT_FDCWD, (long)"/no/such/file", O_RDONLY);
	UT_ERRNO(r, errno, ENOENT, "open_missing_file_enoent",
		 "openat(\"/no/such/file\")");
	r = sc(SYS_wait4, -1, 0, 0);
	UT_ERRNO(r, errno, ECHILD, "wait4_without_children_echild",
		 "wait4(-1)");
	/* Not a terminal's request: a tty says ENOTTY, anything else too. */
	r = sc(SYS_ioctl, 1, 0x5401 /* TCGETS */ + 0x7000, (long)&ws);
	UT_CHECK(r == -1 && (errno == ENOTTY || errno == EINVAL),
		 "ioctl_unknown_request_fails",
		 "got %ld errno %d", r, errno);
	r = sc(SYS_getrusage, 12345, (long)&ru, 0);
	UT_ERRNO(r, errno, EINVAL, "getrusage_bad_who_einval",
		 "getrusage(12345)");
	r = sc(SYS_getrusage, RUSAGE_SELF, (long)KERNEL_VA, 0);
	UT_ERRNO(r, errno, EFAULT, "getrusage_kernel_buffer_efault",
		 "getrusage(SELF, kernel)");
}

int main(void)
{
	ut_plan(4 * 3 + 4 + 6 + 6);
	bad_pointers();
	bad_descriptors();
	bad_mappings();
	other_calls();
	ut_done();
}
