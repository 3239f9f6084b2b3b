/*
 * tlb_none.c (host) — tlb_serve() for the host tests that link the
 * kernel's spinlocks but not hat_tlb.c: from lab 7 on, spin_lock()'s wait
 * serves shootdowns (tlb.h), and on the host none is ever posted.
 */
#include <tlb.h>

/* No request ever reaches a host test's CPUs: nothing to serve. */
void tlb_serve(void)
{
}
