/*
 * cpio.h — reading the initrd: a cpio archive in the "newc" format.
 *
 * QEMU loads the initrd (-initrd FILE) into guest memory and the PVH start
 * info names where it is. The build packs the user programs and their data
 * files into it with `cpio -o -H newc` (Debian package cpio), and ramfs
 * (lab 5 on) serves them as files.
 *
 * The archive is untrusted input as far as this reader is concerned: every
 * field is checked against the archive's length before it is used, so a
 * truncated or corrupt initrd is an error with a reason, never a read past
 * its end.
 */
#ifndef CPIO_H
#define CPIO_H

#include <stddef.h>
#include <stdint.h>

#define CPIO_S_IFMT 0170000
#define CPIO_S_IFREG 0100000
#define CPIO_S_IFDIR 0040000

/* One entry of the archive, pointing into it (nothing is copied). */
typedef struct cpio_file {
	const char *cf_name;    /* NUL-terminated, as stored: "user/hello" */
	size_t cf_namelen;      /* strlen(cf_name) */
	uint32_t cf_mode;       /* type and permission bits, as st_mode */
	const void *cf_data;    /* the file's bytes */
	size_t cf_size;         /* how many */
} cpio_file_t;

/* What cpio_walk() calls for each entry; non-zero stops the walk. */
typedef int (*cpio_fn_t)(const cpio_file_t *f, void *arg);

/*
 * Call fn for each entry of the newc archive [archive, archive + len), in
 * order, up to its "TRAILER!!!" entry. Returns 0; fn's non-zero value if it
 * stopped the walk; or -EINVAL for a malformed archive, with *why (if why is
 * not NULL) set to a static string naming what is wrong.
 */
int cpio_walk(const void *archive, size_t len, cpio_fn_t fn, void *arg,
	      const char **why);

#endif /* CPIO_H */
