/*
 * x12.h: ANSI X12 tokenizer and envelope state machine.  The public entry
 * points are translator_x12 (translator.h); this header exposes the pieces
 * that tests, the acknowledgement generator and benchmarks use directly.
 */
#ifndef X12_H
#define X12_H

#include <stddef.h>

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

#endif /* X12_H */
