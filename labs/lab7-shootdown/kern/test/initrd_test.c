/*
 * initrd_test.c — the initrd suite (from lab 5): the archive QEMU loaded
 * is the one the build packed, it holds the user programs, and its pages
 * are kept from the page allocator.
 *
 * Each test names the bug it catches.
 */
#include <cpio.h>
#include <kernel.h>
#include <kstring.h>
#include <ktest.h>
#include <memmap.h>
#include <page.h>

#define PATTERN_SIZE (3 * 4096 + 100)  /* user/read_file.c */

struct found {
	int files, programs;
	bool hello_is_elf64, pattern_ok;
};

static int check_entry(const cpio_file_t *f, void *arg)
{
	struct found *fd = arg;
	const unsigned char *d = f->cf_data;

	if ((f->cf_mode & CPIO_S_IFMT) != CPIO_S_IFREG)
		return 0;
	fd->files++;
	if (strncmp(f->cf_name, "bin/", 4) == 0 && (f->cf_mode & 0111) != 0)
		fd->programs++;
	/* ELF64, little-endian, x86-64 (e_machine 62 at offset 18). */
	if (strcmp(f->cf_name, "bin/hello") == 0 && f->cf_size > 64)
		fd->hello_is_elf64 = memcmp(d, "\177ELF\2\1", 6) == 0 &&
				     d[18] == 62 && d[19] == 0;
	if (strcmp(f->cf_name, "files/pattern.bin") == 0) {
		fd->pattern_ok = f->cf_size == PATTERN_SIZE;
		for (size_t i = 0; fd->pattern_ok && i < f->cf_size; i++)
			fd->pattern_ok = d[i] == ((i * 7 + i / 4096) & 0xff);
	}
	return 0;
}

/*
 * The archive walks cleanly and holds the five user programs and the
 * data file byte for byte. Fails if the boot code misreads the PVH module
 * list, or if the initrd's pages were handed out and overwritten before
 * the tests ran (the pattern no longer matches).
 */
KTEST(initrd, user_programs_present)
{
	struct found fd = { 0 };
	const char *why = "";
	int err;

	ASSERT_NE(initrd_size, 0UL);
	err = cpio_walk(kpm_va(initrd_pa), initrd_size, check_entry, &fd, &why);
	if (err != 0)
		ktest_fail(__FILE__, __LINE__, "cpio_walk: %s", why);
	/* The programs under bin/, and files/pattern.bin besides them. */
	EXPECT_GE(fd.programs, 5);
	EXPECT_EQ(fd.files, fd.programs + 1);
	EXPECT_TRUE(fd.hello_is_elf64);
	EXPECT_TRUE(fd.pattern_ok);
}

/*
 * Every page of the initrd is boot data to the page allocator: owned, so
 * never free. Fails if page_init() frees them like any other RAM.
 */
KTEST(initrd, pages_kept_from_the_allocator)
{
	uint64_t lo = initrd_pa >> PAGESHIFT;
	uint64_t hi = (initrd_pa + initrd_size + PAGESIZE - 1) >> PAGESHIFT;
	uint64_t bad = 0;

	ASSERT_NE(initrd_size, 0UL);
	ASSERT_TRUE(page_ready);
	for (uint64_t pfn = lo; pfn < hi; pfn++)
		bad += (page_array[pfn].p_flags & P_FREE) != 0 ||
		       page_array[pfn].p_owner == 0;
	EXPECT_EQ(bad, 0UL);
}
