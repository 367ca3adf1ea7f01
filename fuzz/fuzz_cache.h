/*
 * fuzz_cache.h - the cache fuzzing harness's entry point and input format,
 * shared by the libFuzzer build, the replay driver and the seed generator.
 *
 * An input describes a cache file image as a list of patches:
 *
 *   byte 0            flags: bit 0 set = start from an all-zero image,
 *                     clear = start from the template (a valid cache
 *                     holding FUZZ_TEMPLATE_KEYS keys)
 *   then records, until the input ends:
 *     u8  sel         bits 0-2: region (mod FUZZ_NREGIONS); bit 7: pointer;
 *                     bit 6, with bit 7: as a reference
 *     u32 off (LE)    offset inside the region (mod its length)
 *     pointer (bit 7 set):
 *       u32 val (LE)  writes the offset of a node-aligned place in the used
 *                     arena (val mod its length, rounded down to 8) at off:
 *                     as a shm_offt (off rounded down to 8), or with bit 6
 *                     as a 32-bit reference, the form of C-node children
 *                     and main words (off rounded down to 4): links to
 *                     real nodes, so cycles and shared nodes are easy to
 *                     reach
 *     bytes (bit 7 clear):
 *       u16 len (LE)  then len bytes (fewer if the input ends) copied to off
 *
 * Regions: the allocator's file header, the first KiB of the client area
 * (the cache header's settings, counters and ring, and the start of its
 * top table), the rest of the client area (the top table), the
 * allocator's bitmaps, the used part of the arena, the whole image.
 *
 * The harness attaches the image with cache_attach_memory, looks up the
 * template's keys, records keys (old, new and too long), re-attaches, then
 * iterates (reading every key byte), reads the statistics and the recent
 * ring, and verifies.  Any crash, sanitizer report or hang is a finding.
 */
#ifndef FUZZ_CACHE_H
#define FUZZ_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_TEMPLATE_KEYS 300
#define FUZZ_NREGIONS 6
#define FUZZ_FLAG_ZERO 1u
#define FUZZ_SEL_POINTER 0x80u
#define FUZZ_SEL_REF 0x40u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The size of a cache image of this build, and key i of the template. */
size_t fuzz_image_size(void);
size_t fuzz_key(unsigned i, char *buf, size_t cap);

/* Calls fn once for each seed input (real caches encoded as above, and a
 * few patches of the template).  Returns the number of seeds, -1 on error. */
typedef int (*fuzz_seed_fn)(const char *name, const uint8_t *data,
			    size_t size, void *arg);
int fuzz_each_seed(fuzz_seed_fn fn, void *arg);

#endif /* FUZZ_CACHE_H */
