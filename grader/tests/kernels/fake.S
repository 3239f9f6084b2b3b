/*
 * fake.S — a stand-in for the vmlab kernel, for end-to-end grader tests.
 *
 * It reads its command line from the PVH start info (%ebx at entry; the
 * command line's physical address is the 64-bit field at offset 24) and
 * acts out the three boots a grade makes:
 *   ktest=demo.boom         the alone-boot: a deliberate panic, exit 0x11;
 *   kresume=demo.crash      the resumed boot: the rest of the suite, 0x10;
 *   anything else           the main boot: a pass, a failure, then a panic
 *                           inside demo.crash, exit 0x11.
 */
	.include "pvh.inc"

start:
	SETUP
	mov 24(%ebx), %esi		/* hvm_start_info.cmdline_paddr */
	test %esi, %esi
	jnz 1f
	mov $empty, %esi
1:	mov %esi, cmdline
	PRINT banner
	mov $want_boom, %edi
	call contains
	jnz boom
	mov $want_resume, %edi
	call contains
	jnz resumed
	PRINT main_report
	mov $0x11, %eax
	call debug_exit
boom:
	PRINT boom_report
	mov $0x11, %eax
	call debug_exit
resumed:
	PRINT resume_report
	mov $0x10, %eax
	call debug_exit

/* contains: ZF clear iff the command line holds the string at %edi. */
contains:
	mov cmdline, %esi
2:	xor %ecx, %ecx
3:	mov (%edi,%ecx), %al
	test %al, %al
	jz 5f				/* the whole needle matched */
	cmp (%esi,%ecx), %al
	jne 4f
	inc %ecx
	jmp 3b
4:	cmpb $0, (%esi)
	je 6f				/* end of the haystack */
	inc %esi
	jmp 2b
5:	or $1, %eax			/* found: clear ZF */
	ret
6:	xor %eax, %eax			/* not found: set ZF */
	ret

	.data
cmdline: .long 0

	.section .rodata
empty:	.asciz ""
want_boom: .asciz "ktest=demo.boom"
want_resume: .asciz "kresume=demo.crash"
banner:	.asciz "vmlab: fake kernel\n"
main_report:
	.ascii "KTAP version 1\n"
	.ascii "1..1\n"
	.ascii "    KTAP version 1\n"
	.ascii "    # Subtest: demo\n"
	.ascii "    1..5\n"
	.ascii "    # RUN demo.first\n"
	.ascii "    ok 1 first\n"
	.ascii "    # RUN demo.failing\n"
	.ascii "    # demo_test.c:7: EXPECT_EQ failed: 1 + 1 == 3\n"
	.ascii "    not ok 2 failing\n"
	.ascii "    # RUN demo.crash\n"
	.ascii "    # demo_test.c:12: about to crash\n"
	.ascii "panic[cpu0]: demo_crash: lab 1\n"
	.asciz "    [<ffffffff80101234>] ktest_demo_crash+0x1c\n"
resume_report:
	.ascii "KTAP version 1\n"
	.ascii "1..1\n"
	.ascii "    KTAP version 1\n"
	.ascii "    # Subtest: demo\n"
	.ascii "    1..2\n"
	.ascii "    # RUN demo.after\n"
	.ascii "    ok 1 after\n"
	.ascii "    # RUN demo.extra\n"
	.ascii "    ok 2 extra\n"
	.ascii "ok 1 demo\n"
	.asciz "# vmlab: tests done\n"
boom_report:
	.ascii "KTAP version 1\n"
	.ascii "1..1\n"
	.ascii "    KTAP version 1\n"
	.ascii "    # Subtest: demo\n"
	.ascii "    1..1\n"
	.ascii "    # RUN demo.boom\n"
	.ascii "panic[cpu0]: ktest: deliberate panic 0x2a\n"
	.ascii "    [<ffffffff80100a00>] panic+0x5e\n"
	.asciz "    [<ffffffff80101234>] ktest_demo_boom+0x1c\n"
