/*
 * ktest.h — in-kernel tests that report KTAP v1 on the serial line.
 *
 * A test is a function registered with KTEST(suite, name). The macro puts a
 * struct ktest into the linker section .ktests; the harness (test/ktest.c)
 * orders the tests by source file and line, groups them by suite, and runs
 * those that the command line selects:
 *
 *	ktest=GLOB[,GLOB...]	run tests whose "suite.name" matches a glob
 *	kresume=SUITE.NAME	skip selected tests up to and including this one
 *	seed=N			seed for ktest_seed() (decimal or 0x hex)
 *
 * The report looks like this (4 spaces of indent per nesting level):
 *
 *	KTAP version 1
 *	1..1
 *	    KTAP version 1
 *	    # Subtest: boot
 *	    1..2
 *	    # RUN boot.printf_formats
 *	    ok 1 printf_formats
 *	    # RUN boot.string_functions
 *	    # lib_test.c:42: EXPECT_EQ failed: strlen(s) == 3
 *	    #   strlen(s) = 4 (0x4)
 *	    #   3 = 3 (0x3)
 *	    not ok 2 string_functions
 *	not ok 1 boot
 *
 * The "# RUN" line names the test about to run, so that a test which panics,
 * hangs or triple-faults can be blamed by the grader, which then boots again
 * with kresume= to run the rest.
 *
 * EXPECT_* macros record a failure and let the test go on; ASSERT_* macros
 * record it and end the test at once (the harness longjmps out of it).
 */
#ifndef KTEST_H
#define KTEST_H

#include <stdint.h>
#include <stdbool.h>

#define KTEST_F_EXPLICIT 0x1 /* run only when named exactly, never by a glob */

struct ktest {
	const char *suite;
	const char *name;
	void (*fn)(void);
	unsigned flags;
	unsigned timeout_s; /* virtual seconds; 0 means the default */
	const char *file;   /* tests run in (file, line) order */
	int line;
};

#define KTEST_REGISTER(suite_, name_, flags_, timeout_)                      \
	static void ktest_##suite_##_##name_(void);                          \
	static const struct ktest ktest_desc_##suite_##_##name_              \
	    __attribute__((used, section(".ktests"), aligned(8))) = {        \
		.suite = #suite_,                                            \
		.name = #name_,                                              \
		.fn = ktest_##suite_##_##name_,                              \
		.flags = (flags_),                                           \
		.timeout_s = (timeout_),                                     \
		.file = __FILE__,                                            \
		.line = __LINE__,                                            \
	};                                                                   \
	static void ktest_##suite_##_##name_(void)

/* KTEST(boot, printf_formats) { ... } defines and registers a test. */
#define KTEST(suite, name) KTEST_REGISTER(suite, name, 0, 0)
/* A test that ends the run (it panics on purpose); the grader boots it alone. */
#define KTEST_EXPLICIT(suite, name) KTEST_REGISTER(suite, name, KTEST_F_EXPLICIT, 0)
/* A test that needs more than the default virtual-time budget. */
#define KTEST_TIMEOUT(suite, name, secs) KTEST_REGISTER(suite, name, 0, secs)

/* Run every selected test and print the KTAP report; returns failures. */
int ktest_run_all(const char *globs, const char *resume_after);

/* The seed from seed= on the command line (default 1). */
uint64_t ktest_seed(void);

/* Is a test running now (so output belongs inside its KTAP block)? */
bool ktest_running(void);
/* Print s as one diagnostic line of the running test, in one write. */
void ktest_diag_line(const char *s);

/* Print a KTAP diagnostic line ("# ...") at the current test's indent. */
void ktest_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Record a failure with a free-form message, at file:line. */
void ktest_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record a failed comparison of two integers (or pointers). */
void ktest_fail_cmp(const char *file, int line, const char *what,
		    const char *a_expr, const char *op, const char *b_expr,
		    uint64_t a, uint64_t b);

/* Record a failed string comparison. */
void ktest_fail_str(const char *file, int line, const char *what,
		    const char *a_expr, const char *b_expr,
		    const char *a, const char *b);

/* End the current test now; its result is whatever has been recorded. */
__attribute__((noreturn)) void ktest_abort(void);

/* Mark the current test skipped with a reason, and end it. */
__attribute__((noreturn)) void ktest_skip(const char *reason);

#define KT_CMP_(what, a, op, b, fatal)                                        \
	do {                                                                  \
		__typeof__((a) + 0) ka_ = (a);                                      \
		__typeof__((b) + 0) kb_ = (b);                                      \
		if (!(ka_ op kb_)) {                                          \
			ktest_fail_cmp(__FILE__, __LINE__, what, #a, #op, #b, \
				       (uint64_t)(uintptr_t)ka_,              \
				       (uint64_t)(uintptr_t)kb_);             \
			if (fatal)                                            \
				ktest_abort();                                \
		}                                                             \
	} while (0)

#define KT_TRUE_(what, cond, fatal)                                           \
	do {                                                                  \
		if (!(cond)) {                                                \
			ktest_fail(__FILE__, __LINE__, "%s failed: %s", what, \
				   #cond);                                    \
			if (fatal)                                            \
				ktest_abort();                                \
		}                                                             \
	} while (0)

#define KT_STR_(what, a, b, fatal)                                            \
	do {                                                                  \
		const char *ka_ = (a), *kb_ = (b);                            \
		if (ka_ == 0 || kb_ == 0 || ktest_strcmp(ka_, kb_) != 0) {   \
			ktest_fail_str(__FILE__, __LINE__, what, #a, #b, ka_, \
				       kb_);                                  \
			if (fatal)                                            \
				ktest_abort();                                \
		}                                                             \
	} while (0)

int ktest_strcmp(const char *a, const char *b);

#define EXPECT_TRUE(c) KT_TRUE_("EXPECT_TRUE", c, 0)
#define ASSERT_TRUE(c) KT_TRUE_("ASSERT_TRUE", c, 1)
#define EXPECT_FALSE(c) KT_TRUE_("EXPECT_FALSE", !(c), 0)
#define ASSERT_FALSE(c) KT_TRUE_("ASSERT_FALSE", !(c), 1)
#define EXPECT_EQ(a, b) KT_CMP_("EXPECT_EQ", a, ==, b, 0)
#define ASSERT_EQ(a, b) KT_CMP_("ASSERT_EQ", a, ==, b, 1)
#define EXPECT_NE(a, b) KT_CMP_("EXPECT_NE", a, !=, b, 0)
#define ASSERT_NE(a, b) KT_CMP_("ASSERT_NE", a, !=, b, 1)
#define EXPECT_LT(a, b) KT_CMP_("EXPECT_LT", a, <, b, 0)
#define ASSERT_LT(a, b) KT_CMP_("ASSERT_LT", a, <, b, 1)
#define EXPECT_LE(a, b) KT_CMP_("EXPECT_LE", a, <=, b, 0)
#define ASSERT_LE(a, b) KT_CMP_("ASSERT_LE", a, <=, b, 1)
#define EXPECT_GT(a, b) KT_CMP_("EXPECT_GT", a, >, b, 0)
#define ASSERT_GT(a, b) KT_CMP_("ASSERT_GT", a, >, b, 1)
#define EXPECT_GE(a, b) KT_CMP_("EXPECT_GE", a, >=, b, 0)
#define ASSERT_GE(a, b) KT_CMP_("ASSERT_GE", a, >=, b, 1)
#define EXPECT_STREQ(a, b) KT_STR_("EXPECT_STREQ", a, b, 0)
#define ASSERT_STREQ(a, b) KT_STR_("ASSERT_STREQ", a, b, 1)

#endif /* KTEST_H */
