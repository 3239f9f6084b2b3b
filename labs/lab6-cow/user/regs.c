/*
 * regs — what the syscall instruction keeps and what it clobbers, on the
 * Linux x86-64 ABI (man 2 syscall, "Architecture calling conventions"):
 *
 *   rax            in: the system call number; out: the result, or -errno
 *   rdi rsi rdx    the arguments 1 to 6; the kernel leaves them as they were
 *   r10 r8 r9
 *   rcx            out: the address of the instruction after syscall (the
 *                  CPU puts the return rip there; sysret jumps to it)
 *   r11            out: rflags as they were at the syscall (the CPU saves
 *                  them there; sysret restores them from it)
 *   everything else, rsp included, comes back unchanged.
 *
 * regs_syscall (below, in assembly) loads every register from regs_in,
 * rsp and rflags too, runs one syscall and stores every register to
 * regs_out, so a kernel that clobbers one shows it by name.
 */
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/utest.h"

#define ENOSYS_NR 1000          /* no Linux x86-64 system call has it */

struct regset {
	unsigned long rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
	unsigned long rflags;
};

/* Shared with the assembly below, which addresses them rip-relative. */
struct regset regs_in, regs_out;
unsigned long regs_saved_rsp;
extern const char regs_after_syscall[];
void regs_syscall(void);

/*
 * Save the callee-saved registers and the real rsp, load all 16 registers
 * and rflags from regs_in, syscall, store all 16 and rflags to regs_out.
 * Between popfq and syscall only mov runs, which leaves the flags alone,
 * so regs_in.rflags is what the CPU saves (as far as user mode may set
 * them: regs_out.rflags is read back right after popfq to say which).
 */
__asm__(".text\n"
	".globl regs_syscall\n"
	".type regs_syscall, @function\n"
	"regs_syscall:\n"
	"	push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n"
	"	mov %rsp, regs_saved_rsp(%rip)\n"
	"	pushq regs_in+128(%rip)\n"
	"	popfq\n"
	"	pushfq\n"
	"	popq regs_out+128(%rip)\n"
	"	mov regs_in+8(%rip), %rbx\n"
	"	mov regs_in+16(%rip), %rcx\n"
	"	mov regs_in+24(%rip), %rdx\n"
	"	mov regs_in+32(%rip), %rsi\n"
	"	mov regs_in+40(%rip), %rdi\n"
	"	mov regs_in+48(%rip), %rbp\n"
	"	mov regs_in+56(%rip), %rsp\n"
	"	mov regs_in+64(%rip), %r8\n"
	"	mov regs_in+72(%rip), %r9\n"
	"	mov regs_in+80(%rip), %r10\n"
	"	mov regs_in+88(%rip), %r11\n"
	"	mov regs_in+96(%rip), %r12\n"
	"	mov regs_in+104(%rip), %r13\n"
	"	mov regs_in+112(%rip), %r14\n"
	"	mov regs_in+120(%rip), %r15\n"
	"	mov regs_in+0(%rip), %rax\n"
	"	syscall\n"
	".globl regs_after_syscall\n"
	"regs_after_syscall:\n"
	"	mov %rax, regs_out+0(%rip)\n"
	"	mov %rbx, regs_out+8(%rip)\n"
	"	mov %rcx, regs_out+16(%rip)\n"
	"	mov %rdx, regs_out+24(%rip)\n"
	"	mov %rsi, regs_out+32(%rip)\n"
	"	mov %rdi, regs_out+40(%rip)\n"
	"	mov %rbp, regs_out+48(%rip)\n"
	"	mov %rsp, regs_out+56(%rip)\n"
	"	mov %r8, regs_out+64(%rip)\n"
	"	mov %r9, regs_out+72(%rip)\n"
	"	mov %r10, regs_out+80(%rip)\n"
	"	mov %r11, regs_out+88(%rip)\n"
	"	mov %r12, regs_out+96(%rip)\n"
	"	mov %r13, regs_out+104(%rip)\n"
	"	mov %r14, regs_out+112(%rip)\n"
	"	mov %r15, regs_out+120(%rip)\n"
	"	mov regs_saved_rsp(%rip), %rsp\n"
	"	pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
	"	ret\n"
	".size regs_syscall, .-regs_syscall\n");

/* The registers syscall must keep, by name and offset in struct regset. */
static const struct {
	const char *name;
	size_t off;
} kept[] = {
	{"rbx", offsetof(struct regset, rbx)},
	{"rdx", offsetof(struct regset, rdx)},
	{"rsi", offsetof(struct regset, rsi)},
	{"rdi", offsetof(struct regset, rdi)},
	{"rbp", offsetof(struct regset, rbp)},
	{"rsp", offsetof(struct regset, rsp)},
	{"r8", offsetof(struct regset, r8)},
	{"r9", offsetof(struct regset, r9)},
	{"r10", offsetof(struct regset, r10)},
	{"r12", offsetof(struct regset, r12)},
	{"r13", offsetof(struct regset, r13)},
	{"r14", offsetof(struct regset, r14)},
	{"r15", offsetof(struct regset, r15)},
};

static unsigned long reg(const struct regset *r, size_t off)
{
	return *(const unsigned long *)((const char *)r + off);
}

/*
 * Fill regs_in with a pattern that differs in every register, in the high
 * half as well as the low one, then set the system call number and the
 * arguments the call needs. The patterns are canonical user addresses that
 * nothing maps: rsp holds one too, and the kernel must never touch it.
 * (A non-canonical rsp is no fair test: Linux 6.18 on an AMD host answered
 * it with SIGSEGV on return to user mode.)
 */
static void load(long nr, long a1, long a2, long a3)
{
	unsigned long *r = (unsigned long *)&regs_in;

	for (int i = 0; i < 16; i++)
		r[i] = 0x00005ac300000000UL | (unsigned long)(i + 1) *
			0x01010101UL;
	regs_in.rax = (unsigned long)nr;
	regs_in.rdi = (unsigned long)a1;
	regs_in.rsi = (unsigned long)a2;
	regs_in.rdx = (unsigned long)a3;
	/* CF, PF, ZF, SF and OF set, and bit 1, which is always 1. */
	regs_in.rflags = 0x8c7;
}

/* One syscall through regs_syscall; a subtest for every property. */
static void check_call(const char *call, long nr, long a1, long a2, long a3,
		       const char *result, long want_rax)
{
	char name[64];

	load(nr, a1, a2, a3);
	regs_syscall();
	snprintf(name, sizeof(name), "%s_returns_%s_in_rax", call, result);
	UT_CHECK((long)regs_out.rax == want_rax, name, "rax %ld, want %ld",
		 (long)regs_out.rax, want_rax);
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		unsigned long in = reg(&regs_in, kept[i].off);
		unsigned long out = reg(&regs_out, kept[i].off);

		snprintf(name, sizeof(name), "%s_keeps_%s", call, kept[i].name);
		UT_CHECK(in == out, name, "%s went in %#lx, came back %#lx",
			 kept[i].name, in, out);
	}
	snprintf(name, sizeof(name), "%s_rcx_is_the_return_rip", call);
	UT_CHECK(regs_out.rcx == (unsigned long)regs_after_syscall, name,
		 "rcx %#lx, the instruction after syscall is at %p",
		 regs_out.rcx, (const void *)regs_after_syscall);
	/* regs_out.rflags was read back after popfq: the flags as loaded. */
	snprintf(name, sizeof(name), "%s_r11_is_the_rflags", call);
	UT_CHECK(regs_out.r11 == regs_out.rflags, name,
		 "r11 %#lx, rflags at the syscall %#lx", regs_out.r11,
		 regs_out.rflags);
}

int main(void)
{
	static const char byte = 'x';
	int n = (int)(sizeof(kept) / sizeof(kept[0])) + 3;

	ut_plan(3 * n + 1);
	check_call("getpid", SYS_getpid, 0, 0, 0, "the_pid", getpid());
	check_call("write_0_bytes", SYS_write, 1, (long)&byte, 0, "0", 0);
	check_call("unknown_syscall", ENOSYS_NR, 0, 0, 0, "enosys", -ENOSYS);
	/* popfq in user mode sets the arithmetic flags as asked. */
	UT_CHECK((regs_out.rflags & 0x8c7) == 0x8c7, "rflags_pattern_loaded",
		 "rflags %#lx, want bits %#x set", regs_out.rflags, 0x8c7);
	ut_done();
}
