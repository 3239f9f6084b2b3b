/* badexit.S — exit through isa-debug-exit with a code the kernel never uses. */
	.include "pvh.inc"

start:
	SETUP
	PRINT hello
	mov $0x12, %eax			/* QEMU exits with (0x12 << 1) | 1 = 37 */
	call debug_exit

	.section .rodata
hello:	.asciz "vmlab: exiting with 0x12\n"
