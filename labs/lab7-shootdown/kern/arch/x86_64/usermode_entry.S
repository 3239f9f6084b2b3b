/*
 * usermode_entry.S — usermode_enter(rp): load every register from a
 * struct regs and iretq to the context it describes (ring 3, for the
 * tests), with swapgs first so that ring 3 runs on the user's GS.base.
 *
 * This is the same restore sequence as trap_return in entry.S, kept apart
 * on purpose: entry.S is lab 1's student file, and the ring-3 tests must
 * be able to enter ring 3 even while a student's trap_return is missing
 * or wrong (the way back from ring 3 still goes through theirs).
 */
	.text
	.globl usermode_enter
usermode_enter:
	movq %rdi, %rsp
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
	addq $16, %rsp
	swapgs				/* rp's CS is always ring 3 here */
	iretq
