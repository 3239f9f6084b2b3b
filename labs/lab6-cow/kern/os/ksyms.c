/*
 * ksyms.c — symbol lookup and frame-pointer backtraces.
 *
 * tools/mkksyms.py writes the table from the first link's `nm -n` output:
 * ksyms_addrs[] holds the start of every text symbol in ascending order,
 * ksyms_offs[i] is the offset of its name in ksyms_names. A lookup is a
 * binary search for the last start <= addr.
 *
 * Every function is compiled with -fno-omit-frame-pointer, so each frame
 * starts with the caller's %rbp followed by the return address:
 *
 *	fp -> [ saved rbp ] --> the caller's frame
 *	      [ return address ]
 *
 * boot.S starts the chain with %rbp = 0.
 *
 * A trap breaks the chain: cmntrap pushes a struct regs, not a frame, and
 * calls trap() with %rsp pointing at it. So when a return address is
 * trap_return (the instruction after that call), the struct regs starts
 * just above trap()'s frame, and the walk goes on from the interrupted
 * rip and rbp. That is how a backtrace shows the function that faulted.
 */
#include <kernel.h>
#include <ksyms.h>
#include <kstring.h>
#include <trap.h>

#define BACKTRACE_MAX 32
#define STACK_SPAN (64 * 1024) /* no kernel stack is larger than this */

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_offs[];
extern const char ksyms_names[];

static bool in_text(uintptr_t addr)
{
	return addr >= (uintptr_t)__text_start && addr < (uintptr_t)__text_end;
}

const char *ksym_lookup(uintptr_t addr, uintptr_t *off)
{
	uint64_t lo = 0, hi = ksyms_count;

	if (!in_text(addr) || ksyms_count == 0 || addr < ksyms_addrs[0])
		return NULL;
	while (hi - lo > 1) { /* invariant: addrs[lo] <= addr < addrs[hi] */
		uint64_t mid = lo + (hi - lo) / 2;

		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*off = addr - ksyms_addrs[lo];
	return &ksyms_names[ksyms_offs[lo]];
}

uintptr_t ksym_addr(const char *name)
{
	for (uint64_t i = 0; i < ksyms_count; i++)
		if (strcmp(&ksyms_names[ksyms_offs[i]], name) == 0)
			return ksyms_addrs[i];
	return 0;
}

static bool frame_ok(uintptr_t fp, uintptr_t first)
{
	return fp != 0 && (fp & 7) == 0 && fp >= KPM_BASE &&
	       fp - first < STACK_SPAN;
}

int backtrace_from(uintptr_t fp, uintptr_t *pcs, int max)
{
	uintptr_t first = fp, trap_ret = ksym_addr("trap_return");
	int n = 0;

	while (n < max && frame_ok(fp, first)) {
		const uintptr_t *frame = (const uintptr_t *)fp;
		uintptr_t next = frame[0];

		if (!in_text(frame[1]))
			break;
		pcs[n++] = frame[1];
		if (frame[1] == trap_ret && trap_ret != 0 && n < max) {
			const struct regs *rp = (const void *)(fp + 16);

			if (!in_text(rp->r_rip))
				break;
			pcs[n++] = rp->r_rip + 1; /* printed as a return address */
			next = rp->r_rbp;
		}
		if (next <= fp) /* frames must move up the stack */
			break;
		fp = next;
	}
	return n;
}

void backtrace_print(uintptr_t fp)
{
	backtrace_report(fp, kprintf);
}

void backtrace_report(uintptr_t fp, int (*print)(const char *, ...))
{
	uintptr_t pcs[BACKTRACE_MAX], off;
	int n = backtrace_from(fp, pcs, BACKTRACE_MAX);

	for (int i = 0; i < n; i++) {
		/* A return address may sit just past a noreturn call's
		 * function, so look up the byte before it. */
		const char *name = ksym_lookup(pcs[i] - 1, &off);

		if (name != NULL)
			print("    [<%016lx>] %s+%#lx\n", pcs[i], name, off + 1);
		else
			print("    [<%016lx>] ?\n", pcs[i]);
	}
}
