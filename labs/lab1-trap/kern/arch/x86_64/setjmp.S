/*
 * setjmp.S — setjmp()/longjmp() on a label_t (see klabel.h).
 * The field order matches struct label: rbx rbp rsp r12 r13 r14 r15 rip.
 */
	.text
	.globl setjmp
setjmp:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	leaq 8(%rsp), %rax		/* the caller's %rsp after we return */
	movq %rax, 16(%rdi)
	movq %r12, 24(%rdi)
	movq %r13, 32(%rdi)
	movq %r14, 40(%rdi)
	movq %r15, 48(%rdi)
	movq (%rsp), %rax		/* our return address */
	movq %rax, 56(%rdi)
	xorl %eax, %eax
	ret

	.globl longjmp
longjmp:
	movq 0(%rdi), %rbx
	movq 8(%rdi), %rbp
	movq 16(%rdi), %rsp
	movq 24(%rdi), %r12
	movq 32(%rdi), %r13
	movq 40(%rdi), %r14
	movq 48(%rdi), %r15
	movl $1, %eax
	jmp *56(%rdi)
