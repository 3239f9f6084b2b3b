/*
 * read_file — a file's bytes through open, fstat, read, lseek and close
 * (man 2 read, lseek). The file is files/pattern.bin, which the build puts
 * in the initrd (vmlab) and passes by path on Linux: byte i is
 * (i * 7 + i / 4096) & 0xff, so every byte can be checked without a copy,
 * and a page read twice or out of order shows.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/utest.h"

#define DEFAULT_PATH "/files/pattern.bin"
#define SIZE (3 * 4096 + 100)    /* not a whole number of pages */

static unsigned char want(long i)
{
	return (unsigned char)((i * 7 + i / 4096) & 0xff);
}

int main(int argc, char **argv)
{
	static unsigned char buf[SIZE + 64];
	const char *path = argc > 1 ? argv[1] : DEFAULT_PATH;
	struct stat st;
	long n, got = 0, bad = -1;
	int fd;

	ut_plan(6);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		ut_skip("no pattern.bin here: run it with its path");
	UT_CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE &&
		 S_ISREG(st.st_mode), "fstat_gives_size_and_type",
		 "size %ld mode %#o", (long)st.st_size, st.st_mode);
	/* Odd-sized reads that straddle pages. */
	while ((n = read(fd, buf + got, 1000)) > 0)
		got += n;
	UT_CHECK(n == 0 && got == SIZE, "read_to_end_of_file",
		 "read %ld bytes, last read %ld", got, n);
	for (long i = 0; i < got && bad < 0; i++)
		if (buf[i] != want(i))
			bad = i;
	UT_CHECK(bad < 0, "every_byte_matches", "byte %ld is %#x, want %#x",
		 bad, bad < 0 ? 0 : buf[bad], bad < 0 ? 0 : want(bad));
	UT_CHECK(lseek(fd, 4096 + 5, SEEK_SET) == 4096 + 5 &&
		 read(fd, buf, 1) == 1 && buf[0] == want(4096 + 5),
		 "lseek_then_read", "byte %#x", buf[0]);
	UT_CHECK(lseek(fd, 0, SEEK_END) == SIZE && read(fd, buf, 1) == 0,
		 "read_at_end_returns_0", "lseek to end");
	UT_CHECK(close(fd) == 0 && close(fd) == -1 && errno == EBADF,
		 "close_twice_ebadf", "errno %d", errno);
	ut_done();
}
