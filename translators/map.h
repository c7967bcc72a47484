/*
 * map.h: the map engine (MAPS.md).  A map file is compiled once into an
 * immutable plan, which is then evaluated against transaction sets to
 * produce the `data.document` of an event.  A plan is never modified after
 * map_load() returns, so it may be shared by threads and swapped atomically
 * on reload.
 *
 * The engine never touches the network, LMDB or (after loading) the
 * filesystem.
 */
#ifndef MAP_H
#define MAP_H

#include <jansson.h>

#include "edi.h"
#include "slice.h"

struct buf;
struct diag_sink;
struct structure;
struct structure_cache;

struct map;

enum map_direction {
	MAP_DIR_IN = 1,
	MAP_DIR_OUT,
	MAP_DIR_BOTH,
};

/* What a map may read besides the document (env.partner.*, timezone). */
struct map_env {
	const char	*partner_id;		/* env.partner.id */
	/* env.partner.NAME for other names; may be NULL. */
	const char	*(*partner_value)(void *arg, const char *name);
	void		*partner_arg;
	const char	*timezone;		/* `timezone partner`; NULL = UTC */
	/*
	 * --trace: called once per rule evaluated, with a line such as
	 * `x12/850-order-created.map:122 lines[0].quantity.unitCode <- PO103
	 * "CA" (seg 20) | lookup uom -> "CS"`.  May be NULL.
	 */
	void		(*trace)(void *arg, const char *line);
	void		*trace_arg;
};

/*
 * Compile the map at path.  Relative paths inside it (structure, lookup
 * files, extends) resolve from the map file's folder, then from maps_root
 * (may be NULL).  Compile errors are appended to errors, one per line, as
 * "file:line:col: message"; the return is then EG_ERR_SYNTAX.  Warnings
 * (lint) are appended as "file:line:col: warning: message" and do not fail.
 */
int	map_load(const char *path, const char *maps_root, struct map **out,
	    struct buf *errors);
/*
 * As map_load, reading structures and lookup files through sc (NULL:
 * none), which maps loaded together share (structure_cache_new).
 */
int	map_load_cached(const char *path, const char *maps_root,
	    struct structure_cache *sc, struct map **out, struct buf *errors);
/*
 * Read only what decides whether the map at path is chosen for a
 * document: its header statements (map, source, namespace, direction,
 * partner, ... MAPS.md §3.2), those of the maps it `extends` merged as a
 * compile would.  Rules, lookups and the structure are neither parsed nor
 * loaded, and the file is not hashed, so this costs a fraction of
 * map_load.  The result answers map_accepts, map_source_specificity,
 * map_direction, map_partner, map_id, map_path and map_name exactly as
 * the compiled map would; it is not a plan (map_eval, map_structure and
 * map_sha256 have nothing).  Errors in the header statements (and in
 * the nesting of blocks, which places them) are reported as map_load
 * reports them, with EG_ERR_SYNTAX; errors elsewhere are not looked for.
 */
int	map_load_header(const char *path, const char *maps_root,
	    struct map **out, struct buf *errors);
/* 1 for the result of map_load_header. */
int	map_is_header(const struct map *);
void	map_free(struct map *);

const char	*map_id(const struct map *);
int		 map_version(const struct map *);
const char	*map_sha256(const struct map *);	/* hex, of the file text */
const char	*map_path(const struct map *);
/* Path relative to maps_root when under it ("x12/850-order-created.map"). */
const char	*map_name(const struct map *);
const char	*map_event_type(const struct map *);
int		 map_event_version(const struct map *);
enum map_direction map_direction(const struct map *);
const char	*map_partner(const struct map *);	/* NULL: any */
const char	*map_timezone(const struct map *);	/* NULL: partner */
/* The `structure` the map names (base; select a variant per document). */
const struct structure *map_structure(const struct map *);

/*
 * 1 when the map's `source` accepts a document: syntax, document type
 * (ST01, UNH 0065) and version (GS08, UNH 0052+0054).
 */
int	map_source_match(const struct map *, enum edi_syntax,
	    struct slice doctype, struct slice version);
/*
 * 1 when the map's `source` accepts the set: for EDI as map_source_match;
 * for XML (MAPS.md §3.2) the root's local name and namespace URI (a map
 * prefix stands for the URI its `namespace` line binds), the cXML request
 * element (`source xml cXML OrderRequest`) and the version (cXML version,
 * UBLVersionID; a document without one matches only maps without
 * version patterns or with `*`).
 */
int	map_accepts(const struct map *, const struct edi_set *);
/* Length of the longest version pattern that matched (for "most specific"). */
int	map_source_specificity(const struct map *, struct slice version);

/*
 * A mapped document (`data.document`): an ordered tree of objects, arrays,
 * strings, decimal strings and integers, allocated in the set's arena.  It
 * is valid until that arena is reset, i.e. during the set callback; what
 * must outlive it is written out as JSON text or converted to jansson.
 */
struct mdoc;

/*
 * Evaluate the map on a set whose tree is built (edi_tree_build with
 * structure_select(map_structure(map), ...)).  On success returns 0 and
 * the document in *doc.  When a rule or check emits an error diagnostic,
 * returns EG_ERR_REJECTED and *doc is NULL.  Every diagnostic goes to ds
 * with rule, field, source, filepos and setpos set.
 */
int	map_eval(const struct map *, const struct edi_set *,
	    const struct map_env *, struct mdoc **doc, struct diag_sink *ds);

/*
 * Append the document as compact JSON: members in insertion order, no
 * whitespace, the escapes of json_dumps(JSON_COMPACT) — byte for byte what
 * jansson would write for mdoc_to_json(doc).  0, or EG_ERR_LIMIT at b's
 * cap.
 */
int	mdoc_write_json(const struct mdoc *, struct buf *b);
/* The same document as a new jansson value (tests, tools). */
json_t	*mdoc_to_json(const struct mdoc *);
/*
 * The string (or decimal string) at a dotted path of object members
 * ("id", "orderReference.id"); NULL when absent or not a string.  *len
 * gets its length (values may hold NUL bytes only if the input did).
 */
const char *mdoc_get(const struct mdoc *, const char *path, size_t *len);
/*
 * mdoc_get for several paths that are looked up in every document (the
 * event's subject, issueDate, ...): the paths are split once
 * (mdoc_paths_init, at most MDOC_GET_N; they must outlive ps), then
 * mdoc_get_paths sets out[i] and lens[i] to what mdoc_get(doc, paths[i],
 * &lens[i]) would return.  mdoc_paths_map, after mdoc_paths_init, ties ps
 * to the documents of map m (and only those): each first step is then
 * found by the map's name, and a name the map does not have is not
 * looked for.
 */
#define MDOC_GET_N	8
struct mdoc_paths {
	int		 n;
	struct {
		const char *path;
		size_t	 first;		/* length of the first step */
		const char *rest;	/* after its '.'; NULL none */
		const char *key;	/* the map's name of the first step */
		int	 absent;	/* the map has no such name */
	}		 p[MDOC_GET_N];
};
void	mdoc_paths_init(struct mdoc_paths *, const char *const *paths, int n);
void	mdoc_paths_map(struct mdoc_paths *, const struct map *m);
void	mdoc_get_paths(const struct mdoc *, const struct mdoc_paths *,
	    const char **out, size_t *lens);
/*
 * Call fn for each string found at path, where "name[]" steps into every
 * element of an array ("lines[].orderReference.id"), in document order.
 */
void	mdoc_each(const struct mdoc *, const char *path,
	    void (*fn)(void *arg, const char *s, size_t len), void *arg);

#endif /* MAP_H */
