/*
 * catalog.c: loading maps from a folder and choosing one per document.
 *
 * An eager catalogue holds compiled maps and is never written after its
 * load.  A lazy one holds headers (map_load_header) and compiles a map
 * the first time selection picks it; the compiled maps are kept beside
 * the headers until catalog_free, so a pointer handed out stays valid.
 * Selection looks only at headers in both, so both pick the same map.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "catalog.h"
#include "eglimits.h"
#include "err.h"
#include "map.h"
#include "structure.h"
#include "xmalloc.h"

enum lz_state {
	LZ_HEADER = 0,		/* not compiled yet */
	LZ_OK,
	LZ_BROKEN,		/* compile failed, reported once */
};

/* What a lazy catalogue writes as maps are picked (one thread). */
struct catalog_lazy {
	struct map	**full;		/* [nmap], NULL until compiled */
	unsigned char	*state;		/* [nmap], enum lz_state */
	struct structure_cache *sc;	/* shared by the compiles */
	void		(*report)(void *, const char *);
	void		*arg;
	unsigned long	 broken;
};

struct catalog {
	char		*root;		/* maps folder; NULL: -m */
	struct map	**map;		/* load order: compiled, or headers */
	size_t		 nmap;
	int		 headers;	/* map[] are headers (lazy load) */
	/*
	 * Behind a pointer, so that selection, which takes the catalogue
	 * const (it is, for an eager one), may compile into it.
	 */
	struct catalog_lazy *lazy;	/* NULL: eager */
};

struct catalog *
catalog_new(const char *root)
{
	struct catalog	*c;

	c = xcalloc(1, sizeof(*c));
	c->root = root ? xstrdup(root) : NULL;
	return c;
}

void
catalog_free(struct catalog *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nmap; i++)
		map_free(c->map[i]);
	if (c->lazy != NULL) {
		for (i = 0; i < c->nmap; i++)
			map_free(c->lazy->full[i]);
		free(c->lazy->full);
		free(c->lazy->state);
		structure_cache_free(c->lazy->sc);
		free(c->lazy);
	}
	free(c->map);
	free(c->root);
	free(c);
}

/* sc: the files of the whole load, read once (NULL: none). */
static int
catalog_add_cached(struct catalog *c, const char *path,
    struct structure_cache *sc, struct buf *errors)
{
	struct map	*m;
	int		 r;

	if (c->nmap >= EG_MAX_MAPS) {
		buf_printf(errors, "%s: too many maps (limit %u)\n", path,
		    EG_MAX_MAPS);
		return EG_ERR_LIMIT;
	}
	if (c->headers)
		r = map_load_header(path, c->root, &m, errors);
	else
		r = map_load_cached(path, c->root, sc, &m, errors);
	if (r != 0)
		return r;
	c->map = xreallocarray(c->map, c->nmap + 1, sizeof(*c->map));
	c->map[c->nmap++] = m;
	return 0;
}

int
catalog_add(struct catalog *c, const char *path, struct buf *errors)
{
	if (c->lazy != NULL)
		return EG_ERR_INVAL;	/* its arrays are sized at load */
	return catalog_add_cached(c, path, NULL, errors);
}

struct dent {
	char		*name;
	unsigned char	 type;		/* d_type: DT_UNKNOWN when not told */
};

static int
namecmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name,
	    ((const struct dent *)b)->name);
}

/* Depth-first, names sorted, so the load order is stable. */
static int
catalog_walk(struct catalog *c, const char *dir, int depth,
    struct structure_cache *sc, struct buf *errors)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	struct dent	*names = NULL;
	char		*path;
	size_t		 n = 0, i, len;
	int		 r, ret = 0, isdir;

	if (depth > 8)
		return 0;
	if ((d = opendir(dir)) == NULL) {
		buf_printf(errors, "%s: %s\n", dir, strerror(errno));
		return EG_ERR_IO;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n].name = xstrdup(de->d_name);
		names[n++].type = de->d_type;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", dir, names[i].name);
		len = strlen(names[i].name);
		/*
		 * The folder says what most entries are: stat(2) only a
		 * link (followed, as before) or an entry of unknown type.
		 */
		if (names[i].type == DT_DIR)
			isdir = 1;
		else if (names[i].type != DT_UNKNOWN &&
		    names[i].type != DT_LNK)
			isdir = 0;
		else
			isdir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
		if (isdir) {
			/* Golden cases and fixtures are not maps. */
			if (!(depth == 0 &&
			    strcmp(names[i].name, "tests") == 0) &&
			    (r = catalog_walk(c, path, depth + 1, sc,
			    errors)) != 0)
				ret = r;
		} else if (len > 4 &&
		    strcmp(names[i].name + len - 4, ".map") == 0) {
			if ((r = catalog_add_cached(c, path, sc,
			    errors)) != 0)
				ret = r;
		}
		free(path);
		free(names[i].name);
	}
	free(names);
	return ret;
}

int
catalog_load(const char *root, struct catalog **out, struct buf *errors)
{
	struct catalog	*c;
	struct structure_cache *sc;
	int		 r;

	/*
	 * The maps share structure folders and lookup files: each is read
	 * once for the load, then forgotten (the maps keep what they parsed).
	 */
	c = catalog_new(root);
	sc = structure_cache_new();
	r = catalog_walk(c, root, 0, sc, errors);
	structure_cache_free(sc);
	*out = c;
	return r;
}

int
catalog_load_lazy(const char *root,
    void (*report)(void *arg, const char *text), void *arg,
    struct catalog **out, struct buf *errors)
{
	struct catalog	*c;
	int		 r;

	c = catalog_new(root);
	c->headers = 1;
	r = catalog_walk(c, root, 0, NULL, errors);
	c->lazy = xcalloc(1, sizeof(*c->lazy));
	c->lazy->full = xcalloc(c->nmap ? c->nmap : 1, sizeof(*c->lazy->full));
	c->lazy->state = xcalloc(c->nmap ? c->nmap : 1, 1);
	c->lazy->sc = structure_cache_new();
	c->lazy->report = report;
	c->lazy->arg = arg;
	*out = c;
	return r;
}

unsigned long
catalog_broken(const struct catalog *c)
{
	return c->lazy != NULL ? c->lazy->broken : 0;
}

const char *
catalog_root(const struct catalog *c)
{
	return c->root;
}

size_t
catalog_count(const struct catalog *c)
{
	return c->nmap;
}

/*
 * The compiled map i: an eager catalogue's own; a lazy one compiles it the
 * first time (the same compile catalog_load would have done, reading the
 * structures and lookups through one cache), reporting its errors or
 * warnings once.
 */
static const struct map *
pick(const struct catalog *c, size_t i)
{
	struct catalog_lazy *lz = c->lazy;
	struct buf	 errs;
	int		 r;

	if (lz == NULL)
		return c->map[i];
	switch (lz->state[i]) {
	case LZ_OK:
		return lz->full[i];
	case LZ_BROKEN:
		lz->broken++;
		return NULL;
	}
	buf_init(&errs, 1 << 20);
	r = map_load_cached(map_path(c->map[i]), c->root, lz->sc,
	    &lz->full[i], &errs);
	if (errs.len > 0 && lz->report != NULL)
		lz->report(lz->arg, errs.p);
	buf_free(&errs);
	if (r != 0) {
		lz->full[i] = NULL;
		lz->state[i] = LZ_BROKEN;
		lz->broken++;
		return NULL;
	}
	lz->state[i] = LZ_OK;
	return lz->full[i];
}

const struct map *
catalog_map(const struct catalog *c, size_t i)
{
	return i < c->nmap ? pick(c, i) : NULL;
}

/* The index of the map catalog_select answers with; -1 none. */
static long
select_index(const struct catalog *c, const struct edi_set *set,
    const char *partner)
{
	const struct map *m;
	const char	*mp;
	int		 score, bestscore = -1;
	size_t		 i, best = 0;

	/* On headers when lazy: they answer as the compiled maps would. */
	for (i = 0; i < c->nmap; i++) {
		m = c->map[i];
		if (map_direction(m) == MAP_DIR_OUT)
			continue;
		if (!map_accepts(m, set))
			continue;
		mp = map_partner(m);
		if (mp != NULL && (partner == NULL || strcmp(mp, partner) != 0))
			continue;
		/* A partner map beats any base map; then the longest pattern. */
		score = (mp != NULL ? 1000 : 0) +
		    map_source_specificity(m, set->version);
		if (score > bestscore) {
			best = i;
			bestscore = score;
		}
	}
	return bestscore >= 0 ? (long)best : -1;
}

const struct map *
catalog_select(const struct catalog *c, const struct edi_set *set,
    const char *partner)
{
	long	 i = select_index(c, set, partner);

	return i >= 0 ? pick(c, (size_t)i) : NULL;
}

int
catalog_select_compiles(const struct catalog *c, const struct edi_set *set,
    const char *partner)
{
	long	 i;

	if (c->lazy == NULL || (i = select_index(c, set, partner)) < 0)
		return 0;
	return c->lazy->state[i] == LZ_HEADER;
}

const struct map *
catalog_find(const struct catalog *c, const char *id)
{
	size_t	 i;

	for (i = 0; i < c->nmap; i++)
		if (map_id(c->map[i]) != NULL &&
		    strcmp(map_id(c->map[i]), id) == 0)
			return pick(c, i);
	return NULL;
}
