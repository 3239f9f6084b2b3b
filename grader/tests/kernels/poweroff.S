/*
 * poweroff.S — power off through ACPI, so that QEMU exits with status 0.
 * On q35 the firmware puts the ICH9 PM block at 0x600; PM1a_CNT is at +4.
 * Writing SLP_EN (bit 13) with SLP_TYP 0 asks QEMU for a soft power-off.
 */
	.include "pvh.inc"

start:
	SETUP
	PRINT hello
	mov $0x604, %dx
	mov $0x2000, %ax
	outw %ax, %dx
1:	cli
	hlt
	jmp 1b

	.section .rodata
hello:	.asciz "vmlab: powering off\n"
