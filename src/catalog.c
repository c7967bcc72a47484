/*
 * catalog.c: loading maps from a folder and choosing one per document.
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
	if ((r = map_load_cached(path, c->root, sc, &m, errors)) != 0)
		return r;
	c->map = xreallocarray(c->map, c->nmap + 1, sizeof(*c->map));
	c->map[c->nmap++] = m;
	return 0;
}

int
catalog_add(struct catalog *c, const char *path, struct buf *errors)
{
	return catalog_add_cached(c, path, NULL, errors);
}

static int
namecmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Depth-first, names sorted, so the load order is stable. */
static int
catalog_walk(struct catalog *c, const char *dir, int depth,
    struct structure_cache *sc, struct buf *errors)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		**names = NULL, *path;
	size_t		 n = 0, i, len;
	int		 r, ret = 0;

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
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), namecmp);
	for (i = 0; i < n; i++) {
		xasprintf(&path, "%s/%s", dir, names[i]);
		len = strlen(names[i]);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			/* Golden cases and fixtures are not maps. */
			if (!(depth == 0 && strcmp(names[i], "tests") == 0) &&
			    (r = catalog_walk(c, path, depth + 1, sc,
			    errors)) != 0)
				ret = r;
		} else if (len > 4 && strcmp(names[i] + len - 4, ".map") == 0) {
			if ((r = catalog_add_cached(c, path, sc,
			    errors)) != 0)
				ret = r;
		}
		free(path);
		free(names[i]);
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

const struct map *
catalog_select(const struct catalog *c, const struct edi_set *set,
    const char *partner)
{
	const struct map *best = NULL, *m;
	const char	*mp;
	int		 score, bestscore = -1;
	size_t		 i;

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
			best = m;
			bestscore = score;
		}
	}
	return best;
}

const struct map *
catalog_find(const struct catalog *c, const char *id)
{
	size_t	 i;

	for (i = 0; i < c->nmap; i++)
		if (strcmp(map_id(c->map[i]), id) == 0)
			return c->map[i];
	return NULL;
}
