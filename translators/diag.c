/*
 * diag.c: building, counting and formatting diagnostics (see diag.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "diag.h"
#include "slice.h"

/* diag_print's cap on a line (as it was when lines were printf'd). */
#define DIAG_LINE_MAX	(4 * EG_MAX_DIAG_MSG)

void
diag_init(struct diag *d, enum diag_sev sev, const char *code)
{
	size_t	 n = strnlen(code, sizeof(d->code) - 1);

	memset(d, 0, sizeof(*d));
	d->sev = sev;
	/* truncated as snprintf would, without it: once per diagnostic */
	memcpy(d->code, code, n);
}

void
diag_msg(struct diag *d, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

void
diag_emit(struct diag_sink *ds, const struct diag *d)
{
	if (ds == NULL)
		return;
	if (d->sev == DIAG_ERROR)
		ds->nerror++;
	else
		ds->nwarning++;
	if (ds->emit)
		ds->emit(ds->arg, d);
}

/*
 * The line is built from the pieces buf_printf used to append, each one
 * whole or not at all (a piece past b's cap is left out and the result is
 * -2), but without printf: malformed input can bring a diagnostic per
 * segment, and formatting each with a chain of snprintf calls cost more
 * than finding it.
 */

/* v as decimal, at least min digits, ending at end; returns the start. */
static char *
fmt_uint(char *end, unsigned v, int min)
{
	char	*p = end;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
		min--;
	} while (v != 0 || min > 0);
	return p;
}

/* Append the n strings of v as one piece; 0, or -2 when it does not fit. */
static int
piece(struct buf *b, const struct slice *v, int n)
{
	size_t	 len = 0;
	char	*o;
	int	 i;

	for (i = 0; i < n; i++)
		len += v[i].len;
	if ((o = buf_room(b, len)) == NULL)
		return -2;
	for (i = 0; i < n; i++) {
		memcpy(o, v[i].p, v[i].len);
		o += v[i].len;
	}
	buf_end_at(b, o);
	return 0;
}

/* lead and the number: "line 12", ", element 03", "-01" */
static int
piece_num(struct buf *b, const char *lead, unsigned v, int min)
{
	char		 tmp[16];
	char		*p = fmt_uint(tmp + sizeof(tmp), v, min);
	struct slice	 s[2];

	s[0] = slice_cstr(lead);
	s[1] = slice_make(p, (size_t)(tmp + sizeof(tmp) - p));
	return piece(b, s, 2);
}

/* a, s, c: " (N1)", " [x12/850.map:12]", "FILE: ", ": " */
static int
piece3(struct buf *b, const char *a, const char *s, const char *c)
{
	struct slice	 v[3];

	v[0] = slice_cstr(a);
	v[1] = slice_cstr(s);
	v[2] = slice_cstr(c);
	return piece(b, v, 3);
}

static char *
put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

static char *
put_num(char *o, unsigned v, int min)
{
	char	 tmp[16], *p = fmt_uint(tmp + sizeof(tmp), v, min);

	return put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * Beyond the strings, a line has at most this much: "segment ", ten
 * digits, " (", ")", ", element ", ten digits, "-", ten digits, ": ",
 * "warning ", ": ", " [", "]" (or the shorter "line N (...): " form).
 */
#define DIAG_LINE_FIXED	96

/*
 * The line in one go when all of it fits below b's cap however long its
 * parts: then no piece could have been left out.  -1 and nothing written
 * otherwise (diag_format then goes piece by piece).
 */
static int
line_fast(const struct diag *d, const char *file, struct buf *b)
{
	size_t	 fl = file != NULL ? strlen(file) : 0, tl = strlen(d->tag);
	size_t	 el = strlen(d->element), cl = strlen(d->code);
	size_t	 ml = strlen(d->msg), rl = strlen(d->rule);
	char	*o;

	if ((o = buf_room(b, fl + tl + el + cl + ml + rl + 2 +
	    DIAG_LINE_FIXED)) == NULL)
		return -1;
	if (file != NULL) {
		o = put(o, file, fl);
		o = put(o, ": ", 2);
	}
	if (d->line > 0) {
		o = put_num(put(o, "line ", 5), d->line, 1);
		if (el > 0) {
			o = put(put(o, " (", 2), d->element, el);
			*o++ = ')';
		}
		o = put(o, ": ", 2);
	} else if (d->filepos > 0) {
		o = put_num(put(o, "segment ", 8), d->filepos, 1);
		if (tl > 0) {
			o = put(put(o, " (", 2), d->tag, tl);
			*o++ = ')';
		}
		if (d->el > 0) {
			o = put_num(put(o, ", element ", 10), (unsigned)d->el,
			    2);
			if (d->comp > 0)
				o = put_num(put(o, "-", 1), (unsigned)d->comp,
				    2);
		}
		o = put(o, ": ", 2);
	}
	if (d->sev == DIAG_ERROR)
		o = put(o, "error ", 6);
	else
		o = put(o, "warning ", 8);
	o = put(put(put(o, d->code, cl), ": ", 2), d->msg, ml);
	if (rl > 0) {
		o = put(put(o, " [", 2), d->rule, rl);
		*o++ = ']';
	}
	buf_end_at(b, o);
	return 0;
}

int
diag_format(const struct diag *d, const char *file, struct buf *b)
{
	struct slice	 v[4];
	int		 r = 0;

	if (line_fast(d, file, b) == 0)
		return 0;
	if (file != NULL)
		r |= piece3(b, "", file, ": ");
	if (d->line > 0) {
		r |= piece_num(b, "line ", d->line, 1);
		if (d->element[0] != '\0')
			r |= piece3(b, " (", d->element, ")");
		r |= piece3(b, "", "", ": ");
	} else if (d->filepos > 0) {
		r |= piece_num(b, "segment ", d->filepos, 1);
		if (d->tag[0] != '\0')
			r |= piece3(b, " (", d->tag, ")");
		if (d->el > 0) {
			r |= piece_num(b, ", element ", (unsigned)d->el, 2);
			if (d->comp > 0)
				r |= piece_num(b, "-", (unsigned)d->comp, 2);
		}
		r |= piece3(b, "", "", ": ");
	}
	/* "error CODE: message", one piece */
	v[0] = slice_cstr(d->sev == DIAG_ERROR ? "error " : "warning ");
	v[1] = slice_cstr(d->code);
	v[2] = SLICE_LIT(": ");
	v[3] = slice_cstr(d->msg);
	r |= piece(b, v, 4);
	if (d->rule[0] != '\0')
		r |= piece3(b, " [", d->rule, "]");
	return r ? -2 : 0;
}

/*
 * The line is built on the stack: a buf whose allocation is its cap
 * never grows (buf_reserve fails at the cap before it would reallocate),
 * so no diagnostic costs a malloc.  One write with its newline.
 */
void
diag_print(FILE *fp, const struct diag *d, const char *file)
{
	char		 line[DIAG_LINE_MAX + 2];
	struct buf	 b;

	b.p = line;
	b.len = 0;
	b.cap = b.max = DIAG_LINE_MAX;
	line[0] = '\0';
	diag_format(d, file, &b);
	line[b.len] = '\n';
	fwrite(line, 1, b.len + 1, fp);
}
