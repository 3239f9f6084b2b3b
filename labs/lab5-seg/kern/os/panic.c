/*
 * panic.c — the end of the line: print why, print how we got here, stop.
 *
 * The output is for people and for the grader alike:
 *
 *	panic[cpu0]: ktest: deliberate panic 0x2a
 *	    [<ffffffff80102a4c>] ktest_boot_panic_path+0x1c
 *	    [<ffffffff80103120>] ktest_run_one+0x60
 *	    ...
 *
 * It goes through kreport(), so a graded boot also sends it, signed, on
 * the result channel (kern/test/kchan.c). A panic inside panic (a fault
 * while printing, say) skips the backtrace and stops at once.
 */
#include <kchan.h>
#include <kernel.h>
#include <ksyms.h>
#include <platform.h>
#include <x86.h>

static volatile int panicking;

void panic(const char *fmt, ...)
{
	va_list ap;

	cli();
	if (panicking++) {
		kprintf("\npanic[cpu0]: recursive panic\n");
		platform_exit(EXIT_PANIC);
	}
	kreport("\npanic[cpu0]: ");
	va_start(ap, fmt);
	vkreport(fmt, ap);
	va_end(ap);
	kreport("\n");
	backtrace_report(read_rbp(), kreport);
	kreport("vmlab: halted\n");
	platform_exit(EXIT_PANIC);
}
