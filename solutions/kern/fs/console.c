/*
 * console.c — the console as a file: descriptors 0, 1 and 2 (vnode.h).
 *
 * Output is printed a line at a time, each line whole (one kprintf under
 * console_lock), so lines from programs on four CPUs never mix. While a
 * kernel test runs, each line is one of that test's KTAP diagnostics: a
 * program's output shows up inside the test that ran it, and no program
 * can print a line that reads as a test result. Reading gives end of file.
 */
#if LAB >= 5
#include <errno.h>
#include <fmt.h>
#include <kernel.h>
#include <kstring.h>
#include <ktest.h>
#include <proc.h>
#include <uaccess.h>
#include <vnode.h>

static spinlock_t console_lock = SPINLOCK_INIT("console", LR_VNODE);

static long console_read(vnode_t *vp, uint64_t off, void *buf, size_t len,
			 bool user);
static long console_write(vnode_t *vp, uint64_t off, const void *buf,
			  size_t len, bool user);
static int console_getpage(vnode_t *vp, uint64_t off, struct page **ppp,
			   bool *major);
static int console_map(vnode_t *vp, uint64_t off, struct as *as,
		       uintptr_t *addrp, size_t len, unsigned prot,
		       unsigned maxprot, unsigned flags);
static long console_ioctl(vnode_t *vp, unsigned long cmd, uintptr_t arg);

static const struct vnodeops console_vnodeops = {
	.vop_name = "console",
	.vop_read = console_read,
	.vop_write = console_write,
	.vop_getpage = console_getpage,
	.vop_map = console_map,
	.vop_ioctl = console_ioctl,
};

vnode_t console_vnode = {
	.v_ops = &console_vnodeops,
	.v_type = VCHR,
	.v_lock = SPINLOCK_INIT("console.v_lock", LR_VNODE),
	.v_path = "console",
};

/* Print one finished line (no newline in it). */
static void console_line(const char *s, size_t n)
{
	char line[200];

	n = MIN(n, sizeof(line) - 1);
	memcpy(line, s, n);
	line[n] = '\0';
	spin_lock(&console_lock);
	if (ktest_running())
		ktest_diag_line(line);
	else
		kprintf("%s\n", line);
	spin_unlock(&console_lock);
}

/* Add bytes to p's line; print every line they finish. */
static void console_put(proc_t *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '\n') {
			console_line(p->p_conbuf, (size_t)p->p_conlen);
			p->p_conlen = 0;
			continue;
		}
		if (p->p_conlen == (int)sizeof(p->p_conbuf)) {
			console_line(p->p_conbuf, (size_t)p->p_conlen);
			p->p_conlen = 0;
		}
		p->p_conbuf[p->p_conlen++] = c >= ' ' || c == '\t' ? c : '?';
	}
}

void console_flush(proc_t *p)
{
	if (p->p_conlen > 0) {
		console_line(p->p_conbuf, (size_t)p->p_conlen);
		p->p_conlen = 0;
	}
}

void console_printf(const char *fmt, ...)
{
	char buf[192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	console_line(buf, MIN((size_t)n, sizeof(buf) - 1));
}

static long console_read(vnode_t *vp, uint64_t off, void *buf, size_t len,
			 bool user)
{
	(void)vp, (void)off, (void)buf, (void)len, (void)user;
	return 0; /* no keyboard for programs: end of file */
}

static long console_write(vnode_t *vp, uint64_t off, const void *buf,
			  size_t len, bool user)
{
	proc_t *p = curproc;
	char chunk[128];
	size_t done = 0;

	(void)vp, (void)off;
	while (done < len) {
		size_t n = MIN(sizeof(chunk), len - done);

		if (user) {
			int err = copyin((const char *)buf + done, chunk, n);

			if (err != 0)
				return done > 0 ? (long)done : err;
		} else {
			memcpy(chunk, (const char *)buf + done, n);
		}
		console_put(p, chunk, n);
		done += n;
	}
	return (long)done;
}

static int console_getpage(vnode_t *vp, uint64_t off, struct page **ppp,
			   bool *major)
{
	(void)vp, (void)off, (void)ppp, (void)major;
	return -ENODEV;
}

static int console_map(vnode_t *vp, uint64_t off, struct as *as,
		       uintptr_t *addrp, size_t len, unsigned prot,
		       unsigned maxprot, unsigned flags)
{
	(void)vp, (void)off, (void)as, (void)addrp, (void)len, (void)prot;
	(void)maxprot, (void)flags;
	return -ENODEV;
}

/* struct winsize, as Linux's TIOCGWINSZ fills it. */
struct winsize {
	uint16_t ws_row, ws_col, ws_xpixel, ws_ypixel;
};

static long console_ioctl(vnode_t *vp, unsigned long cmd, uintptr_t arg)
{
	static const struct winsize ws = { 24, 80, 0, 0 };

	(void)vp;
	if (cmd != TIOCGWINSZ)
		return -ENOTTY;
	return copyout(&ws, (void *)arg, sizeof(ws));
}
#endif /* LAB >= 5 */
