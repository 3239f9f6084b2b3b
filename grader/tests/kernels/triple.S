/* triple.S — a triple fault: load an IDT with limit 0, then raise #BP. */
	.include "pvh.inc"

start:
	SETUP
	PRINT hello
	lidt empty_idt
	int3
	jmp .

	.section .rodata
hello:	.asciz "vmlab: triple fault ahead\n"
	.balign 8
empty_idt:
	.word 0			/* limit: no gate is valid */
	.long 0			/* base */
