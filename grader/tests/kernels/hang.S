/* hang.S — spin forever without arming the watchdog: only the wall clock ends it. */
	.include "pvh.inc"

start:
	SETUP
	PRINT hello
1:	jmp 1b

	.section .rodata
hello:	.asciz "vmlab: spinning\n"
