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
	/*
	 * Lab 1: save every general-purpose register so that %rsp points at
	 * a complete struct regs, call trap() with it, then restore them all,
	 * drop the vector number and error code, and return with iretq.
	 * Put a global label trap_return right after the call to trap():
	 * backtraces look for it to walk through trap frames. A trap from
	 * ring 3 must swapgs before anything else, and the way back to
	 * ring 3 must swapgs just before iretq (see above and trap.h).
	 */
	movq %rsp, %rdi
	call cmntrap_stub
