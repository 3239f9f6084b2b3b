/*
 * wdt_clock.S — measure the ib700 watchdog's budget in virtual time.
 *
 * Arm the watchdog with WDT_CODE (given to the assembler with --defsym), then
 * spin reading the ACPI PM timer (3.579545 MHz, 24 bits, at 0x608 on q35:
 * the firmware's PM block base 0x600 plus 8) and print one '.' per tenth of
 * a virtual second. The guest stops when the watchdog fires, so the number of
 * dots on the serial line is the budget in tenths of a second.
 */
	.include "pvh.inc"

	.set PM_TMR, 0x608
	.set TICKS_PER_TENTH, 357954	/* 3579545 Hz / 10 */

start:
	SETUP
	PRINT hello
	mov $WDT_START, %dx
	mov $WDT_CODE, %al
	outb %al, %dx
	mov $PM_TMR, %dx
	inl %dx, %eax
	mov %eax, %ebx			/* %ebx: the previous reading */
	xor %ecx, %ecx			/* %ecx: ticks not yet printed */
1:	mov $PM_TMR, %dx
	inl %dx, %eax
	mov %eax, %edi
	sub %ebx, %eax
	and $0xffffff, %eax		/* the counter wraps at 24 bits */
	mov %edi, %ebx
	add %eax, %ecx
	cmp $TICKS_PER_TENTH, %ecx
	jb 1b
	sub $TICKS_PER_TENTH, %ecx
	mov $COM1, %dx
	mov $'.', %al
	outb %al, %dx
	jmp 1b

	.section .rodata
hello:	.asciz "vmlab: watchdog clock\n"
