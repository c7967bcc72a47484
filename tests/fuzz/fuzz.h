/*
 * fuzz.h: what the libFuzzer harnesses share: their entry points and
 * loading a shipped structure file from $EDIGATE_MAPS (default ./maps).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "structure.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static inline struct structure *
fuzz_structure(const char *name)
{
	const char	*maps = getenv("EDIGATE_MAPS");
	char		 path[1024], err[512];
	struct structure *s = NULL;

	snprintf(path, sizeof(path), "%s/structures/%s",
	    maps ? maps : "maps", name);
	if (structure_load(path, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return s;
}

#endif /* FUZZ_H */
