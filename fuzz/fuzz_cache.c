/*
 * fuzz_cache.c - the fuzzing entry point: an arbitrary input becomes a cache
 * file image (see fuzz_cache.h for the format), on which every read and
 * write operation of the cache is run.  Built with a small arena
 * (MAX_ALLOCATABLE_SHM_SIZE) so that an image is about a megabyte and a half.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrie_cache.h"
#include "ctrie_layout.h"
#include "fuzz_cache.h"

static unsigned char *template_image;
static unsigned char *image;
static size_t image_size;
static size_t used_arena;   /* bytes of the template's arena in use */

struct region {
	size_t off, len;
};

size_t fuzz_image_size(void)
{
	return get_mapping_size_needed_by_shm();
}

/* Template keys: paths of varied depth and length, a few near the maximum,
 * and a few with every byte value. */
size_t fuzz_key(unsigned i, char *buf, size_t cap)
{
	size_t len, max = cache_max_key();
	int n;

	if (cap == 0)
		return 0;
	if (i % 50 == 7) {
		for (len = 0; len < 255 && len + 1 < cap; len++)
			buf[len] = (char)(1 + (len + i) % 255);
		return len;
	}
	n = snprintf(buf, cap, "/usr/include/d%u/sub%u/header-%u.h", i % 7,
		     i % 23, i);
	len = n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
	if (i % 31 == 3) {
		size_t want = max - i % 4;
		while (len < want && len + 1 < cap) {
			buf[len] = (char)('A' + len % 26);
			len++;
		}
	}
	return len;
}

static int setup(void)
{
	struct cache c;
	struct shm_stats st;
	char key[4096];
	unsigned i;

	image_size = fuzz_image_size();
	template_image = aligned_alloc(64, image_size);
	image = aligned_alloc(64, image_size);
	if (template_image == NULL || image == NULL)
		return -1;
	memset(template_image, 0, image_size);
	memset(&c, 0, sizeof c);
	if (cache_attach_memory(&c, template_image, image_size,
				CACHE_ATTACH_CREATE) != CACHE_OK)
		return -1;
	for (i = 0; i < FUZZ_TEMPLATE_KEYS; i++) {
		size_t len = fuzz_key(i, key, sizeof key);
		if (cache_record(&c, key, len, 1u << (i % 19)) != CACHE_OK)
			return -1;
	}
	if (shm_arena_stats(&c.arena, &st) != SHM_OK)
		return -1;
	used_arena = st.max_blocks_touched << MAX_ALLOC_POW2;
	if (used_arena == 0 || used_arena > MAX_ALLOCATABLE_SHM_SIZE)
		used_arena = MAX_ALLOCATABLE_SHM_SIZE;
	cache_detach(&c);
	return 0;
}

/* The regions patches address, computed from the public layout: the header
 * page, the client area, the allocator's bitmaps, the arena. */
static struct region region_of(unsigned r)
{
	const size_t client = 4096, arena = image_size - MAX_ALLOCATABLE_SHM_SIZE;
	struct region g;

	switch (r % FUZZ_NREGIONS) {
	case 0: g.off = 0; g.len = client; break;
	case 1: g.off = client; g.len = 1024; break;
	case 2: g.off = client + 1024; g.len = SHM_CLIENT_AREA_SIZE - 1024; break;
	case 3:
		g.off = client + SHM_CLIENT_AREA_SIZE;
		g.len = arena - SHM_NULL_REGION_SIZE - g.off;
		break;
	case 4: g.off = arena; g.len = used_arena; break;
	default: g.off = 0; g.len = image_size; break;
	}
	return g;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void apply(const uint8_t *data, size_t size)
{
	size_t i = 1;

	if (data[0] & FUZZ_FLAG_ZERO)
		memset(image, 0, image_size);
	else
		memcpy(image, template_image, image_size);
	while (i + 5 <= size) {
		unsigned sel = data[i];
		struct region g = region_of(sel & 7u);
		size_t off = le32(data + i + 1) % g.len;

		i += 5;
		if (sel & FUZZ_SEL_POINTER) {
			shm_offt v;
			uint32_t ref;
			if (i + 4 > size)
				break;
			v = (shm_offt)(SHM_NULL_REGION_SIZE +
				       (le32(data + i) % used_arena & ~(size_t)7));
			ref = ctrie_ref_of(v);
			if (sel & FUZZ_SEL_REF) {
				off = (g.off + off) & ~(size_t)3;
				if (off + sizeof ref <= image_size)
					memcpy(image + off, &ref, sizeof ref);
			} else {
				off = (g.off + off) & ~(size_t)7;
				if (off + sizeof v <= image_size)
					memcpy(image + off, &v, sizeof v);
			}
			i += 4;
		} else {
			size_t len;
			if (i + 2 > size)
				break;
			len = (size_t)data[i] | (size_t)data[i + 1] << 8;
			i += 2;
			if (len > size - i)
				len = size - i;
			if (len > g.len - off)
				len = g.len - off;
			memcpy(image + g.off + off, data + i, len);
			i += len;
		}
	}
}

struct walk {
	unsigned long entries, sum;
};

static int visit(const struct cache_entry *e, void *arg)
{
	struct walk *w = arg;
	size_t i;

	for (i = 0; i < e->len; i++)
		w->sum += e->key[i];
	w->sum += e->ops + (unsigned long)e->count;
	/* a bound of our own, should iteration never end */
	return ++w->entries > 4 * FUZZ_TEMPLATE_KEYS + 100000;
}

static void ignore_report(const char *problem, void *arg)
{
	unsigned long *n = arg;

	*n += strlen(problem) > 0;
}

/* The shim's memo on the damaged image: records through a hint (filled
 * from what lookups find there), the in-place hit on NUL-terminated keys,
 * and a hint whose words come from the input (any offset, any length). */
static void hinted_records(struct cache *c, const uint8_t *data, size_t size,
			   char *key, size_t cap)
{
	struct cache_hint h;
	const unsigned char *stored;
	unsigned i;

	memset(&h, 0, sizeof h);
	for (i = 0; i < 6; i++) {
		size_t len = fuzz_key(i * 7 + (unsigned)size % 5, key, cap - 1);
		cache_record_hinted(c, key, len, CACHE_OP_STAT, &h);
		cache_record_hinted(c, key, len, CACHE_OP_STAT, &h);
		key[len] = '\0';
		cache_hint_record(c, &h, key, CACHE_OP_READ, &stored);
	}
	if (size >= sizeof(shm_offt) + 2) {
		shm_offt off;
		memcpy(&off, data, sizeof off);
		h.snode = off;
		h.len = (size_t)data[sizeof off] | (size_t)data[sizeof off + 1] << 8;
		h.owner = c->hdr;
		cache_hint_record(c, &h, key, CACHE_OP_READ, &stored);
	}
}

/* Where the reads' results go, so that they are not optimised away. */
static volatile unsigned long sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct cache c;
	struct cache_entry e, recent[16];
	struct cache_stats st;
	struct walk w = { 0, 0 };
	char key[4096];
	unsigned long reports = 0;
	unsigned i;
	size_t n;

	if (!ready) {
		if (setup() != 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	apply(data, size);

	memset(&c, 0, sizeof c);
	if (cache_attach_memory(&c, image, image_size, 0) != CACHE_OK)
		return 0;
	for (i = 0; i < FUZZ_TEMPLATE_KEYS; i += 3) {
		size_t len = fuzz_key(i, key, sizeof key);
		if (cache_lookup(&c, key, len, &e) == 1)
			w.sum += e.len + e.key[e.len ? e.len - 1 : 0];
	}
	for (i = 0; i < 8; i++) {
		size_t len = fuzz_key(i * 41 + (unsigned)size % 7, key, sizeof key);
		cache_record(&c, key, len, CACHE_OP_READ);
		len = (size_t)snprintf(key, sizeof key, "/new/key/%u", i);
		cache_record(&c, key, len, CACHE_OP_STAT | CACHE_OP_MISSING);
	}
	memset(key, 'x', sizeof key);
	cache_record(&c, key, sizeof key, CACHE_OP_WRITE);
	hinted_records(&c, data, size, key, sizeof key);
	cache_detach(&c);

	/* a fresh handle: the first may have been marked broken */
	memset(&c, 0, sizeof c);
	if (cache_attach_memory(&c, image, image_size, CACHE_ATTACH_RDONLY) !=
	    CACHE_OK)
		return 0;
	cache_iterate(&c, visit, &w);
	cache_stats(&c, &st, true);
	n = cache_recent(&c, recent, 16);
	for (i = 0; i < n && i < 16; i++)
		if (recent[i].len > 0)
			w.sum += recent[i].key[recent[i].len - 1];
	cache_verify(&c, ignore_report, &reports);
	cache_detach(&c);
	sink = w.sum + reports;
	return 0;
}
