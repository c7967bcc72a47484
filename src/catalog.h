/*
 * catalog.h: the set of maps a process translates with, and the choice of
 * a map for a document (MAPS.md §1 "Map selection").  Loading reads files;
 * selecting is pure for an eager catalogue.
 *
 * Two ways to load a maps folder, and the difference matters to threads:
 *
 *   catalog_load       compiles every map now (the daemon, `map test`,
 *                      `config check`): the catalogue is then immutable,
 *                      and catalog_select may run on any number of
 *                      threads at once.
 *   catalog_load_lazy  reads only each map's header now (map_load_header:
 *                      what decides selection) and compiles a map the
 *                      first time catalog_select or catalog_find picks it
 *                      (`translate`, `ack`): those calls then write to the
 *                      catalogue, so they must all be made on one thread.
 *                      The maps they return are compiled, immutable and
 *                      valid until catalog_free, on any thread.
 *
 * Both choose the same map for every document.
 */
#ifndef CATALOG_H
#define CATALOG_H

#include <stddef.h>

#include "edi.h"
#include "slice.h"

struct buf;
struct catalog;
struct map;

/*
 * Compile every *.map under root (recursively, tests/ excluded).  Compile
 * errors are appended to errors; returns EG_ERR_SYNTAX when any map failed,
 * with the good ones loaded.
 */
int	catalog_load(const char *root, struct catalog **out, struct buf *errors);
/*
 * Read the header of every *.map under root, as catalog_load finds them.
 * Header errors (and an unreadable folder or file) are appended to
 * errors, returning non-zero as catalog_load does, with the good ones
 * loaded.  A map is compiled when first picked; its compile errors and
 * lint warnings then go to report(arg, text), text being lines as
 * map_load writes them, on the thread that picked it; report may be NULL.
 */
int	catalog_load_lazy(const char *root,
	    void (*report)(void *arg, const char *text), void *arg,
	    struct catalog **out, struct buf *errors);
/*
 * In a lazy catalogue, how many times catalog_select or catalog_find
 * picked a map that failed to compile (and answered NULL for it); 0 for
 * an eager catalogue.  A caller compares it before and after a file: a
 * change means that some of the file's documents needed such a map.  It
 * counts calls, not documents (translate.c reuses an answer for the sets
 * that follow of the same kind).
 */
unsigned long catalog_broken(const struct catalog *);
/* An empty (eager) catalogue whose maps resolve relative paths from root. */
struct catalog *catalog_new(const char *root);
/* Compile one map file and add it (for -m MAP); not to a lazy one. */
int	catalog_add(struct catalog *, const char *path, struct buf *errors);
void	catalog_free(struct catalog *);

/* The maps folder (NULL for a catalog_new(NULL)). */
const char *catalog_root(const struct catalog *);
/* The number of maps, and the i-th in load order (compiled; lazily: NULL
 * when it does not compile). */
size_t	catalog_count(const struct catalog *);
const struct map *catalog_map(const struct catalog *, size_t i);

/*
 * The most specific map for a document (map_accepts: for XML the root,
 * its namespace and the cXML request element count too): partner maps
 * for that partner before base maps, then the longest matching version
 * pattern.  NULL when no map accepts the document, or (lazily) when the
 * map that does fails to compile.
 */
const struct map *catalog_select(const struct catalog *,
	    const struct edi_set *, const char *partner);
/*
 * Whether catalog_select(c, set, partner) would compile a map now (a lazy
 * catalogue's first pick of it), printing its errors through the report
 * callback if it fails: a caller with earlier output still pending puts
 * that out first.  Selects as catalog_select does; 0 for an eager one.
 */
int	catalog_select_compiles(const struct catalog *,
	    const struct edi_set *, const char *partner);
/* By `map` id (the first in load order); NULL as catalog_select. */
const struct map *catalog_find(const struct catalog *, const char *id);

#endif /* CATALOG_H */
