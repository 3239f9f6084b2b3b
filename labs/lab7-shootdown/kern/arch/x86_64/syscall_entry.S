/*
 * syscall_entry.S — the `syscall` instruction's way in and `sysretq`'s way
 * out, on the Linux x86-64 ABI (thread.h, syscall.c).
 *
 * `syscall` leaves the user's %rip in %rcx and %rflags in %r11, loads CS
 * and SS from STAR, clears the flags SFMASK names (IF among them, so we
 * run with interrupts off) and jumps here, still on the user's stack and
 * with the user's GS.base. So: swapgs, park the user %rsp in the CPU's
 * scratch word, take the thread's kernel stack, and build a struct regs
 * exactly like a trap's (trap.h), so that everything downstream (fork,
 * exec, the debugger, backtraces) sees one kind of frame.
 *
 * The way out is sysretq when the frame allows it: %rcx = %rip and
 * %r11 = %rflags (the syscall ABI clobbers both anyway) and %rip is a
 * canonical user address (sysret with a non-canonical %rcx faults in ring
 * 0 on Intel CPUs, on the user's stack: the classic sysret hole). Any
 * other frame (one exec or a signal rewrote) goes out with iretq.
 */
#define CPU_KSTACK 8		/* struct cpu (cpuvar.h, machcpu.h) */
#define CPU_USCRATCH 16
#define KDS_SEL 0x10
#define UDS_SEL 0x23
#define UCS_SEL 0x2b
#define T_SYSCALL 0x80
/* struct regs offsets (trap.h) */
#define R_R11 32
#define R_RCX 96
#define R_RIP 136
#define R_RFL 152
#define R_RSP 160

/* The general registers of a struct regs, from r_r15 up to r_rax. */
.macro POP_GPRS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
.endm

	.text
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_USCRATCH
	movq %gs:CPU_KSTACK, %rsp
	pushq $UDS_SEL			/* r_ss */
	pushq %gs:CPU_USCRATCH		/* r_rsp */
	pushq %r11			/* r_rfl */
	pushq $UCS_SEL			/* r_cs */
	pushq %rcx			/* r_rip */
	pushq $0			/* r_err */
	pushq $T_SYSCALL		/* r_trapno */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call syscall_handler		/* void syscall_handler(struct regs *) */

/*
 * user_return: leave for user mode from the struct regs at %rsp, on the
 * way out of a system call or for a new user thread's first entry.
 * Interrupts are off and stay off until the user's flags come back.
 */
	.globl user_return
user_return:
	cli
	movq R_RCX(%rsp), %rcx
	cmpq %rcx, R_RIP(%rsp)
	jne 1f
	movq R_R11(%rsp), %r11
	cmpq %r11, R_RFL(%rsp)
	jne 1f
	movq %rcx, %rax
	shrq $47, %rax			/* canonical and in the lower half? */
	jnz 1f
	POP_GPRS
	movq 40(%rsp), %rsp		/* r_rsp: past trapno, err, rip, cs, rfl */
	swapgs
	sysretq
1:
	POP_GPRS
	addq $16, %rsp			/* r_trapno, r_err */
	swapgs
	iretq

/*
 * user_enter(rp): a thread's first entry to user mode (a new process,
 * a forked child), from the struct regs at the top of its stack.
 */
	.globl user_enter
user_enter:
	movq %rdi, %rsp
	jmp user_return
