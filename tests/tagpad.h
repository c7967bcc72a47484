/*
 * tagpad.h: the parser tests' check that every segment handed over has
 * its tag NUL-padded: the bytes past the tag's end are 0, as
 * edi_seg_tagkey() loads all four.  A test counts every set it parses
 * (tagpad_set), envelope segments included, and asserts on the counters
 * at the end; tagpad_big() makes the overlong segment both read.  Included
 * by unit_x12.c and unit_edifact.c.
 */
#ifndef TAGPAD_H
#define TAGPAD_H

#include <stdio.h>
#include <string.h>

#include "edi.h"
#include "eglimits.h"
#include "xmalloc.h"

static unsigned tagpad_segs, tagpad_bad;

static void
tagpad_seg(const struct edi_seg *seg)
{
	size_t	 i;

	if (seg == NULL)
		return;
	tagpad_segs++;
	for (i = strnlen(seg->tag, sizeof(seg->tag)); i < sizeof(seg->tag); i++)
		if (seg->tag[i] != '\0') {
			tagpad_bad++;
			printf("# tag \"%.4s\" at %u not NUL-padded\n",
			    seg->tag, seg->filepos);
			break;
		}
	if (seg->tag[3] != '\0')
		tagpad_bad++;
}

static void
tagpad_set(const struct edi_set *s)
{
	uint32_t i;

	for (i = 0; i < s->nseg; i++)
		tagpad_seg(&s->seg[i]);
	tagpad_seg(s->env.interchange);
	tagpad_seg(s->env.group);
}

/*
 * A segment past EG_MAX_SEGMENT_LEN, of which a parser reads only the tag:
 * head (three bytes, "N9*") and then letters.  The caller frees it.
 */
static char *
tagpad_big(const char head[3])
{
	char	*big = xmalloc((size_t)EG_MAX_SEGMENT_LEN + 16);

	memset(big, 'A', (size_t)EG_MAX_SEGMENT_LEN + 8);
	memcpy(big, head, 3);
	big[EG_MAX_SEGMENT_LEN + 8] = '\0';
	return big;
}

#endif /* TAGPAD_H */
