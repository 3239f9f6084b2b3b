/*
 * monitor.h — the kernel monitor: a command line on the serial console,
 * after JOS's monitor and illumos's mdb dcmds.
 *
 * `make qemu` without KTEST= boots to its prompt. A command is a function
 * registered with MONCMD() in the linker section .moncmds, in the file of
 * the layer it shows; so a lab's commands exist only in trees where that
 * lab is present.
 */
#ifndef MONITOR_H
#define MONITOR_H

#define MON_MAXARGS 8

struct moncmd {
	const char *name;
	const char *usage; /* the arguments, for help */
	const char *help;  /* one line */
	int (*fn)(int argc, char **argv);
};

#define MONCMD(name_, usage_, help_)                                          \
	static int moncmd_##name_(int argc, char **argv);                    \
	static const struct moncmd moncmd_desc_##name_                       \
	    __attribute__((used, section(".moncmds"), aligned(8))) = {       \
		.name = #name_,                                              \
		.usage = usage_,                                             \
		.help = help_,                                               \
		.fn = moncmd_##name_,                                        \
	};                                                                   \
	static int moncmd_##name_(int argc, char **argv)

/* Read commands from the console and run them, forever (poweroff ends). */
__attribute__((noreturn)) void monitor(void);

/* Run one command line; returns the command's status, or -1 if unknown. */
int monitor_exec(char *line);

#endif /* MONITOR_H */
