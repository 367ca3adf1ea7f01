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
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

/* More objects than this (large programs) are left to dlsym. */
#define RESOLVE_MAX_OBJECTS 32
/* st_info packs binding and type alike in both classes (ELF64_ST_* are
 * ELF32_ST_*). */

/* What one object of the chain gives; NULL where absent. */
struct resolve_tables {
	ElfW(Addr) addr;
	const char *strtab;
	const ElfW(Sym) *symtab;
	const uint32_t *gnu_hash;
	const ElfW(Half) *versym;
	const char *soname;
	const char *name;
	const ElfW(Dyn) *dyn; /* for DT_NEEDED */
	unsigned char vdso;
	unsigned char vouched;
};

/* One walk, on the caller's stack (start-up never runs on a signal
 * stack): a static would cost page faults of its own at start-up. */
struct resolve_walk {
	const void *self;
	const char *names; /* name i at names + name_at[i]: resolve.h */
	const uint16_t *name_at;
	const char *self_name;
	size_t n;
	void **out;
	const struct link_map *next; /* the chain object the next call is */
	size_t at;                   /* its index in the chain              */
	size_t self_at;              /* ours, or SIZE_MAX before it is seen */
	int unusual;
	struct resolve_tables t[RESOLVE_MAX_OBJECTS];
};

/* "Ask dlsym" while the walk runs; NULL in the result. */
#define RESOLVE_ASK_MARK ((void *)1)

/* The address a dynamic-section pointer v means: the loader has added the
 * load address to it or not, depending on the architecture and on whether
 * the section is writable; the one reading that falls in a loaded segment
 * is taken, and an ambiguous or outside one is refused (0). */
static ElfW(Addr) resolve_dyn_ptr(const struct dl_phdr_info *o, ElfW(Addr) v)
{
	int as_is = 0, plus_base = 0;

	for (ElfW(Half) i = 0; i < o->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &o->dlpi_phdr[i];
		ElfW(Addr) lo = p->p_vaddr, hi = p->p_vaddr + p->p_memsz;

		if (p->p_type != PT_LOAD)
			continue;
		as_is |= v >= o->dlpi_addr + lo && v < o->dlpi_addr + hi;
		plus_base |= v >= lo && v < hi;
	}
	if (o->dlpi_addr == 0)
		return as_is ? v : 0;
	if (as_is == plus_base)
		return 0;
	return as_is ? v : v + o->dlpi_addr;
}

/* Whether o's loaded segments hold the address p. */
static int resolve_holds(const struct dl_phdr_info *o, const void *p)
{
	ElfW(Addr) a = (ElfW(Addr))p;

	for (ElfW(Half) i = 0; i < o->dlpi_phnum; i++) {
		const ElfW(Phdr) *h = &o->dlpi_phdr[i];

		if (h->p_type == PT_LOAD && a >= o->dlpi_addr + h->p_vaddr &&
		    a < o->dlpi_addr + h->p_vaddr + h->p_memsz)
			return 1;
	}
	return 0;
}

/* Reads o's dynamic section (l: its link_map) into t; -1 if it cannot be
 * read as needed. */
static int resolve_tables_of(const struct dl_phdr_info *o,
			     const struct link_map *l, struct resolve_tables *t)
{
	ElfW(Addr) strtab = 0, symtab = 0, gnu_hash = 0, versym = 0;
	ElfW(Addr) soname = 0;
	int has_soname = 0;
	unsigned long vdso = getauxval(AT_SYSINFO_EHDR);

	memset(t, 0, sizeof *t);
	if (l->l_ld == NULL)
		return -1;
	t->addr = l->l_addr;
	t->name = l->l_name;
	t->dyn = l->l_ld;
	t->vdso = vdso != 0 && resolve_holds(o, (const void *)vdso);
	for (const ElfW(Dyn) *d = l->l_ld; d->d_tag != DT_NULL; d++) {
		switch (d->d_tag) {
		case DT_STRTAB: strtab = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_SYMTAB: symtab = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_GNU_HASH: gnu_hash = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_VERSYM: versym = resolve_dyn_ptr(o, d->d_un.d_ptr); break;
		case DT_SONAME: soname = d->d_un.d_val; has_soname = 1; break;
		case DT_AUDIT:
		case DT_DEPAUDIT:
			return -1; /* an auditor may rebind what dlsym gives */
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

/* Whether chain object i (the last read) is the first one carrying a name
 * that a vouched object before it needs. */
static int resolve_needed(const struct resolve_tables *t, size_t i)
{
	for (size_t k = 0; k < i; k++) {
		if (!t[k].vouched || t[k].strtab == NULL)
			continue;
		for (const ElfW(Dyn) *d = t[k].dyn; d->d_tag != DT_NULL; d++) {
			const char *n;
			size_t first = 0;

			if (d->d_tag != DT_NEEDED)
				continue;
			n = t[k].strtab + d->d_un.d_val;
			while (first < i && !resolve_name_matches(&t[first], n))
				first++;
			if (first == i && resolve_name_matches(&t[i], n))
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

/* Every name not yet decided, in the object t after ours. */
static void resolve_names_in(struct resolve_walk *w,
			     const struct resolve_tables *t)
{
	for (size_t i = 0; i < w->n; i++) {
		const char *name = w->names + w->name_at[i];

		if (w->out[i] != NULL)
			continue;
		switch (resolve_in(t, name, resolve_gnu_hash(name),
				   &w->out[i])) {
		case RESOLVE_ASK:
			w->out[i] = RESOLVE_ASK_MARK;
			break;
		default:
			break;
		}
	}
}

/* One object, under the lock dl_iterate_phdr holds across all its calls
 * (no dlopen changes the chain meanwhile).  The base namespace comes
 * first, in chain order; each call must be the chain's next object. */
static int resolve_each(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct resolve_walk *w = arg;
	const struct link_map *l = w->next;
	struct resolve_tables *t = &w->t[w->at];

	if (size < offsetof(struct dl_phdr_info, dlpi_subs) +
			   sizeof info->dlpi_subs ||
	    info->dlpi_subs != 0 || l == NULL ||
	    w->at == RESOLVE_MAX_OBJECTS || l->l_addr != info->dlpi_addr ||
	    l->l_name != info->dlpi_name || resolve_tables_of(info, l, t) != 0)
		goto unusual;
	if (w->self_at == SIZE_MAX) {
		/* Objects up to ours are initial: dlopen appends. */
		t->vouched = 1;
		if (resolve_holds(info, w->self)) {
			w->self_at = w->at;
			w->self_name = l->l_name;
		}
	} else if (!t->vdso) {
		/* the vDSO is in no search list */
		if (t->gnu_hash == NULL || t->symtab == NULL ||
		    !resolve_needed(w->t, w->at))
			goto unusual;
		t->vouched = 1;
		resolve_names_in(w, t);
	}
	w->next = l->l_next;
	w->at++;
	return 0;
unusual:
	w->unusual = 1;
	return 1;
}

int shim_resolve_next(const void *self, const char *names,
		      const uint16_t *at, size_t n,
		      const char *audit, void **out, const char **self_name)
{
	struct resolve_walk w;

	*self_name = NULL;
	for (size_t i = 0; i < n; i++)
		out[i] = NULL;
	/* The base namespace's chain starts at the program, which the
	 * loader's debugger interface names.  An auditor (la_symbind) may
	 * change what dlsym gives: its answers are left to it. */
	if (_r_debug.r_version < 1 || _r_debug.r_map == NULL ||
	    _r_debug.r_map->l_prev != NULL || (audit != NULL && *audit != '\0'))
		return -1;
	w.self = self;
	w.self_name = NULL;
	w.names = names;
	w.name_at = at;
	w.n = n;
	w.out = out;
	w.next = _r_debug.r_map;
	w.at = 0;
	w.self_at = SIZE_MAX;
	w.unusual = 0;
	dl_iterate_phdr(resolve_each, &w);
	/* Every object seen, ours among them, and none in another
	 * namespace (dl_iterate_phdr would have shown it past the chain's
	 * end, where w.next is NULL). */
	if (w.unusual || w.self_at == SIZE_MAX || w.next != NULL) {
		for (size_t i = 0; i < n; i++)
			out[i] = NULL;
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (out[i] == RESOLVE_ASK_MARK)
			out[i] = NULL;
	*self_name = w.self_name;
	return 0;
}
