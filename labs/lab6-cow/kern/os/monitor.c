/*
 * monitor.c — the monitor's loop: line editing, parsing, dispatch, and the
 * commands that belong to no layer in particular.
 *
 * Line editing is what a serial console needs: printable characters echo;
 * Backspace/DEL erases one; Ctrl-U erases the line; Ctrl-C abandons it; the
 * Up arrow (ESC [ A) brings back the previous command. Enter runs it.
 */
#include <cmdline.h>
#include <kernel.h>
#include <ksyms.h>
#include <kstring.h>
#include <ktest.h>
#include <memmap.h>
#include <monitor.h>
#include <platform.h>
#include <x86.h>

#define LINE_MAX 128
#define CTRL(c) ((c) & 0x1f)

extern const struct moncmd __moncmds_start[], __moncmds_end[];

static char last_line[LINE_MAX];

static int console_getc(void)
{
	int c;

	while ((c = serial_getc()) < 0)
		__asm__ volatile("pause");
	return c;
}

static void erase_chars(size_t n)
{
	while (n-- > 0)
		kprintf("\b \b");
}

/* Handle ESC [ x; returns true if it was Up and line now holds history. */
static bool escape_up(char *line, size_t *len)
{
	if (console_getc() != '[' || console_getc() != 'A')
		return false;
	erase_chars(*len);
	*len = strlcpy(line, last_line, LINE_MAX);
	kprintf("%s", line);
	return true;
}

/* Read one edited line into line (NUL-terminated). */
static void read_line(char *line)
{
	size_t len = 0;

	for (;;) {
		int c = console_getc();

		if (c == '\r' || c == '\n') {
			kprintf("\n");
			line[len] = '\0';
			return;
		}
		if ((c == 0x7f || c == '\b') && len > 0) {
			len--;
			erase_chars(1);
		} else if (c == CTRL('U')) {
			erase_chars(len);
			len = 0;
		} else if (c == CTRL('C')) {
			kprintf("^C\n");
			line[0] = '\0';
			return;
		} else if (c == 0x1b) {
			escape_up(line, &len);
		} else if (c >= ' ' && c < 0x7f && len < LINE_MAX - 1) {
			line[len++] = (char)c;
			serial_putc((char)c);
		}
	}
}

/*
 * Split line in place into at most MON_MAXARGS words; returns argc. A word
 * may be quoted with '...' or "..." (a shell habit: test 'trap.*').
 */
static int split_args(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p != '\0' && argc < MON_MAXARGS;) {
		char quote = 0;

		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (*p == '\'' || *p == '"')
			quote = *p++;
		argv[argc++] = p;
		while (*p != '\0' && (quote ? *p != quote : *p != ' ' && *p != '\t'))
			p++;
		if (quote && *p == quote)
			*p++ = '\0';
	}
	return argc;
}

static const struct moncmd *find_cmd(const char *name)
{
	for (const struct moncmd *c = __moncmds_start; c < __moncmds_end; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int monitor_exec(char *line)
{
	char *argv[MON_MAXARGS + 1];
	int argc = split_args(line, argv);
	const struct moncmd *c;

	if (argc == 0)
		return 0;
	argv[argc] = NULL;
	c = find_cmd(argv[0]);
	if (c == NULL) {
		kprintf("%s: no such command (try 'help')\n", argv[0]);
		return -1;
	}
	return c->fn(argc, argv);
}

void monitor(void)
{
	char line[LINE_MAX], copy[LINE_MAX];

	kprintf("vmlab monitor: 'help' lists the commands\n");
	for (;;) {
		kprintf("vmlab> ");
		read_line(line);
		if (line[0] != '\0')
			strlcpy(last_line, line, sizeof(last_line));
		strlcpy(copy, line, sizeof(copy));
		monitor_exec(copy);
	}
}

/* help: every command, sorted by name, with its usage and one line. */
MONCMD(help, "", "list the commands")
{
	const struct moncmd *prev = NULL;

	(void)argc, (void)argv;
	for (;;) { /* selection by name: a handful of commands, no sort */
		const struct moncmd *next = NULL;

		for (const struct moncmd *c = __moncmds_start;
		     c < __moncmds_end; c++)
			if ((prev == NULL || strcmp(c->name, prev->name) > 0) &&
			    (next == NULL || strcmp(c->name, next->name) < 0))
				next = c;
		if (next == NULL)
			return 0;
		kprintf("  %-10s %-12s %s\n", next->name, next->usage,
			next->help);
		prev = next;
	}
}

MONCMD(backtrace, "", "the monitor's own call stack, symbolized")
{
	(void)argc, (void)argv;
	backtrace_print(read_rbp());
	return 0;
}

MONCMD(cpus, "", "the CPUs and their state")
{
	(void)argc, (void)argv;
	kprintf("  cpu0: online (boot CPU)\n");
	return 0;
}

MONCMD(memmap, "", "the physical memory map from the boot loader")
{
	(void)argc, (void)argv;
	memmap_print();
	return 0;
}

MONCMD(test, "GLOB", "run the tests whose suite.name matches GLOB")
{
	if (argc != 2) {
		kprintf("usage: test GLOB   (e.g. test boot.*)\n");
		return 1;
	}
	return ktest_run_all(argv[1], NULL);
}

MONCMD(poweroff, "", "power the machine off")
{
	(void)argc, (void)argv;
	kprintf("vmlab: powering off\n");
	platform_exit(EXIT_DONE);
}
