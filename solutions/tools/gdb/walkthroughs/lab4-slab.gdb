# lab4-slab.gdb — the steps of handouts/lab4-slab-gdb.md, in order.
# grader/gdbcheck boots the kernel as `make qemu-gdb KTEST=...` would (4
# CPUs), runs these commands as typed after `make gdb`, and checks
# lab4-slab.expect.
# ktest: kmem.magazines_bound_depot_visits

# 1. Into the test: the caches kmem_init made, before the test makes its own.
tbreak ktest_kmem_magazines_bound_depot_visits
continue
vm-kmem
# 2. Stop in kmem_cache_alloc for the test's cache only, past the 100
# allocations of its warm-up: the first of its 10,000 pairs.
break kmem_cache_alloc if $_streq(cp->cache_name, "kmem_test_bound")
ignore 2 100
continue
set $cp = cp
vm-kmem kmem_test_bound
# 3. The allocation pops a round from the loaded magazine.
finish
vm-kmem kmem_test_bound
# 4. The free pushes it back.
break kmem_cache_free if cp == $cp
continue
finish
vm-kmem $cp
# 5. Another pair: down one, up one, and the depot never moves.
continue
finish
vm-kmem kmem_test_bound
continue
finish
vm-kmem kmem_test_bound
vm-kmem
