/*
 * hang_watchdog.S — arm the ib700 watchdog, then hang with interrupts off.
 * QEMU's -action watchdog=pause stops the guest and QMP reports WATCHDOG.
 */
	.include "pvh.inc"

start:
	SETUP
	PRINT hello
	mov $WDT_START, %dx
	mov $0x0e, %al		/* the shortest non-zero budget: 2 virtual seconds */
	outb %al, %dx
1:	cli
	hlt
	jmp 1b

	.section .rodata
hello:	.asciz "KTAP version 1\n1..1\n    # Subtest: demo\n    1..1\n    # RUN demo.hangs\n"
