/*
 * resolve.c - the real functions behind the hooks in one pass over the
 * loader's objects.
 *
 * dlsym(RTLD_NEXT, name) searches the main program's search list (the
 * initial objects: the program, the preloaded libraries, their needed
 * libraries breadth first, the loader where it is needed) from the object
 * after the caller's, and returns the first definition it accepts.  Each
 * call takes the loader's lock, finds the caller's object and walks that
 * list: ~0.4 µs a name, over a hundred names a process.  Here the list is
 * walked once and each object's GNU hash table is asked for every name.
 *
 * The loader's chain of objects (struct link_map, l_next) is in that
 * order for the initial objects, except the vDSO, which is in no search
 * list and is skipped.  An object dlopen'ed before start-up is appended
 * to the chain but may or may not be in the search list (RTLD_GLOBAL or
 * RTLD_LOCAL), and the public link_map does not say which: so every object
 * after ours must be the first in the chain to carry a name that an
 * object before it needs (DT_NEEDED), which a dlopen'ed object never is;
 * otherwise (a library preloaded after ours included) dlsym answers for
 * every name.  Objects in other namespaces (LD_AUDIT, dlmopen) or an
 * unloaded one also send everything to dlsym.
 */
#define _GNU_SOURCE 1 /* dladdr1, RTLD_DL_LINKMAP, dl_iterate_phdr */

#include "resolve.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>

#define RESOLVE_MAX_OBJECTS 64
#define RESOLVE_MAX_NAMES 256
/* st_info packs binding and type alike in both classes (ELF64_ST_* are
 * ELF32_ST_*). */

/* One loaded object as dl_iterate_phdr shows it. */
struct resolve_obj {
	ElfW(Addr) addr;
	const char *name;
	const ElfW(Phdr) *phdr;
	ElfW(Half) phnum;
};

/* What one object's dynamic section gives; NULL where absent. */
struct resolve_tables {
	ElfW(Addr) addr;
	const char *strtab;
	const ElfW(Sym) *symtab;
	const uint32_t *gnu_hash;
	const ElfW(Half) *versym;
	const char *soname;
	const char *name;
	const ElfW(Dyn) *dyn; /* for DT_NEEDED */
	int vdso;
	int vouched;
};

/* Filled under the loader's lock; start-up runs once per process, so
 * static storage keeps this off the (possibly small) stack. */
static struct resolve_walk {
	const struct link_map *self;
	struct resolve_obj all[RESOLVE_MAX_OBJECTS];
	size_t nall;
	const struct link_map *chain[RESOLVE_MAX_OBJECTS];
	size_t nchain;
	size_t self_at;
	int unusual;
} walk;

static struct resolve_tables tables[RESOLVE_MAX_OBJECTS];
static uint32_t hashes[RESOLVE_MAX_NAMES];

/* The base namespace's chain, from its head, with our position in it. */
static void resolve_chain(struct resolve_walk *w)
{
	const struct link_map *l = w->self;

	while (l->l_prev != NULL)
		l = l->l_prev;
	for (; l != NULL; l = l->l_next) {
		if (w->nchain == RESOLVE_MAX_OBJECTS) {
			w->unusual = 1;
			return;
		}
		if (l == w->self)
			w->self_at = w->nchain;
		w->chain[w->nchain++] = l;
	}
}

static int resolve_each(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct resolve_walk *w = arg;

	/* The chain is read here, under the lock dl_iterate_phdr holds
	 * across all its calls, so that no dlopen changes it meanwhile. */
	if (w->nall == 0)
		resolve_chain(w);
	if (size < offsetof(struct dl_phdr_info, dlpi_subs) +
			   sizeof info->dlpi_subs ||
	    info->dlpi_subs != 0 || w->nall == RESOLVE_MAX_OBJECTS) {
		w->unusual = 1;
		return 1;
	}
	w->all[w->nall++] = (struct resolve_obj){ info->dlpi_addr,
						  info->dlpi_name,
						  info->dlpi_phdr,
						  info->dlpi_phnum };
	return 0;
}

/* The address a dynamic-section pointer v means: the loader has added the
 * load address to it or not, depending on the architecture and on whether
 * the section is writable; the one reading that falls in a loaded segment
 * is taken, and an ambiguous or outside one is refused (0). */
static ElfW(Addr) resolve_dyn_ptr(const struct resolve_obj *o, ElfW(Addr) v)
{
	int as_is = 0, plus_base = 0;

	for (ElfW(Half) i = 0; i < o->phnum; i++) {
		const ElfW(Phdr) *p = &o->phdr[i];
		ElfW(Addr) lo = p->p_vaddr, hi = p->p_vaddr + p->p_memsz;

		if (p->p_type != PT_LOAD)
			continue;
		as_is |= v >= o->addr + lo && v < o->addr + hi;
		plus_base |= v >= lo && v < hi;
	}
	if (o->addr == 0)
		return as_is ? v : 0;
	if (as_is == plus_base)
		return 0;
	return as_is ? v : v + o->addr;
}

static int resolve_is_vdso(const struct resolve_obj *o)
{
	unsigned long ehdr = getauxval(AT_SYSINFO_EHDR);

	for (ElfW(Half) i = 0; ehdr != 0 && i < o->phnum; i++)
		if (o->phdr[i].p_type == PT_LOAD && o->phdr[i].p_offset == 0)
			return o->addr + o->phdr[i].p_vaddr == ehdr;
	return 0;
}

/* Reads l's dynamic section into t; -1 if it cannot be read as needed. */
static int resolve_tables_of(const struct link_map *l, struct resolve_tables *t)
{
	const struct resolve_obj *o = NULL;
	ElfW(Addr) strtab = 0, symtab = 0, gnu_hash = 0, versym = 0;
	ElfW(Addr) soname = 0;
	int has_soname = 0;

	for (size_t i = 0; i < walk.nall && o == NULL; i++)
		if (walk.all[i].addr == l->l_addr &&
		    walk.all[i].name == l->l_name)
			o = &walk.all[i];
	if (o == NULL || l->l_ld == NULL)
		return -1;
	memset(t, 0, sizeof *t);
	t->addr = l->l_addr;
	t->name = l->l_name;
	t->dyn = l->l_ld;
	t->vdso = resolve_is_vdso(o);
	for (const ElfW(Dyn) *d = l->l_ld; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_STRTAB: strtab = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_SYMTAB: symtab = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_GNU_HASH: gnu_hash = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_VERSYM: versym = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_SONAME: soname = d->d_un.d_val; has_soname = 1; break;
		default: break;
		}
	}
	if (strtab == 0)
		return t->vdso ? 0 : -1;
	t->strtab = (const char *)strtab;
	t->symtab = (const ElfW(Sym) *)symtab;
	t->gnu_hash = (const uint32_t *)gnu_hash;
	t->versym = (const ElfW(Half) *)versym;
	t->soname = has_soname ? t->strtab + soname : NULL;
	return 0;
}

/* Whether the loader would take object t for the needed name n. */
static int resolve_name_matches(const struct resolve_tables *t, const char *n)
{
	const char *base;

	if (t->vdso || t->name == NULL)
		return 0;
	if (strcmp(t->name, n) == 0)
		return 1;
	if (strchr(n, '/') != NULL)
		return 0;
	if (t->soname != NULL && strcmp(t->soname, n) == 0)
		return 1;
	base = strrchr(t->name, '/');
	return base != NULL && strcmp(base + 1, n) == 0;
}

/* Whether chain object i is the first one carrying a name that a vouched
 * object before it needs. */
static int resolve_needed(size_t i)
{
	for (size_t k = 0; k < i; k++) {
		if (!tables[k].vouched || tables[k].strtab == NULL)
			continue;
		for (const ElfW(Dyn) *d = tables[k].dyn; d->d_tag != DT_NULL;
		     d++) {
			const char *n;
			size_t first = 0;

			if (d->d_tag != DT_NEEDED)
				continue;
			n = tables[k].strtab + d->d_un.d_val;
			while (first < walk.nchain &&
			       !resolve_name_matches(&tables[first], n))
				first++;
			if (first == i)
				return 1;
		}
	}
	return 0;
}

static uint32_t resolve_gnu_hash(const char *s)
{
	uint32_t h = 5381;

	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++)
		h = h * 33 + *c;
	return h;
}

enum { RESOLVE_NONE, RESOLVE_FOUND, RESOLVE_ASK };

/* Whether sym, named name, is a definition the loader would look at. */
static int resolve_sym_ok(const struct resolve_tables *t, const ElfW(Sym) *s,
			  const char *name)
{
	unsigned type = ELF32_ST_TYPE(s->st_info);

	if ((s->st_value == 0 && type != STT_TLS) || s->st_shndx == SHN_UNDEF)
		return 0;
	if (type != STT_NOTYPE && type != STT_OBJECT && type != STT_FUNC &&
	    type != STT_COMMON && type != STT_TLS && type != STT_GNU_IFUNC)
		return 0;
	return strcmp(t->strtab + s->st_name, name) == 0;
}

/* The loader's choice among the symbols named name in one object: an
 * unversioned one at once, else the only non-hidden versioned one. */
static const ElfW(Sym) *resolve_pick(const struct resolve_tables *t,
				     const char *name, uint32_t h)
{
	const uint32_t *gh = t->gnu_hash;
	uint32_t nbuckets = gh[0], symoffset = gh[1], bloom_size = gh[2];
	uint32_t shift = gh[3], idx;
	const ElfW(Addr) *bloom = (const ElfW(Addr) *)(const void *)&gh[4];
	const uint32_t *buckets = (const uint32_t *)(const void *)&bloom[bloom_size];
	const uint32_t *chain = &buckets[nbuckets];
	const unsigned bits = sizeof(ElfW(Addr)) * 8;
	ElfW(Addr) word, mask;
	const ElfW(Sym) *versioned = NULL;
	unsigned versions = 0;

	if (nbuckets == 0 || bloom_size == 0)
		return NULL;
	word = bloom[(h / bits) & (bloom_size - 1)];
	mask = ((ElfW(Addr))1 << (h % bits)) |
	       ((ElfW(Addr))1 << ((h >> shift) % bits));
	if ((word & mask) != mask)
		return NULL;
	idx = buckets[h % nbuckets];
	if (idx < symoffset)
		return NULL;
	for (;; idx++) {
		uint32_t h2 = chain[idx - symoffset];
		const ElfW(Sym) *s = &t->symtab[idx];

		if (((h ^ h2) >> 1) == 0 && resolve_sym_ok(t, s, name)) {
			ElfW(Half) v = t->versym != NULL ? t->versym[idx] : 0;

			if ((v & 0x7fff) < 2)
				return s;
			if ((v & 0x8000) == 0 && versions++ == 0)
				versioned = s;
		}
		if (h2 & 1)
			break;
	}
	return versions == 1 ? versioned : NULL;
}

/* One name in one object: RESOLVE_FOUND with *out, RESOLVE_NONE (look in
 * the next object), or RESOLVE_ASK (dlsym must answer). */
static int resolve_in(const struct resolve_tables *t, const char *name,
		      uint32_t h, void **out)
{
	const ElfW(Sym) *s = resolve_pick(t, name, h);
	unsigned bind, type;

	if (s == NULL)
		return RESOLVE_NONE;
	bind = ELF32_ST_BIND(s->st_info);
	type = ELF32_ST_TYPE(s->st_info);
	if (bind != STB_GLOBAL && bind != STB_WEAK)
		return bind == STB_LOCAL ? RESOLVE_NONE : RESOLVE_ASK;
	if (type == STT_GNU_IFUNC || type == STT_TLS)
		return RESOLVE_ASK;
	*out = (void *)(t->addr + s->st_value);
	return RESOLVE_FOUND;
}

/* Reads every object's tables and vouches for those after ours. */
static int resolve_prepare(void)
{
	if (walk.unusual || walk.nall != walk.nchain)
		return -1; /* another namespace, or a chain we cannot hold */
	for (size_t i = 0; i < walk.nchain; i++) {
		if (resolve_tables_of(walk.chain[i], &tables[i]) != 0)
			return -1;
		/* Objects before ours are initial: dlopen appends. */
		tables[i].vouched = i <= walk.self_at;
	}
	for (size_t i = walk.self_at + 1; i < walk.nchain; i++) {
		if (tables[i].vdso)
			continue;
		if (tables[i].gnu_hash == NULL || tables[i].symtab == NULL ||
		    !resolve_needed(i))
			return -1;
		tables[i].vouched = 1;
	}
	return 0;
}

int shim_resolve_next(const void *self, const char *const *names, size_t n,
		      void **out)
{
	Dl_info info;
	void *lm = NULL;
	unsigned char decided[RESOLVE_MAX_NAMES];

	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	if (n > RESOLVE_MAX_NAMES ||
	    dladdr1(self, &info, &lm, RTLD_DL_LINKMAP) == 0 || lm == NULL)
		return -1;
	memset(&walk, 0, sizeof walk);
	walk.self = lm;
	dl_iterate_phdr(resolve_each, &walk);
	if (resolve_prepare() != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		hashes[i] = resolve_gnu_hash(names[i]);
		decided[i] = 0;
	}
	for (size_t o = walk.self_at + 1; o < walk.nchain; o++) {
		if (tables[o].vdso)
			continue;
		for (size_t i = 0; i < n; i++)
			if (!decided[i])
				decided[i] = resolve_in(&tables[o], names[i],
							hashes[i], &out[i]) !=
					     RESOLVE_NONE;
	}
	return 0;
}
