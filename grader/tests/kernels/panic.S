/* panic.S — the start of a KTAP report, a panic inside a test, then exit 0x11. */
	.include "pvh.inc"

start:
	SETUP
	PRINT report
	mov $0x11, %eax
	call debug_exit

	.section .rodata
report:
	.ascii "KTAP version 1\n"
	.ascii "1..1\n"
	.ascii "    KTAP version 1\n"
	.ascii "    # Subtest: x\n"
	.ascii "    1..2\n"
	.ascii "    # RUN x.fine\n"
	.ascii "    ok 1 fine\n"
	.ascii "    # RUN x.y\n"
	.ascii "panic[cpu0]: boom\n"
	.asciz "    [<ffffffff80101234>] ktest_x_y+0x1c\n"
