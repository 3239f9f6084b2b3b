/* good.S — a well-behaved kernel: a short passing KTAP report, then exit 0x10. */
	.include "pvh.inc"

start:
	SETUP
	PRINT report
	mov $0x10, %eax
	call debug_exit

	.section .rodata
report:
	.ascii "vmlab: lab 0 test kernel good\n"
	.ascii "KTAP version 1\n"
	.ascii "1..1\n"
	.ascii "    KTAP version 1\n"
	.ascii "    # Subtest: demo\n"
	.ascii "    1..2\n"
	.ascii "    # RUN demo.first\n"
	.ascii "    ok 1 first\n"
	.ascii "    # RUN demo.second\n"
	.ascii "    ok 2 second\n"
	.ascii "ok 1 demo\n"
	.asciz "# vmlab: tests done\n"
