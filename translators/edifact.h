/*
 * edifact.h: UN/EDIFACT tokenizer and envelope state machine.  The public
 * entry point is translator_edifact (translator.h); this header exposes
 * what tests, acknowledgements and benchmarks use directly.
 */
#ifndef EDIFACT_H
#define EDIFACT_H

#include "edi.h"
#include "slice.h"

/* Tokenizer only, for benchmarks and fuzzing: count segments. */
long	edifact_count_segments(struct slice input);

#endif /* EDIFACT_H */
