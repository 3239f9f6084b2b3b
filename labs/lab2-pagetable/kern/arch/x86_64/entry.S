/*
 * entry.S — cmntrap, the common path of every trap and interrupt
 * (the name is illumos's), and the way back out.
 *
 * Each vector's stub (vectors.S, made by tools/mkvectors.py) has pushed an
 * error code (the CPU's, or a dummy 0) and the vector number, on top of the
 * iretq frame the CPU pushed. cmntrap completes a struct regs (see trap.h
 * for the picture), calls trap(rp), and undoes it all on the way back.
 *
 * From ring 3 the first thing to do is swapgs: until then GS.base is the
 * user's, and curcpu() would read the user's memory. The CS the CPU pushed
 * says where the trap came from. On the way out, swapgs again if iretq is
 * going back to ring 3. Interrupts are off from the gate to the iretq
 * (every gate is an interrupt gate), so no interrupt can arrive in
 * between with the wrong GS.base. (#DF, NMI and #MC could; ours are
 * fatal, and print what they can.)
 */
#define REGS_CS_FROM_TOP 24	/* r_cs above r_trapno, r_err, r_rip */
#define IRET_CS 8		/* r_cs above r_rip, in the iretq frame */
	.text
	.globl cmntrap
cmntrap:
	testb $3, REGS_CS_FROM_TOP(%rsp)	/* from ring 3? */
	jz 1f
	swapgs
1:
	/*
	 * Push in the reverse order of struct regs' fields: the first field
	 * (r_r15) must end up at the lowest address, where %rsp points.
	 */
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
	cld				/* the C ABI wants DF clear */
	movq %rsp, %rdi			/* trap(struct regs *rp) */
	/*
	 * The CPU aligned %rsp to 16 before pushing its frame; 22 words
	 * later (5 + 2 + 15) it is still 16-aligned, as a call requires.
	 */
	call trap

	.globl trap_return
trap_return:
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
	addq $16, %rsp			/* drop r_trapno and r_err */
	testb $3, IRET_CS(%rsp)		/* back to ring 3? */
	jz 2f
	swapgs
2:
	iretq
