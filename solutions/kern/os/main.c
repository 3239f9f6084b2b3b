/*
 * main.c — kmain(): bring the kernel up layer by layer, then run what the
 * command line asks for.
 */
#include <boot.h>
#include <bootalloc.h>
#include <hat.h>
#include <cmdline.h>
#include <cpu.h>
#include <kernel.h>
#include <ktest.h>
#include <lapic.h>
#include <memmap.h>
#include <kstring.h>
#include <platform.h>
#include <trap.h>

#define KTEST_GLOBS_MAX 1024

/*
 * Run the tests the command line selects (all of them when ktest= is
 * absent), then power off. The exit status says the run finished; the
 * results are in the KTAP report.
 */
static void run_tests(const char *cmdline)
{
	char globs[KTEST_GLOBS_MAX], resume[128];

	if (cmdline_get(cmdline, "ktest", globs, sizeof(globs)) < 0)
		strlcpy(globs, "*", sizeof(globs));
	if (cmdline_get(cmdline, "kresume", resume, sizeof(resume)) < 0)
		resume[0] = '\0';
	ktest_run_all(globs, resume[0] != '\0' ? resume : NULL);
}

void kmain(uint64_t start_info_pa)
{
	serial_init();
	cpu_init();
	idt_init();
	pvh_init(start_info_pa);
	kprintf("vmlab: lab %d, cmdline \"%s\"\n", LAB, boot_cmdline());
	memmap_print();
	kpm_init();
	bootalloc_init();
	lapic_init();
	hat_kern_init();
	run_tests(boot_cmdline());
	platform_exit(EXIT_DONE);
}
