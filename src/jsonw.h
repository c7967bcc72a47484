/*
 * jsonw.h: compact serialization of a jansson value into a capped buffer.
 *
 * jansson builds and parses the event model; this writes it out several
 * times faster than json_dump_callback (which formats through snprintf and
 * escapes through per-chunk callbacks).  Output is byte-for-byte what
 * json_dumps(JSON_COMPACT) gives: insertion order, the same escapes.
 */
#ifndef JSONW_H
#define JSONW_H

#include <jansson.h>

struct buf;

/* Append v to b.  Returns 0, or EG_ERR_LIMIT when b's cap is reached. */
int	jsonw_dump(const json_t *v, struct buf *b);

#endif /* JSONW_H */
