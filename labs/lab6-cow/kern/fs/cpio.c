/*
 * cpio.c — the newc cpio reader behind the initrd (cpio.h).
 *
 * A newc entry is a 110-byte ASCII header, the name, the data:
 *
 *   offset  size  field
 *   0       6     magic "070701" (or "070702": the same, with a checksum)
 *   6       8×13  ino mode uid gid nlink mtime filesize devmajor devminor
 *                 rdevmajor rdevminor namesize check, each 8 hex digits
 *   110     namesize bytes: the name and its NUL
 *   ...     padding to a multiple of 4 from the archive's start
 *           filesize bytes of data, padding to a multiple of 4
 *
 * The last entry is named "TRAILER!!!". Every length read from a header is
 * checked against what is left of the archive before it is used.
 */
#include "cpio.h"

#include "errno.h"
#include "kassert.h"
#include "kstring.h"

#define HDR_SIZE 110
#define NFIELDS 13
#define F_MODE 1
#define F_FILESIZE 6
#define F_NAMESIZE 11
#define TRAILER "TRAILER!!!"

/* 8 hex digits at p; false if one is not a hex digit. */
static bool parse_hex8(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		char c = p[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return false;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

static size_t pad4(size_t off)
{
	return (off + 3) & ~(size_t)3;
}

static int fail(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return -EINVAL;
}

/*
 * Read the entry at archive + off into f; *next is where the next entry
 * starts. 0, or -EINVAL with *why.
 */
static int read_entry(const char *archive, size_t len, size_t off,
		      cpio_file_t *f, size_t *next, const char **why)
{
	uint32_t field[NFIELDS];
	size_t name_off, data_off;

	ASSERT(off <= len && off % 4 == 0);
	if (len - off < HDR_SIZE)
		return fail(why, "truncated: a header runs past the end");
	if (memcmp(archive + off, "07070", 5) != 0 ||
	    (archive[off + 5] != '1' && archive[off + 5] != '2'))
		return fail(why, "bad magic: not a newc archive");
	for (int i = 0; i < NFIELDS; i++)
		if (!parse_hex8(archive + off + 6 + 8 * i, &field[i]))
			return fail(why, "a header field is not hex");
	name_off = off + HDR_SIZE;
	if (field[F_NAMESIZE] == 0 || field[F_NAMESIZE] > len - name_off)
		return fail(why, "a name runs past the end");
	if (archive[name_off + field[F_NAMESIZE] - 1] != '\0' ||
	    memchr(archive + name_off, '\0', field[F_NAMESIZE] - 1) != NULL)
		return fail(why, "a name is not one NUL-terminated string");
	data_off = pad4(name_off + field[F_NAMESIZE]);
	if (data_off > len || field[F_FILESIZE] > len - data_off)
		return fail(why, "a file's data runs past the end");
	f->cf_name = archive + name_off;
	f->cf_namelen = field[F_NAMESIZE] - 1;
	f->cf_mode = field[F_MODE];
	f->cf_data = archive + data_off;
	f->cf_size = field[F_FILESIZE];
	*next = pad4(data_off + field[F_FILESIZE]);
	return 0;
}

int cpio_walk(const void *archive, size_t len, cpio_fn_t fn, void *arg,
	      const char **why)
{
	const char *a = archive;
	size_t off = 0, next;
	cpio_file_t f;
	int err;

	ASSERT(archive != NULL || len == 0);
	ASSERT(fn != NULL);
	for (;;) {
		if (off >= len)
			return fail(why, "truncated: no TRAILER!!! entry");
		err = read_entry(a, len, off, &f, &next, why);
		if (err != 0)
			return err;
		if (strcmp(f.cf_name, TRAILER) == 0)
			return 0;
		err = fn(&f, arg);
		if (err != 0)
			return err;
		off = next;
	}
}
