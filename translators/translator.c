/*
 * translator.c: the const table of syntax modules (STYLE.md §10) and the
 * lookups over it.  Adding a syntax means one line here.
 */
#include "config.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "translator.h"

static const struct translator *const translators[] = {
	&translator_x12,
	&translator_edifact,
	&translator_xml,
};

#define NTRANSLATORS	(sizeof(translators) / sizeof(translators[0]))

const struct translator *
translator_sniff(struct slice input)
{
	size_t	 i;

	for (i = 0; i < NTRANSLATORS; i++)
		if (translators[i]->sniff != NULL &&
		    translators[i]->sniff(input))
			return translators[i];
	return NULL;
}

const struct translator *
translator_find(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < NTRANSLATORS; i++)
		if (strcmp(translators[i]->name, name) == 0)
			return translators[i];
	return NULL;
}

void
edi_snap_hold(struct edi_snap *sn)
{
	atomic_fetch_add_explicit(&sn->refs, 1, memory_order_relaxed);
}

/* The last one out frees: what the others did with it happened before. */
void
edi_snap_drop(struct edi_snap *sn)
{
	if (sn != NULL && atomic_fetch_sub_explicit(&sn->refs, 1,
	    memory_order_acq_rel) == 1)
		sn->free(sn);
}

int
edi_snap_switch(struct edi_snap **held, struct edi_snap *sn)
{
	if (*held == sn)
		return 0;
	/* held, so that no other snapshot is made at its address */
	edi_snap_hold(sn);
	edi_snap_drop(*held);
	*held = sn;
	return 1;
}
