/*
 * exec_target — the program exec_test execs: it checks what execve built
 * for it (man 3 getauxval, the System V x86-64 psABI's initial stack) and
 * answers in its exit status, one bit per check, 0 when all hold:
 *
 *   bit 0  argv is exactly EXEC_ARGV below (argc and every string)
 *   bit 1  envp is exactly EXEC_ENVP below
 *   bit 2  AT_PAGESZ is 4096
 *   bit 3  AT_PHDR, AT_PHENT and AT_PHNUM describe our own program
 *          headers: those the ELF header (where the first PT_LOAD maps
 *          it) points at
 *   bit 4  AT_ENTRY is _start, and the ELF header's e_entry moved by the
 *          load bias (0 for a fixed executable, where the kernel put a
 *          static PIE)
 *   bit 5  AT_RANDOM points at 16 bytes that are not all zero (a bad
 *          pointer kills us with SIGSEGV instead, which exec_test reports)
 *
 * It is built twice: a fixed static executable and a static PIE
 * (exec_target_pie), so both of the ELF loader's cases run. It also prints
 * what it got, as KTAP diagnostics.
 */
#include <elf.h>
#include <sys/auxv.h>

#include "exec_target.h"
#include "lib/utest.h"

extern const Elf64_Ehdr __ehdr_start;   /* GNU ld: our own ELF header */
extern const char _start[];             /* musl's crt1.o entry point */

/* Do the NULL-terminated lists list and want hold the same strings? */
static int same_strings(char **list, const char *const *want)
{
	int i;

	for (i = 0; want[i] != NULL; i++)
		if (list[i] == NULL || strcmp(list[i], want[i]) != 0)
			return 0;
	return list[i] == NULL;
}

static void show(const char *what, char **list)
{
	for (int i = 0; list[i] != NULL; i++)
		printf("# exec_target: %s[%d] = \"%s\"\n", what, i, list[i]);
}

/* The load bias: where the first PT_LOAD (which maps the ELF header, file
 * offset 0) is, less where the file says it goes. */
static unsigned long load_bias(const Elf64_Phdr *ph, int n)
{
	for (int i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			return (unsigned long)&__ehdr_start - ph[i].p_vaddr;
	return 0;
}

static int phdrs_ok(void)
{
	const Elf64_Ehdr *eh = &__ehdr_start;
	unsigned long want = (unsigned long)eh + eh->e_phoff;

	return getauxval(AT_PHDR) == want &&
	       getauxval(AT_PHENT) == sizeof(Elf64_Phdr) &&
	       getauxval(AT_PHNUM) == eh->e_phnum;
}

static int entry_ok(void)
{
	const Elf64_Ehdr *eh = &__ehdr_start;
	const Elf64_Phdr *ph =
		(const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	unsigned long entry = eh->e_entry + load_bias(ph, eh->e_phnum);

	return getauxval(AT_ENTRY) == (unsigned long)_start &&
	       getauxval(AT_ENTRY) == entry;
}

static int random_ok(void)
{
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
	unsigned char any = 0;

	if (r == NULL)
		return 0;
	for (int i = 0; i < 16; i++)
		any |= r[i];
	return any != 0;
}

int main(int argc, char **argv, char **envp)
{
	static const char *const want_argv[] = EXEC_ARGV;
	static const char *const want_envp[] = EXEC_ENVP;
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# exec_target: argc %d, AT_PHDR %#lx, AT_PHNUM %lu, "
	       "AT_ENTRY %#lx, _start %p\n", argc, getauxval(AT_PHDR),
	       getauxval(AT_PHNUM), getauxval(AT_ENTRY), (const void *)_start);
	show("argv", argv);
	show("envp", envp);
	if (!same_strings(argv, want_argv))
		bad |= EXEC_BAD_ARGV;
	if (!same_strings(envp, want_envp))
		bad |= EXEC_BAD_ENVP;
	if (getauxval(AT_PAGESZ) != 4096)
		bad |= EXEC_BAD_PAGESZ;
	if (!phdrs_ok())
		bad |= EXEC_BAD_PHDR;
	if (!entry_ok())
		bad |= EXEC_BAD_ENTRY;
	if (!random_ok())
		bad |= EXEC_BAD_RANDOM;
	fflush(stdout);
	return bad;
}
