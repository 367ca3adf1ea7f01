/*
 * ctrie_ops.c - names of the operation bits and of the errors.
 */
#include <string.h>

#include "ctrie_cache.h"

struct op_name {
	uint32_t bit;
	char letter;
	const char *name;
};

static const struct op_name op_names[] = {
#define CACHE_OP_ROW(nm, b, l, s) { CACHE_OP_##nm, l, s },
	CACHE_OPS(CACHE_OP_ROW)
#undef CACHE_OP_ROW
};

#define N_OPS (sizeof op_names / sizeof op_names[0])

/* The table's row of bit, or NULL for a bit that is not defined. */
static const struct op_name *op_row(uint32_t bit)
{
	size_t i;
	for (i = 0; i < N_OPS; i++)
		if (op_names[i].bit == bit)
			return &op_names[i];
	return NULL;
}

const char *cache_op_name(uint32_t bit)
{
	const struct op_name *o = op_row(bit);
	return o ? o->name : NULL;
}

char cache_op_letter(uint32_t bit)
{
	const struct op_name *o = op_row(bit);
	return o ? o->letter : 0;
}

int cache_ops_parse(const char *list, uint32_t *bits, const char **bad)
{
	uint32_t acc = 0;
	const char *p = list;

	if (list == NULL) {
		if (bad != NULL)
			*bad = list;
		return -1;
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		size_t i;
		bool ok = false;

		for (i = 0; i < N_OPS; i++) {
			if (strlen(op_names[i].name) == len &&
			    strncmp(op_names[i].name, p, len) == 0) {
				acc |= op_names[i].bit;
				ok = true;
				break;
			}
		}
		if (!ok) {
			if (bad != NULL)
				*bad = p;
			return -1;
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	*bits = acc;
	return 0;
}

const char *cache_strerror(int err)
{
	switch (err) {
	case CACHE_OK:
		return "success";
	case CACHE_E_ARENA:
		return "the cache file could not be opened";
	case CACHE_E_NOTCACHE:
		return "not a path cache";
	case CACHE_E_VERSION:
		return "path cache of an incompatible format";
	case CACHE_E_TOOLONG:
		return "key too long for the cache";
	case CACHE_E_FULL:
		return "the cache file is full";
	case CACHE_E_CORRUPT:
		return "the cache file is damaged";
	case CACHE_E_RDONLY:
		return "the cache is attached read-only";
	case CACHE_E_STOP:
		return "stopped by the caller";
	case CACHE_E_NOMEM:
		return "out of memory";
	case CACHE_E_UNMAPPED:
		return "past the part of the file this process could map (address-space limit)";
	default:
		return "unknown cache error";
	}
}
