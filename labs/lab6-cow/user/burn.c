/*
 * burn — a CPU-bound process: it computes for a number of rounds (argv[1])
 * and exits 0. It makes no system call while it computes, so on one CPU
 * two of them share it only if the kernel's timer takes the CPU away
 * (user.timer_preemption), and several of them keep several CPUs busy at
 * once (user.four_cpus_at_once). Not a test by itself on Linux: `make
 * check` runs it once to show it exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long rounds = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000;
	unsigned long x = (unsigned long)getpid();

	for (unsigned long i = 0; i < rounds; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		__asm__ volatile("" : "+r"(x));
	}
	printf("1..1\nok 1 burned_%lu_rounds\n", rounds);
	return (int)(x & 0) ;
}
