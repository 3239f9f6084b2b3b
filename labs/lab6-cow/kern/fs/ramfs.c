/*
 * ramfs.c — the files of the initrd, as vnodes (vnode.h).
 *
 * The initrd is this system's disk: a cpio archive in memory that the
 * boot loader left us, which the kernel never writes. The ramfs is its
 * driver. Its files' pages live in the page cache; a page that is not
 * there yet is read in from the archive by ramfs_getpage() (the "disk
 * read" of a major fault), and from then on every read(), write() and
 * mapping of that part of the file uses the cached page. A write changes
 * the cached page only: the archive keeps the original bytes, as a disk
 * would until a writeback that this kernel never does.
 *
 * Files keep the size the archive gives them: write() never extends a
 * file, and no file is ever created.
 */
#include <as.h>
#include <cpio.h>
#include <errno.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <memmap.h>
#include <page.h>
#include <seg_vn.h>
#include <uaccess.h>
#include <vmstat.h>
#include <vnode.h>

#define RAMFS_MAXFILES 128
#define RAMFS_NAMEMAX 128

struct ramfs_node {
	vnode_t rn_vnode;
	char rn_name[RAMFS_NAMEMAX]; /* without a leading slash */
	const void *rn_data;         /* the bytes in the initrd */
};

static struct ramfs_node *ramfs_files[RAMFS_MAXFILES];
static int ramfs_n;

static long ramfs_read(vnode_t *vp, uint64_t off, void *buf, size_t len,
		       bool user);
static long ramfs_write(vnode_t *vp, uint64_t off, const void *buf,
			size_t len, bool user);
static int ramfs_getpage(vnode_t *vp, uint64_t off, page_t **ppp,
			 bool *major);
static int ramfs_map(vnode_t *vp, uint64_t off, struct as *as,
		     uintptr_t *addrp, size_t len, unsigned prot,
		     unsigned maxprot, unsigned flags);
static long ramfs_ioctl(vnode_t *vp, unsigned long cmd, uintptr_t arg);

static const struct vnodeops ramfs_vnodeops = {
	.vop_name = "ramfs",
	.vop_read = ramfs_read,
	.vop_write = ramfs_write,
	.vop_getpage = ramfs_getpage,
	.vop_map = ramfs_map,
	.vop_ioctl = ramfs_ioctl,
};

static int ramfs_add(const cpio_file_t *f, void *arg)
{
	struct ramfs_node *rn;
	uint32_t type = f->cf_mode & CPIO_S_IFMT;

	(void)arg;
	if (type != CPIO_S_IFREG && type != CPIO_S_IFDIR)
		return 0; /* links and devices: not here */
	if (ramfs_n == RAMFS_MAXFILES || f->cf_namelen >= RAMFS_NAMEMAX) {
		kprintf("ramfs: skipping %s (too many files or too long)\n",
			f->cf_name);
		return 0;
	}
	rn = kmem_zalloc(sizeof(*rn), KM_NOSLEEP);
	if (rn == NULL)
		return -ENOMEM;
	strlcpy(rn->rn_name, f->cf_name, sizeof(rn->rn_name));
	rn->rn_data = f->cf_data;
	rn->rn_vnode.v_ops = &ramfs_vnodeops;
	rn->rn_vnode.v_type = type == CPIO_S_IFREG ? VREG : VDIR;
	rn->rn_vnode.v_size = type == CPIO_S_IFREG ? f->cf_size : 0;
	rn->rn_vnode.v_path = rn->rn_name;
	rn->rn_vnode.v_data = rn;
	spin_init(&rn->rn_vnode.v_lock, "vnode.v_lock", LR_VNODE);
	ramfs_files[ramfs_n++] = rn;
	return 0;
}

void ramfs_init(void)
{
	const char *why = NULL;
	int err;

	if (initrd_size == 0) {
		kprintf("ramfs: no initrd\n");
		return;
	}
	err = cpio_walk(kpm_va(initrd_pa), initrd_size, ramfs_add, NULL, &why);
	if (err != 0)
		kprintf("ramfs: initrd: %s\n", why != NULL ? why : "no memory");
	kprintf("ramfs: %d files from the initrd\n", ramfs_n);
}

int ramfs_nfiles(void)
{
	return ramfs_n;
}

vnode_t *ramfs_lookup(const char *path)
{
	while (*path == '/')
		path++;
	if (path[0] == '.' && path[1] == '/')
		path += 2;
	for (int i = 0; i < ramfs_n; i++)
		if (strcmp(ramfs_files[i]->rn_name, path) == 0)
			return &ramfs_files[i]->rn_vnode;
	return NULL;
}

/*
 * The page of vp at off: from the page cache, or read in from the initrd
 * (zeros past the end of the file, as on any file system).
 */
static int ramfs_getpage(vnode_t *vp, uint64_t off, page_t **ppp,
			 bool *major)
{
	struct ramfs_node *rn = vp->v_data;
	page_t *pp;
	size_t n;
	char *va;

	ASSERT(off % PAGESIZE == 0);
	*major = false;
	if (off >= ROUNDUP(vp->v_size, PAGESIZE))
		return -EFAULT;
	pp = page_lookup(vp, off);
	if (pp != NULL) {
		*ppp = pp;
		return 0;
	}
	pp = page_create_va(vp, off);
	if (pp == NULL)
		return -ENOMEM;
	va = kpm_va(page_pfn(pp) << PAGESHIFT);
	n = MIN(PAGESIZE, vp->v_size - off);
	memcpy(va, (const char *)rn->rn_data + off, n);
	memset(va + n, 0, PAGESIZE - n);
	if (!page_hashin(pp, vp, off)) {
		/* Another CPU read it in first: use theirs. */
		page_free_pages(pp, 0);
		pp = page_lookup(vp, off);
		ASSERT(pp != NULL);
	} else {
		*major = true;
		VMINFO_ADD(pgin);
	}
	*ppp = pp;
	return 0;
}

/* Move bytes between the file's cached pages and buf (read or write). */
static long ramfs_rw(vnode_t *vp, uint64_t off, void *buf, size_t len,
		     bool user, bool write)
{
	size_t done = 0;

	if (vp->v_type != VREG)
		return -EISDIR;
	if (off >= vp->v_size)
		return write && len > 0 ? -ENOSPC : 0;
	len = MIN(len, vp->v_size - off);
	while (done < len) {
		uint64_t pos = off + done;
		size_t in = pos % PAGESIZE, n = MIN(PAGESIZE - in, len - done);
		page_t *pp;
		bool major;
		char *va;
		int err;

		err = ramfs_getpage(vp, pos - in, &pp, &major);
		if (err != 0)
			return done > 0 ? (long)done : err;
		va = (char *)kpm_va(page_pfn(pp) << PAGESHIFT) + in;
		if (write)
			err = user ? copyin((char *)buf + done, va, n)
				   : (memcpy(va, (char *)buf + done, n), 0);
		else
			err = user ? copyout(va, (char *)buf + done, n)
				   : (memcpy((char *)buf + done, va, n), 0);
		if (err != 0)
			return done > 0 ? (long)done : err;
		done += n;
	}
	return (long)done;
}

static long ramfs_read(vnode_t *vp, uint64_t off, void *buf, size_t len,
		       bool user)
{
	return ramfs_rw(vp, off, buf, len, user, false);
}

static long ramfs_write(vnode_t *vp, uint64_t off, const void *buf,
			size_t len, bool user)
{
	return ramfs_rw(vp, off, (void *)buf, len, user, true);
}

static int ramfs_map(vnode_t *vp, uint64_t off, struct as *as,
		     uintptr_t *addrp, size_t len, unsigned prot,
		     unsigned maxprot, unsigned flags)
{
	struct segvn_crargs a = {
		.vp = vp,
		.offset = off,
		.type = flags & MAP_TYPE,
		.prot = prot,
		.maxprot = maxprot,
	};

	if (vp->v_type != VREG)
		return -ENODEV;
	return as_map(as, *addrp, len, segvn_create, &a);
}

static long ramfs_ioctl(vnode_t *vp, unsigned long cmd, uintptr_t arg)
{
	(void)vp, (void)cmd, (void)arg;
	return -ENOTTY;
}
