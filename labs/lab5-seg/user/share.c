/*
 * share — a program that only user.same_binary_shares_pages runs: it
 * touches its own code and data and exits 0. The kernel test runs it
 * twice and checks that the second run reads nothing from the initrd,
 * because every page it needs is in the page cache already. No other test
 * may run it, or its pages would be cached before the first run.
 */
#include <stdio.h>

static volatile int data[2048] = { 1 }; /* a couple of data pages */

int main(void)
{
	long sum = 0;

	for (int i = 0; i < 2048; i += 512)
		sum += data[i];
	printf("1..1\nok 1 share_ran_sum_%ld\n", sum);
	return 0;
}
