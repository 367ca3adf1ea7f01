/*
 * fuzz_seeds.c - the seed corpus, generated instead of stored: real caches
 * of this build (empty, one key, a few hundred, a full arena; short, long
 * and binary keys) encoded as patches of a zero image, and a few patches
 * of the template.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctrie_cache.h"
#include "ctrie_layout.h"
#include "fuzz_cache.h"

#define SEED_MAX (4u << 20)

struct enc {
	uint8_t *buf;
	size_t len;
};

static void put(struct enc *e, const void *p, size_t n)
{
	if (e->len + n <= SEED_MAX)
		memcpy(e->buf + e->len, p, n);
	e->len += n;
}

static void put32(struct enc *e, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };
	put(e, b, 4);
}

/* Encodes the non-zero runs of an image as byte patches of region 5 (the
 * whole image), runs closer than 32 bytes merged. */
static void encode_image(struct enc *e, const uint8_t *img, size_t size)
{
	size_t i = 0;
	uint8_t flag = FUZZ_FLAG_ZERO;

	e->len = 0;
	put(e, &flag, 1);
	while (i < size) {
		size_t start, end, zeros = 0;
		uint8_t sel = 5;

		while (i < size && img[i] == 0)
			i++;
		if (i >= size)
			break;
		start = end = i;
		while (i < size && i - start < 65535) {
			if (img[i] != 0) {
				end = i + 1;
				zeros = 0;
			} else if (++zeros >= 32) {
				break;
			}
			i++;
		}
		put(e, &sel, 1);
		put32(e, (uint32_t)start);
		put(e, (uint8_t[2]){ (uint8_t)(end - start),
				     (uint8_t)((end - start) >> 8) }, 2);
		put(e, img + start, end - start);
		i = end;
	}
}

/* Builds a real cache of nkeys keys of the given kind and encodes it. */
static int real_cache(struct enc *e, unsigned nkeys, unsigned kind)
{
	size_t size = fuzz_image_size();
	uint8_t *img = aligned_alloc(64, size);
	struct cache c;
	char key[4096];
	unsigned i;

	if (img == NULL)
		return -1;
	memset(img, 0, size);
	memset(&c, 0, sizeof c);
	if (cache_attach_memory(&c, img, size, CACHE_ATTACH_CREATE) != CACHE_OK) {
		free(img);
		return -1;
	}
	for (i = 0; i < nkeys; i++) {
		size_t len;
		switch (kind) {
		case 0: len = fuzz_key(i, key, sizeof key); break;
		case 1:
			len = (size_t)snprintf(key, sizeof key, "/a/%u", i);
			break;
		default:
			len = 1 + i % (cache_max_key() - 1);
			memset(key, 'k', len);
			key[0] = (char)i;
			key[len - 1] = (char)(i >> 8);
			break;
		}
		if (cache_record(&c, key, len, 1u << (i % 19)) == CACHE_E_FULL)
			break;
		if (i % 5 == 0)
			cache_record(&c, key, len, CACHE_OP_EXISTS);
	}
	cache_detach(&c);
	encode_image(e, img, size);
	free(img);
	return 0;
}

int fuzz_each_seed(fuzz_seed_fn fn, void *arg)
{
	static const struct {
		const char *name;
		unsigned nkeys, kind;
	} caches[] = {
		{ "empty", 0, 0 },      { "one", 1, 0 },
		{ "paths-40", 40, 0 },  { "paths-300", 300, 0 },
		{ "short-2000", 2000, 1 }, { "long-100", 100, 2 },
		{ "full", 100000, 2 },
	};
	/* patches of the template: none; a reference into the arena written
	 * over the first word of the top table (its offset in the cache
	 * header, below, depends on the build), a pointer at the arena's
	 * start; a length word of all ones */
	static const uint8_t as_is[] = { 0 };
	static uint8_t top_ref[] = { 0, 0xc1, 0, 0, 0, 0, 64, 0, 0, 0 };
	static const uint8_t arena_ptr[] = { 0, 0x84, 8, 0, 0, 0, 0, 1, 0, 0 };
	static const uint8_t huge_len[] = { 0, 4, 0, 0, 0, 0, 4, 0,
					    0x53, 0xff, 0xff, 0xff };
	static const struct {
		const char *name;
		const uint8_t *p;
		size_t n;
	} patches[] = {
		{ "template", as_is, sizeof as_is },
		{ "top-reference", top_ref, sizeof top_ref },
		{ "arena-pointer", arena_ptr, sizeof arena_ptr },
		{ "huge-length", huge_len, sizeof huge_len },
	};
	struct enc e;
	size_t i;
	int count = 0;

	top_ref[2] = (uint8_t)offsetof(struct ctrie_header, top);
	top_ref[3] = (uint8_t)(offsetof(struct ctrie_header, top) >> 8);
	e.buf = malloc(SEED_MAX);
	if (e.buf == NULL)
		return -1;
	for (i = 0; i < sizeof caches / sizeof caches[0]; i++) {
		if (real_cache(&e, caches[i].nkeys, caches[i].kind) != 0 ||
		    e.len > SEED_MAX) {
			free(e.buf);
			return -1;
		}
		if (fn(caches[i].name, e.buf, e.len, arg) != 0)
			break;
		count++;
	}
	for (i = 0; i < sizeof patches / sizeof patches[0]; i++) {
		if (fn(patches[i].name, patches[i].p, patches[i].n, arg) != 0)
			break;
		count++;
	}
	free(e.buf);
	return count;
}
