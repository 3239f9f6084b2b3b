/*
 * exec.c — execve(): static ELF64 executables, ET_EXEC and static PIE
 * (exec.h).
 *
 * exec maps the program; it does not copy it. Each PT_LOAD becomes a
 * MAP_PRIVATE seg_vn segment over the file's own pages, so the first
 * instruction fetched is a page fault that seg_vn answers from the page
 * cache (and the page cache from the initrd). Writable data is private:
 * the first write to a data page gives the process its own copy. The one
 * thing exec writes is zeros: the part of the last data page past the
 * file's bytes belongs to .bss and must read as zero, so it is cleared
 * through the new mapping, as Linux does, which makes that page private.
 *
 * The new address space is built complete before the old one is let go,
 * so any failure (a bad file, no memory) leaves the caller's program as it
 * was, and execve() returns the error to it.
 */
#if LAB >= 5
#include <as.h>
#include <errno.h>
#include <exec.h>
#include <kernel.h>
#include <kmem.h>
#include <kstring.h>
#include <proc.h>
#include <rand.h>
#include <seg_vn.h>
#include <trap.h>
#include <uaccess.h>
#include <vnode.h>
#include <cpu.h>
#include <x86.h>

/* ELF64 (the System V ABI's gABI and its x86-64 supplement). */
#define EI_NIDENT 16
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define ET_DYN 3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_INTERP 3
#define PT_PHDR 6
#define PF_X 0x1
#define PF_W 0x2
#define PF_R 0x4
#define EXEC_MAXPHDR 64

struct elf64_ehdr {
	uint8_t e_ident[EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum,
		e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

/* The aux vector's keys (Linux's <elf.h>). */
#define AT_NULL 0
#define AT_PHDR 3
#define AT_PHENT 4
#define AT_PHNUM 5
#define AT_PAGESZ 6
#define AT_BASE 7
#define AT_FLAGS 8
#define AT_ENTRY 9
#define AT_UID 11
#define AT_EUID 12
#define AT_GID 13
#define AT_EGID 14
#define AT_PLATFORM 15
#define AT_HWCAP 16
#define AT_CLKTCK 17
#define AT_SECURE 23
#define AT_RANDOM 25
#define AT_EXECFN 31
#define NAUXV 18

#define RFLAGS_USER 0x202 /* IF, and bit 1 which is always set */

struct execargs *execargs_alloc(void)
{
	struct execargs *ea = kmem_zalloc(sizeof(*ea), KM_NOSLEEP);

	if (ea == NULL)
		return NULL;
	ea->ea_buf = kmem_alloc(EA_BUFSIZE, KM_NOSLEEP);
	if (ea->ea_buf == NULL) {
		kmem_free(ea, sizeof(*ea));
		return NULL;
	}
	return ea;
}

void execargs_free(struct execargs *ea)
{
	kmem_free(ea->ea_buf, EA_BUFSIZE);
	kmem_free(ea, sizeof(*ea));
}

/* Append one string to ea's buffer; -E2BIG if it does not fit. */
static int ea_put(struct execargs *ea, const char *s)
{
	size_t n = strlen(s) + 1;

	if (n > EA_BUFSIZE - ea->ea_len ||
	    ea->ea_argc + ea->ea_envc >= EA_MAXARGS)
		return -E2BIG;
	memcpy(ea->ea_buf + ea->ea_len, s, n);
	ea->ea_len += n;
	return 0;
}

int execargs_kernel(struct execargs *ea, const char *path,
		    const char *const argv[], const char *const envp[])
{
	int err;

	if (strlcpy(ea->ea_path, path, sizeof(ea->ea_path)) >=
	    sizeof(ea->ea_path))
		return -ENAMETOOLONG;
	for (int i = 0; argv != NULL && argv[i] != NULL; i++, ea->ea_argc++)
		if ((err = ea_put(ea, argv[i])) != 0)
			return err;
	for (int i = 0; envp != NULL && envp[i] != NULL; i++, ea->ea_envc++)
		if ((err = ea_put(ea, envp[i])) != 0)
			return err;
	return 0;
}

/* Copy in one NULL-terminated vector of user strings; count it in *n. */
static int ea_put_user(struct execargs *ea, const uint64_t *uvec, int *n)
{
	for (size_t i = 0; uvec != NULL; i++) {
		uint64_t up;
		size_t len;
		int err;

		if ((err = copyin(uvec + i, &up, sizeof(up))) != 0)
			return err;
		if (up == 0)
			return 0;
		if (ea->ea_argc + ea->ea_envc >= EA_MAXARGS ||
		    ea->ea_len >= EA_BUFSIZE)
			return -E2BIG;
		err = copyinstr((const char *)up, ea->ea_buf + ea->ea_len,
				EA_BUFSIZE - ea->ea_len, &len);
		if (err != 0)
			return err == -ENAMETOOLONG ? -E2BIG : err;
		ea->ea_len += len + 1;
		(*n)++;
	}
	return 0;
}

int execargs_user(struct execargs *ea, const char *upath,
		  const uint64_t *uargv, const uint64_t *uenvp)
{
	int err = copyinstr(upath, ea->ea_path, sizeof(ea->ea_path), NULL);

	if (err != 0)
		return err;
	if ((err = ea_put_user(ea, uargv, &ea->ea_argc)) != 0)
		return err;
	return ea_put_user(ea, uenvp, &ea->ea_envc);
}

/* PF_* to PROT_*. */
static unsigned elf_prot(uint32_t flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) |
	       ((flags & PF_W) ? PROT_WRITE : 0) |
	       ((flags & PF_X) ? PROT_EXEC : 0);
}

/* Map [addr, addr + len) of as: the file from off, or anonymous (vp NULL). */
static int exec_map(struct as *as, vnode_t *vp, uint64_t off, uintptr_t addr,
		    size_t len, unsigned prot)
{
	struct segvn_crargs a = {
		.vp = vp,
		.offset = off,
		.type = MAP_PRIVATE,
		.prot = prot,
		.maxprot = PROT_READ | PROT_WRITE | PROT_EXEC,
		.amp = NULL,
	};

	if (len == 0)
		return 0;
	return as_map(as, addr, len, segvn_create, &a);
}

/* What loading the segments found out, for the stack and the regs. */
struct exec_image {
	uint64_t entry;
	uint64_t phdr;      /* where the program headers are mapped */
	uint16_t phnum;
	uintptr_t brk;      /* the end of the highest segment */
	/* bss tails: [start, end) of last file pages to clear */
	uintptr_t zero_start[EXEC_MAXPHDR], zero_end[EXEC_MAXPHDR];
	int nzero;
};

/*
 * Check the headers and map every PT_LOAD of vp into as. 0, -ENOEXEC for
 * anything this kernel cannot run, or -ENOMEM.
 */
static int exec_load(vnode_t *vp, struct as *as, struct exec_image *im)
{
	struct elf64_ehdr eh;
	struct elf64_phdr *ph;
	size_t phsize;
	uint64_t bias = 0, phdr_va = 0;
	bool have_phdr = false;
	long got;
	int err = 0;

	got = VOP_READ(vp, 0, &eh, sizeof(eh), false);
	if (got != (long)sizeof(eh) || memcmp(eh.e_ident, "\177ELF", 4) != 0 ||
	    eh.e_ident[4] != ELFCLASS64 || eh.e_ident[5] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64 ||
	    (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(*ph) || eh.e_phnum == 0 ||
	    eh.e_phnum > EXEC_MAXPHDR)
		return -ENOEXEC;
	phsize = (size_t)eh.e_phnum * sizeof(*ph);
	ph = kmem_alloc(phsize, KM_NOSLEEP);
	if (ph == NULL)
		return -ENOMEM;
	got = VOP_READ(vp, eh.e_phoff, ph, phsize, false);
	if (got != (long)phsize) {
		err = -ENOEXEC;
		goto out;
	}
	if (eh.e_type == ET_DYN)
		bias = ET_DYN_BASE;
	memset(im, 0, sizeof(*im));
	im->entry = eh.e_entry + bias;
	im->phnum = eh.e_phnum;
	for (int i = 0; i < eh.e_phnum && err == 0; i++) {
		struct elf64_phdr *p = &ph[i];
		uint64_t va = p->p_vaddr + bias, start, fend, mend;

		if (p->p_type == PT_INTERP) {
			err = -ENOEXEC; /* dynamically linked: not here */
			break;
		}
		if (p->p_type == PT_PHDR) {
			phdr_va = va;
			have_phdr = true;
		}
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz ||
		    p->p_offset % PAGESIZE != va % PAGESIZE ||
		    p->p_offset + p->p_filesz < p->p_offset ||
		    p->p_offset + p->p_filesz > vp->v_size ||
		    !user_range_ok(va, p->p_memsz) || va < USERBASE) {
			err = -ENOEXEC;
			break;
		}
		if (!have_phdr && eh.e_phoff >= p->p_offset &&
		    eh.e_phoff + phsize <= p->p_offset + p->p_filesz)
			phdr_va = va + (eh.e_phoff - p->p_offset);
		start = ROUNDDOWN(va, PAGESIZE);
		fend = ROUNDUP(va + p->p_filesz, PAGESIZE);
		mend = ROUNDUP(va + p->p_memsz, PAGESIZE);
		if (p->p_filesz > 0)
			err = exec_map(as, vp, ROUNDDOWN(p->p_offset, PAGESIZE),
				       start, fend - start, elf_prot(p->p_flags));
		else
			fend = start;
		if (err == 0 && mend > fend)
			err = exec_map(as, NULL, 0, fend, mend - fend,
				       elf_prot(p->p_flags));
		if (err == 0 && p->p_memsz > p->p_filesz && p->p_filesz > 0 &&
		    (va + p->p_filesz) % PAGESIZE != 0) {
			if (!(p->p_flags & PF_W)) {
				err = -ENOEXEC; /* bss that cannot be cleared */
				break;
			}
			im->zero_start[im->nzero] = va + p->p_filesz;
			im->zero_end[im->nzero++] = fend;
		}
		im->brk = MAX(im->brk, mend);
	}
	if (err == 0 && (im->brk == 0 || phdr_va == 0))
		err = -ENOEXEC;
	im->phdr = phdr_va;
out:
	kmem_free(ph, phsize);
	return err;
}

/* Clear the bss tails of the file pages (through the new mapping). */
static int exec_zero(const struct exec_image *im)
{
	static const char zeros[256];

	for (int i = 0; i < im->nzero; i++) {
		for (uintptr_t a = im->zero_start[i]; a < im->zero_end[i];) {
			size_t n = MIN(sizeof(zeros), im->zero_end[i] - a);
			int err = copyout(zeros, (void *)a, n);

			if (err != 0)
				return err;
			a += n;
		}
	}
	return 0;
}

/*
 * The initial stack, as the x86-64 psABI lays it out, from the top down:
 * the strings (argv's, envp's, the platform name, the path), 16 random
 * bytes, then, 16-aligned at the new %rsp: argc, argv[], NULL, envp[],
 * NULL, the aux vector (pairs), AT_NULL.
 */
static int exec_stack(const struct execargs *ea, const struct exec_image *im,
		      uintptr_t *rspp)
{
	static const char platform[] = "x86_64";
	uint64_t *vec;
	size_t nvec, vlen, plen = strlen(ea->ea_path) + 1;
	uintptr_t sp = USERSTACK_TOP, strs, path_u, plat_u, rand_u, rsp;
	uint8_t rnd[16];
	struct rand r;
	size_t n = 0, off = 0;
	int err;

	sp -= ea->ea_len;
	strs = sp;
	sp -= plen;
	path_u = sp;
	sp -= sizeof(platform);
	plat_u = sp;
	sp = ROUNDDOWN(sp, 16) - sizeof(rnd);
	rand_u = sp;
	nvec = 1 + (size_t)ea->ea_argc + 1 + (size_t)ea->ea_envc + 1 +
	       2 * NAUXV;
	vlen = nvec * sizeof(uint64_t);
	rsp = ROUNDDOWN(sp - vlen, 16);
	if (USERSTACK_TOP - rsp > USERSTACK_SIZE / 4)
		return -E2BIG;
	vec = kmem_alloc(vlen, KM_NOSLEEP);
	if (vec == NULL)
		return -ENOMEM;
	vec[n++] = (uint64_t)ea->ea_argc;
	for (int i = 0; i < ea->ea_argc + ea->ea_envc; i++) {
		if (i == ea->ea_argc)
			vec[n++] = 0;
		vec[n++] = strs + off;
		off += strlen(ea->ea_buf + off) + 1;
	}
	if (ea->ea_envc == 0 && ea->ea_argc >= 0)
		vec[n++] = 0;
	vec[n++] = 0;
#define AUX(k, v) (vec[n++] = (k), vec[n++] = (uint64_t)(v))
	AUX(AT_PHDR, im->phdr);
	AUX(AT_PHENT, sizeof(struct elf64_phdr));
	AUX(AT_PHNUM, im->phnum);
	AUX(AT_PAGESZ, PAGESIZE);
	AUX(AT_BASE, 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, im->entry);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_PLATFORM, plat_u);
	AUX(AT_HWCAP, 0);
	AUX(AT_CLKTCK, 100);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, rand_u);
	AUX(AT_EXECFN, path_u);
	AUX(AT_NULL, 0);
#undef AUX
	ASSERT(n == nvec);
	rand_seed(&r, rdtsc() ^ (uint64_t)curproc->p_pid << 32);
	for (size_t i = 0; i < sizeof(rnd); i += 8) {
		uint64_t x = rand_next(&r);

		memcpy(rnd + i, &x, 8);
	}
	if ((err = copyout(ea->ea_buf, (void *)strs, ea->ea_len)) != 0 ||
	    (err = copyout(ea->ea_path, (void *)path_u, plen)) != 0 ||
	    (err = copyout(platform, (void *)plat_u, sizeof(platform))) != 0 ||
	    (err = copyout(rnd, (void *)rand_u, sizeof(rnd))) != 0 ||
	    (err = copyout(vec, (void *)rsp, vlen)) != 0) {
		kmem_free(vec, vlen);
		return err;
	}
	kmem_free(vec, vlen);
	*rspp = rsp;
	return 0;
}

int exec_common(struct execargs *ea, struct regs *rp)
{
	proc_t *p = curproc;
	struct as *old = p->p_as, *as;
	struct exec_image *im;
	vnode_t *vp;
	uintptr_t rsp = 0;
	const char *base;
	int err;

	ASSERT(p != &p0);
	vp = ramfs_lookup(ea->ea_path);
	if (vp == NULL)
		return -ENOENT;
	if (vp->v_type != VREG)
		return -EACCES;
	im = kmem_alloc(sizeof(*im), KM_NOSLEEP);
	as = as_alloc();
	if (im == NULL || as == NULL) {
		if (as != NULL)
			as_free(as);
		if (im != NULL)
			kmem_free(im, sizeof(*im));
		return -ENOMEM;
	}
	err = exec_load(vp, as, im);
	if (err == 0)
		err = exec_map(as, NULL, 0, USERSTACK_TOP - USERSTACK_SIZE,
			       USERSTACK_SIZE, PROT_READ | PROT_WRITE);
	if (err == 0) {
		/* From here on the new program's memory is the one in use. */
		p->p_as = as;
		as_activate(as);
		err = exec_zero(im);
		if (err == 0)
			err = exec_stack(ea, im, &rsp);
		if (err != 0) {
			p->p_as = old;
			if (old != NULL)
				as_activate(old);
			else
				as_deactivate();
		}
	}
	if (err != 0) {
		as_free(as);
		kmem_free(im, sizeof(*im));
		return err == -EFAULT ? -ENOMEM : err;
	}
	if (old != NULL)
		as_free(old);
	base = strrchr(ea->ea_path, '/');
	strlcpy(p->p_comm, base != NULL ? base + 1 : ea->ea_path,
		sizeof(p->p_comm));
	p->p_brkbase = p->p_brk = im->brk;
	p->p_sigmask = 0;
	memset(rp, 0, sizeof(*rp));
	rp->r_rip = im->entry;
	rp->r_cs = UCS_SEL;
	rp->r_rfl = RFLAGS_USER;
	rp->r_rsp = rsp;
	rp->r_ss = UDS_SEL;
	rp->r_trapno = T_SYSCALL;
	mach_exec_reset();
	kmem_free(im, sizeof(*im));
	return 0;
}
#endif /* LAB >= 5 */
