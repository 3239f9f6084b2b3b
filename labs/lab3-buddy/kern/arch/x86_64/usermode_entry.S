/*
 * usermode_entry.S — usermode_enter(rp): load every register from a
 * struct regs and iretq to the context it describes (ring 3, for the tests).
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
	iretq
