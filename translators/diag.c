/*
 * diag.c: building, counting and formatting diagnostics (see diag.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "diag.h"

void
diag_init(struct diag *d, enum diag_sev sev, const char *code)
{
	memset(d, 0, sizeof(*d));
	d->sev = sev;
	snprintf(d->code, sizeof(d->code), "%s", code);
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

int
diag_format(const struct diag *d, const char *file, struct buf *b)
{
	int	 r = 0;

	if (file != NULL)
		r |= buf_printf(b, "%s: ", file);
	if (d->line > 0) {
		r |= buf_printf(b, "line %u", d->line);
		if (d->element[0] != '\0')
			r |= buf_printf(b, " (%s)", d->element);
		r |= buf_adds(b, ": ");
	} else if (d->filepos > 0) {
		r |= buf_printf(b, "segment %u", d->filepos);
		if (d->tag[0] != '\0')
			r |= buf_printf(b, " (%s)", d->tag);
		if (d->el > 0) {
			r |= buf_printf(b, ", element %02d", d->el);
			if (d->comp > 0)
				r |= buf_printf(b, "-%02d", d->comp);
		}
		r |= buf_adds(b, ": ");
	}
	r |= buf_printf(b, "%s %s: %s",
	    d->sev == DIAG_ERROR ? "error" : "warning", d->code, d->msg);
	if (d->rule[0] != '\0')
		r |= buf_printf(b, " [%s]", d->rule);
	return r ? -2 : 0;
}

void
diag_print(FILE *fp, const struct diag *d, const char *file)
{
	struct buf	 b;

	buf_init(&b, 4 * EG_MAX_DIAG_MSG);
	diag_format(d, file, &b);
	fprintf(fp, "%s\n", b.p ? b.p : "");
	buf_free(&b);
}
