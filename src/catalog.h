/*
 * catalog.h: the set of compiled maps a process translates with, and the
 * choice of a map for a document (MAPS.md §1 "Map selection").  Loading
 * reads files; selecting is pure and may run on any thread.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>

#include "edi.h"
#include "slice.h"

struct buf;
struct map;

struct catalog {
	char		*root;		/* maps folder; NULL for a -m catalogue */
	struct map	**map;
	size_t		 nmap;
};

/*
 * Compile every *.map under root (recursively, tests/ excluded).  Compile
 * errors are appended to errors; returns EG_ERR_SYNTAX when any map failed,
 * with the good ones loaded.
 */
int	catalog_load(const char *root, struct catalog **out, struct buf *errors);
/* An empty catalogue whose maps resolve relative paths from root. */
struct catalog *catalog_new(const char *root);
/* Add one map file (for -m MAP). */
int	catalog_add(struct catalog *, const char *path, struct buf *errors);
void	catalog_free(struct catalog *);

/*
 * The most specific map for a document (map_accepts: for XML the root,
 * its namespace and the cXML request element count too): partner maps
 * for that partner before base maps, then the longest matching version
 * pattern.  NULL when no map accepts the document.
 */
const struct map *catalog_select(const struct catalog *,
	    const struct edi_set *, const char *partner);
/* By `map` id. */
const struct map *catalog_find(const struct catalog *, const char *id);

#endif /* CATALOG_H */
