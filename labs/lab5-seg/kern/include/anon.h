/*
 * anon.h — anonymous memory (illumos's <vm/anon.h>).
 *
 * A page with no file behind it (a zero-fill page, a private copy of a
 * file page) is an anon slot: struct anon, which names the page and counts
 * the references to it. A segment keeps its slots in an anon_map, indexed
 * by page. fork() shares slots between parent and child (anon_dup: each
 * slot's count goes up), and the first write to a slot with more than one
 * reference copies the page for the writer (anon_private): copy-on-write.
 * The page goes back to the allocator when the last reference goes.
 *
 * An anon_map holds its slots in chunks of ANON_CHUNK, made as they are
 * first used, so a large sparse mapping costs little.
 *
 * Locking: an_refcnt and an_page under anon_lock (rank LR_ANON). An
 * anon_map's slots under its am_lock (rank LR_ANONMAP); its am_refcnt is
 * atomic. Lock order (spinlock.h's ranks): a_lock, am_lock, v_lock, the
 * page hash, anon_lock, hment_lock, kmem, zones.
 */
#ifndef ANON_H
#define ANON_H

#include <page.h>
#include <spinlock.h>
#include <stddef.h>
#include <stdint.h>

struct anon {
	page_t *an_page;      /* its page, always present here (no swap) */
	uint32_t an_refcnt;   /* anon_maps slots pointing at it; anon_lock */
};

#define ANON_CHUNK 512 /* slots per chunk: one page of pointers */

struct anon_map {
	spinlock_t am_lock;
	uint32_t am_refcnt;   /* segments using the map; atomic */
	size_t am_size;       /* slots */
	struct anon ***am_chunks; /* [am_size / ANON_CHUNK] chunks; am_lock */
};

/*
 * A slot with a new page (refcnt 1), or NULL: a copy of from's page, or
 * zeros if from is NULL.
 */
struct anon *anon_alloc(page_t *from);
/* Drop one reference; the page is freed with the last. */
void anon_decref(struct anon *ap);
/*
 * A write to a slot that others share: a new slot with a copy of ap's
 * page, and ap loses the reference the caller held (which frees it if
 * the others are gone: the caller no longer maps it). NULL if no memory,
 * and ap keeps the reference.
 */
struct anon *anon_private(struct anon *ap);

/* A map of size slots, all empty, refcnt 1; or NULL. */
struct anon_map *anonmap_alloc(size_t size);
/* Drop a reference to amp; the last frees every slot it holds. */
void anonmap_decref(struct anon_map *amp);
/* The slot at index, or NULL (am_lock held). */
struct anon *anon_get(struct anon_map *amp, size_t index);
/* Put ap at index (empty before); 0 or -ENOMEM. am_lock held. */
int anon_set(struct anon_map *amp, size_t index, struct anon *ap);
/* Empty [index, index + npages) of amp, dropping each slot's reference. */
void anon_free(struct anon_map *amp, size_t index, size_t npages);
/*
 * fork(): make [dindex, dindex + npages) of dst share the slots of
 * [sindex, ...) of src, one more reference each. 0 or -ENOMEM.
 */
int anon_dup(struct anon_map *src, size_t sindex, struct anon_map *dst,
	     size_t dindex, size_t npages);

/* Slots and pages in use, for tests and memstat. */
uint64_t anon_count(void);

#endif /* ANON_H */
