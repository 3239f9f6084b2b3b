/*
 * swtch.S — the context switch (thread.h).
 *
 * swtch(from, to) saves the callee-saved registers on from's stack and the
 * stack pointer in from->t_pcb, then takes to's stack pointer and pops
 * to's registers: the `ret` returns into whatever to was doing when it
 * last called swtch(). It returns from in %rax, so the thread that comes
 * in knows which one went out (to free its stack if it exited). Everything
 * else about a switch (CR3, TSS.rsp0, FS.base, the FPU) is done in C
 * before it: see disp_switch() in thread.c.
 *
 * A new thread's stack is built to look as if it had called swtch() from
 * thread_trampoline, which passes the outgoing thread to thread_start().
 */
#if LAB >= 5
#define PCB_RSP 0		/* offsetof(kthread_t, t_pcb.pcb_rsp) */

	.text
	.globl swtch
swtch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, PCB_RSP(%rdi)
	movq PCB_RSP(%rsi), %rsp
	movq %rdi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.globl thread_trampoline
thread_trampoline:
	movq %rax, %rdi			/* thread_start(prev) */
	xorl %ebp, %ebp			/* the end of every backtrace */
	call thread_start
	ud2				/* thread_start never returns */
#endif /* LAB >= 5 */
