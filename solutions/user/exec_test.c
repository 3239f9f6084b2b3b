/*
 * exec_test — execve (man 2 execve) from the outside: a child execs
 * exec_target, a fixed static executable, and exec_target_pie, a static
 * PIE, with a known argv and envp; each reports what it found in its exit
 * status (exec_target.h), one subtest per check here. Then the ways execve
 * must fail and return: no such file (ENOENT), a file that is not ELF
 * (ENOEXEC) and a bad argv (EFAULT).
 *
 *   exec_test [BINDIR [NOT_ELF]]
 *
 * BINDIR holds the programs (/bin on vmlab, the build directory on Linux)
 * and NOT_ELF is files/pattern.bin, executable and not ELF.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "exec_target.h"
#include "lib/utest.h"

#define KERNEL_VA ((void *)0xffffffff80100000UL)   /* the kernel's text */

static const struct {
	int bit;
	const char *what;
} checks[] = {
	{EXEC_BAD_ARGV, "argv_arrives_intact"},
	{EXEC_BAD_ENVP, "envp_arrives_intact"},
	{EXEC_BAD_PAGESZ, "at_pagesz_is_4096"},
	{EXEC_BAD_PHDR, "at_phdr_phnum_match_program_headers"},
	{EXEC_BAD_ENTRY, "at_entry_is_start"},
	{EXEC_BAD_RANDOM, "at_random_has_16_bytes"},
};
#define NCHECKS ((int)(sizeof(checks) / sizeof(checks[0])))

/* Fork, exec path in the child (127 if execve returns); the wait status. */
static int run(const char *path)
{
	static char *const argv[] = EXEC_ARGV;
	static char *const envp[] = EXEC_ENVP;
	int status = -1;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execve(path, argv, envp);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, NULL) != pid)
		return -1;
	return status;
}

/* One subtest that the exec worked, then one per exec_target check. */
static void exec_one(const char *dir, const char *prog)
{
	char path[256], name[96];
	int st, bits;

	snprintf(path, sizeof(path), "%s/%s", dir, prog);
	st = run(path);
	snprintf(name, sizeof(name), "%s_execs_and_exits", prog);
	UT_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 127 &&
		 (WEXITSTATUS(st) & ~0x3f) == 0, name,
		 "execve(\"%s\"): wait status %#x (%s %d)", path, st,
		 WIFSIGNALED(st) ? "killed by signal" : "exit",
		 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	bits = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 127 ?
		WEXITSTATUS(st) : 0x3f;
	for (int i = 0; i < NCHECKS; i++) {
		snprintf(name, sizeof(name), "%s_%s", prog, checks[i].what);
		UT_CHECK(!(bits & checks[i].bit), name,
			 "exit status %#x has bit %#x set", bits,
			 checks[i].bit);
	}
}

static void failures(const char *dir, const char *not_elf)
{
	char *const argv[] = {"exec_target", NULL};
	char *const bad_string[] = {"exec_target", KERNEL_VA, NULL};
	char *const envp[] = {NULL};
	char path[256];
	long r;

	snprintf(path, sizeof(path), "%s/no_such_program", dir);
	r = execve(path, argv, envp);
	UT_ERRNO(r, errno, ENOENT, "execve_missing_file_enoent", path);
	r = execve(not_elf, argv, envp);
	UT_ERRNO(r, errno, ENOEXEC, "execve_not_elf_enoexec", not_elf);
	snprintf(path, sizeof(path), "%s/exec_target", dir);
	r = execve(path, KERNEL_VA, envp);
	UT_ERRNO(r, errno, EFAULT, "execve_bad_argv_pointer_efault",
		 "execve(exec_target, kernel address, envp)");
	r = execve(path, bad_string, envp);
	UT_ERRNO(r, errno, EFAULT, "execve_bad_argv_string_efault",
		 "execve(exec_target, {\"exec_target\", kernel address}, envp)");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/bin";
	const char *not_elf = argc > 2 ? argv[2] : "/files/pattern.bin";

	ut_plan(2 * (NCHECKS + 1) + 4);
	exec_one(dir, "exec_target");
	exec_one(dir, "exec_target_pie");
	failures(dir, not_elf);
	ut_done();
}
