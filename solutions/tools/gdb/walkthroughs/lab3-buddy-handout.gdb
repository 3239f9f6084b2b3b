# lab3-buddy-handout.gdb — the gdb session quoted in handouts/lab3-buddy.md
# (section 7, "gdb"), in order. grader/gdbcheck boots the kernel as
# `make qemu-gdb KTEST=...` would, runs these commands and checks
# lab3-buddy-handout.expect.
# ktest: buddy.split_counts

break page_alloc_pages
continue
p zones[1].z_free_area[5]
p page_array[0x7fc0]
finish
p/x $ - page_array
p/x zones[1].z_free_area[4].fa_head - page_array
p page_array[0x7fd0]
break page_free_pages if pp - page_array == 0x7fc0
continue
# Not in the handout: the page it stopped on.
p/x pp - page_array
