/*
 * kenv.h — the environment machine-independent code runs in.
 *
 * MI code in mm/ and vm/ includes kern headers and this one header for
 * everything it needs from around it: kprintf/panic/ASSERT, PAGESIZE and
 * the direct map (kpm_va). The host tests put their own kenv.h first on
 * the include path, which is how the real walker and allocators run on a
 * simulated physical memory there (tests/host/kenv.h).
 */
#ifndef KENV_H
#define KENV_H

#include <kernel.h>

#endif /* KENV_H */
