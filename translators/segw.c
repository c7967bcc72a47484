/*
 * segw.c: the segment writer of the acknowledgement generators (segw.h).
 */
#include "config.h"

#include <stdio.h>

#include "buf.h"
#include "segw.h"

static void
note(struct segw *w, int r)
{
	if (r < 0 && *w->rc == 0)
		*w->rc = r;
}

void
segw_start(struct segw *w, struct buf *b, const struct edi_delims *d,
    int *rc, const char *tag)
{
	w->b = b;
	w->d = d;
	w->empty = 0;
	w->rc = rc;
	note(w, buf_adds(b, tag));
}

void
segw_raw(struct segw *w, const char *s)
{
	int	 i;

	if (s == NULL || *s == '\0') {
		w->empty++;
		return;
	}
	for (i = 0; i <= w->empty; i++)
		note(w, buf_addc(w->b, w->d->element));
	w->empty = 0;
	note(w, buf_adds(w->b, s));
}

void
segw_num(struct segw *w, unsigned long v)
{
	char	 t[24];

	snprintf(t, sizeof(t), "%lu", v);
	segw_raw(w, t);
}

void
segw_end(struct segw *w)
{
	note(w, buf_addc(w->b, w->d->segment));
}

int
segw_is_delim(const struct edi_delims *d, int c)
{
	return c == (unsigned char)d->element ||
	    c == (unsigned char)d->segment ||
	    c == (unsigned char)d->component ||
	    (d->release && c == (unsigned char)d->release) ||
	    (d->repetition && c == (unsigned char)d->repetition);
}
