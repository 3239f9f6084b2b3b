/*
 * entry.S — cmntrap, the common path of every trap and interrupt
 * (the name is illumos's), and the way back out.
 *
 * Each vector's stub (vectors.S, made by tools/mkvectors.py) has pushed an
 * error code (the CPU's, or a dummy 0) and the vector number, on top of the
 * iretq frame the CPU pushed. cmntrap completes a struct regs (see trap.h
 * for the picture), calls trap(rp), and undoes it all on the way back.
 */
	.text
	.globl cmntrap
cmntrap:
	/*
	 * Lab 1: save every general-purpose register so that %rsp points at
	 * a complete struct regs, call trap() with it, then restore them all,
	 * drop the vector number and error code, and return with iretq.
	 * Put a global label trap_return right after the call to trap():
	 * backtraces look for it to walk through trap frames.
	 */
	movq %rsp, %rdi
	call cmntrap_stub
