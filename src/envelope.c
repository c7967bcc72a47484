/*
 * envelope.c: the first interchange header of an input, read without
 * parsing the rest (X12: the fixed-width ISA; EDIFACT: UNB).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "edifact.h"
#include "eglimits.h"
#include "envelope.h"
#include "err.h"
#include "translator.h"
#include "x12.h"

static void
field(char *out, struct slice s)
{
	s = slice_trim(s);
	snprintf(out, ENVELOPE_FIELD, "%.*s",
	    (int)(s.len < ENVELOPE_FIELD - 1 ? s.len : ENVELOPE_FIELD - 1),
	    s.p ? s.p : "");
}

/*
 * The first transaction set's type: ST01 of the first ST within the
 * first few KiB after the ISA (segments are found by the terminator;
 * whitespace between segments skipped).
 */
static void
x12_doctype(struct slice in, size_t off, const struct edi_delims *d,
    struct envelope *e)
{
	const char	*p = in.p + off, *end, *q;
	size_t		 lim = in.len - off < 8192 ? in.len - off : 8192;

	end = p + lim;
	while (p < end) {
		if ((q = memchr(p, d->segment, (size_t)(end - p))) == NULL)
			return;
		p = q + 1;
		while (p < end && (*p == '\r' || *p == '\n' || *p == ' ' ||
		    *p == '\t'))
			p++;
		if (end - p > 3 && p[0] == 'S' && p[1] == 'T' &&
		    p[2] == d->element) {
			p += 3;
			for (q = p; q < end && *q != d->element &&
			    *q != d->segment; q++)
				;
			field(e->doctype, slice_make(p, (size_t)(q - p)));
			return;
		}
	}
}

static int
peek_x12(struct slice in, struct envelope *e)
{
	struct edi_delims d;
	struct slice	 el[14];
	const char	*p, *end, *q;
	long		 off;
	int		 k;

	if ((off = x12_delims(in, &d)) < 0)
		return EG_ERR_SYNTAX;
	p = in.p + off + 4;	/* after "ISA" and its separator */
	end = in.len - (size_t)off > EG_MAX_ISA_LEN ?
	    in.p + off + EG_MAX_ISA_LEN : in.p + in.len;
	for (k = 1; k <= 13; k++) {
		if (p > end || (q = memchr(p, d.element,
		    (size_t)(end - p))) == NULL)
			return EG_ERR_SYNTAX;
		el[k] = slice_make(p, (size_t)(q - p));
		p = q + 1;
	}
	field(e->sender_qual, el[5]);
	field(e->sender_id, el[6]);
	field(e->receiver_qual, el[7]);
	field(e->receiver_id, el[8]);
	field(e->control, el[13]);
	snprintf(e->sender, sizeof(e->sender), "%s:%s", e->sender_qual,
	    e->sender_id);
	x12_doctype(in, (size_t)off, &d, e);
	snprintf(e->receiver, sizeof(e->receiver), "%s:%s", e->receiver_qual,
	    e->receiver_id);
	return 0;
}

/* UNH 0065 of the first message: "UNH+ref+ORDERS:D:96A:UN'". */
static void
edifact_doctype(struct slice in, struct envelope *e)
{
	size_t		 lim = in.len < 8192 ? in.len : 8192;
	const char	*p = memmem(in.p, lim, "UNH", 3), *end = in.p + lim;
	const char	*q;
	char		 sep;

	if (p == NULL || end - p < 5)
		return;
	sep = p[3];			/* the element separator */
	if ((p = memchr(p + 4, sep, (size_t)(end - p - 4))) == NULL)
		return;
	p++;
	for (q = p; q < end && ((*q >= 'A' && *q <= 'Z') || (*q >= '0' &&
	    *q <= '9')); q++)
		;
	field(e->doctype, slice_make(p, (size_t)(q - p)));
}

static int
peek_edifact(struct slice in, struct envelope *e)
{
	struct edifact_unb u;
	int	 rc;

	if ((rc = edifact_unb_peek(in, &u)) != 0)
		return rc;
	field(e->sender_id, slice_make(u.sender_id, strlen(u.sender_id)));
	field(e->sender_qual, slice_make(u.sender_qual,
	    strlen(u.sender_qual)));
	field(e->receiver_id, slice_make(u.recipient_id,
	    strlen(u.recipient_id)));
	field(e->receiver_qual, slice_make(u.recipient_qual,
	    strlen(u.recipient_qual)));
	field(e->control, slice_make(u.control, strlen(u.control)));
	edifact_doctype(in, e);
	snprintf(e->sender, sizeof(e->sender), "%s%s%s", e->sender_id,
	    *e->sender_qual ? ":" : "", e->sender_qual);
	snprintf(e->receiver, sizeof(e->receiver), "%s%s%s", e->receiver_id,
	    *e->receiver_qual ? ":" : "", e->receiver_qual);
	return 0;
}

int
envelope_peek(struct slice in, struct envelope *e)
{
	const struct translator *t;

	memset(e, 0, sizeof(*e));
	if ((t = translator_sniff(in)) == NULL)
		return EG_ERR_SYNTAX;
	e->syntax = t->name;
	if (strcmp(t->name, "x12") == 0)
		return peek_x12(in, e);
	if (strcmp(t->name, "edifact") == 0)
		return peek_edifact(in, e);
	return 0;
}
