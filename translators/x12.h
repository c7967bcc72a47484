/*
 * x12.h: ANSI X12 tokenizer and envelope state machine.  The public entry
 * points are translator_x12 (translator.h); this header exposes the pieces
 * that tests, the acknowledgement generator and benchmarks use directly.
 */
#ifndef X12_H
#define X12_H

#include <stddef.h>
#include <stdint.h>

#include "edi.h"
#include "slice.h"

/*
 * Find the ISA at the start of input (after an optional UTF-8 BOM and
 * whitespace) and read its delimiters.  Returns the offset of "ISA" or a
 * negative EG_ERR_SYNTAX when there is no usable ISA.
 */
long	x12_delims(struct slice input, struct edi_delims *out);

/*
 * Tokenizer only, for benchmarks and fuzzing: count segments of input
 * without building sets.  Returns the count or a negative EG_ERR_*.
 */
long	x12_count_segments(struct slice input);

/*
 * Added for the loop-tree builder: split one segment's text (tag first, no
 * terminator) into values.  Elements at the element separator, components
 * at the component separator (unless X12_SPLIT_NOCOMP, used for the ISA),
 * repetitions only for the elements whose bit is set in repel (bit el of
 * repel[el / 8]; NULL: no element is split, see edi.h).  Only non-empty
 * values are written to out (at most maxval).  tag receives the tag (NUL
 * terminated, at most 3 bytes).  Returns 0, EG_ERR_SYNTAX when the tag is
 * not 2-3 uppercase letters or digits (values are still split), or
 * EG_ERR_LIMIT when maxval values or EG_MAX_ELEMENTS / EG_MAX_COMPONENTS /
 * EG_MAX_REPEATS positions were exceeded (what fitted is kept).
 */
#define X12_SPLIT_NOCOMP	0x1
int	x12_split(struct slice raw, const struct edi_delims *,
	    const unsigned char *repel, int flags, struct edi_val *out,
	    size_t maxval, char tag[4], uint16_t *nel, uint16_t *nval);

#endif /* X12_H */
