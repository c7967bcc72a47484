/*
 * fuzz.h: what the libFuzzer harnesses share: their entry points, loading
 * a shipped structure file from $EDIGATE_MAPS (default ./maps), and the
 * parsers' check of offered sets (fuzz_parse()).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "edi.h"
#include "structure.h"
#include "translator.h"

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

/*
 * One parse of an input: a digest of what the handler saw.  The parser
 * harnesses parse each input twice, the second time taking every set the
 * parser offers (translator.h, struct edi_msg) and parsing it at once
 * with the translator's msg_parse: the digests must be the same.
 */
struct fz {
	uint64_t	 h;
	const struct translator *tr;
	void		*wk;		/* tr's parser of offered sets */
	/* the first parse: every set's tree too */
	void		(*tree)(struct edi_set *, struct diag_sink *);
	struct diag_sink ds, treeds;
	struct edi_handler h2;		/* for offered sets */
};

static inline void
fz_mix(struct fz *f, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n-- > 0)
		f->h = (f->h ^ *b++) * 0x100000001b3ULL;
}

static inline void
fz_slice(struct fz *f, struct slice s)
{
	fz_mix(f, &s.len, sizeof(s.len));
	fz_mix(f, s.p, s.len);
}

static inline void
fz_diag(void *arg, const struct diag *d)
{
	struct fz *f = arg;

	fz_mix(f, d->code, strlen(d->code));
	fz_mix(f, &d->filepos, sizeof(d->filepos));
	fz_mix(f, &d->setpos, sizeof(d->setpos));
	fz_mix(f, &d->scope, sizeof(d->scope));
	fz_mix(f, d->msg, strlen(d->msg));
}

static inline int
fz_set(void *arg, struct edi_set *set)
{
	struct fz	*f = arg;
	uint32_t	 i;
	uint16_t	 k;

	fz_slice(f, set->doctype);
	fz_slice(f, set->version);
	fz_slice(f, set->control);
	fz_slice(f, set->raw);
	fz_mix(f, &set->rejected, sizeof(set->rejected));
	fz_mix(f, &set->env.interchange_index, sizeof(uint32_t));
	fz_mix(f, &set->env.group_index, sizeof(uint32_t));
	for (i = 0; i < set->nseg; i++) {
		fz_mix(f, set->seg[i].tag, sizeof(set->seg[i].tag));
		fz_mix(f, &set->seg[i].filepos, sizeof(uint32_t));
		for (k = 0; k < set->seg[i].nval; k++) {
			fz_mix(f, &set->seg[i].val[k].el, sizeof(uint16_t));
			fz_mix(f, &set->seg[i].val[k].comp, sizeof(uint16_t));
			fz_slice(f, set->seg[i].val[k].s);
		}
	}
	if (f->tree != NULL)
		f->tree(set, &f->treeds);
	return 0;
}

static inline int
fz_env(void *arg, const struct edi_env *env, int ok)
{
	struct fz	*f = arg;

	fz_mix(f, &env->interchange_index, sizeof(uint32_t));
	fz_mix(f, &env->group_index, sizeof(uint32_t));
	fz_mix(f, &ok, sizeof(ok));
	return 0;
}

static inline int
fz_msg(void *arg, const struct edi_set *hdr, const struct edi_msg *m)
{
	struct fz	*f = arg;

	(void)hdr;
	edi_snap_hold(m->snap);
	if (f->tr->msg_parse(&f->wk, m, &f->h2, f) != 0)
		abort();
	edi_snap_drop(m->snap);
	return 1;
}

/* A digest of tr's parse of data; offer: take the sets it offers. */
static inline uint64_t
fuzz_parse(const struct translator *tr, void **wk, const uint8_t *data,
    size_t len, int offer, void (*tree)(struct edi_set *,
    struct diag_sink *))
{
	struct fz		 f;
	struct edi_handler	 h;

	memset(&f, 0, sizeof(f));
	memset(&h, 0, sizeof(h));
	f.h = 0xcbf29ce484222325ULL;
	f.tr = tr;
	f.wk = *wk;
	f.tree = offer ? NULL : tree;
	f.ds.emit = fz_diag;
	f.ds.arg = &f;
	h.set = fz_set;
	h.group_end = fz_env;
	h.interchange_end = fz_env;
	h.diags = &f.ds;
	f.h2 = h;
	h.msg = offer ? fz_msg : NULL;
	tr->parse(slice_make((const char *)data, len), "fuzz", &h, &f);
	*wk = f.wk;
	return f.h;
}

#endif /* FUZZ_H */
