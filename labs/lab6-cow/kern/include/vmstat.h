/*
 * vmstat.h — counters of what the VM layer did (vmstat.c), after the
 * illumos vminfo kstats. Each is bumped by kit code around the student's
 * layer, with an atomic add; the monitor's vminfo prints them.
 */
#ifndef VMSTAT_H
#define VMSTAT_H

#include <stdint.h>

struct vminfo {
	uint64_t as_fault;    /* faults handed to as_fault() */
	uint64_t prot_fault;  /* ... that it refused with FC_PROT */
	uint64_t nomap_fault; /* ... with no segment there */
	uint64_t maj_fault;   /* faults that read from the backing store */
	uint64_t zfod;        /* zero-filled pages made */
	uint64_t pgin;        /* pages read in from the initrd */
	uint64_t cow_fault;   /* pages copied for a writer (anon_alloc from a
				 page: a shared slot's, or a file's) */
};

extern struct vminfo vminfo;

#define VMINFO_ADD(field) \
	__atomic_add_fetch(&vminfo.field, 1, __ATOMIC_RELAXED)

#endif /* VMSTAT_H */
