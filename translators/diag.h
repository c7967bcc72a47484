/*
 * diag.h: diagnostics.  Every problem found in partner input or a map is one
 * struct diag with machine fields (stable code, positions, acknowledgement
 * codes) from which the human line is built.  Translators never print: they
 * hand diagnostics to a sink owned by the caller.
 *
 * Human form (stderr, one per line; parts that do not apply are left out):
 *   FILE: segment N (TAG), element NN: error|warning CODE: message [map:line]
 *   FILE: line N (element): error|warning CODE: message [map:line]   (XML)
 */
#ifndef DIAG_H
#define DIAG_H

#include <stdint.h>
#include <stdio.h>

#include "eglimits.h"

struct buf;

enum diag_sev {
	DIAG_WARNING = 0,
	DIAG_ERROR = 1,
};

/*
 * What an error rejects (DESIGN.md §5): an envelope error rejects its
 * interchange or group, an error inside a set only that set.
 */
enum diag_scope {
	DIAG_SCOPE_SET = 0,
	DIAG_SCOPE_GROUP,
	DIAG_SCOPE_INTERCHANGE,
	DIAG_SCOPE_FILE,		/* unreadable, not EDI, limit */
};

struct diag {
	enum diag_sev	 sev;
	enum diag_scope	 scope;
	char		 code[24];	/* stable: X12-SE-COUNT, MAP-REQ, ... */
	uint32_t	 filepos;	/* segment position in file, from 1; 0 none */
	uint32_t	 setpos;	/* from ST/UNH = 1 (AK302); 0 none */
	char		 tag[8];	/* segment tag; "" none */
	uint32_t	 line;		/* XML: line of the element; 0 none */
	char		 element[64];	/* XML: element name */
	int		 el;		/* element position (AK401); 0 none */
	int		 comp;		/* component position; 0 none */
	int		 rep;		/* repetition; 0 none */
	char		 loop[8];	/* loop id (AK303) when known */
	/* Acknowledgement codes: what 997/999/TA1/CONTRL report. */
	int		 ack_seg;	/* AK304/IK304 segment syntax error code */
	int		 ack_el;	/* AK403/IK403 element syntax error code */
	char		 ack_ta1[4];	/* TA105 interchange note code, "" none */
	char		 badvalue[100];	/* AK404 copy of the bad data element */
	/* Map diagnostics. */
	char		 rule[160];	/* "x12/850-order-created.map:65" */
	char		 field[160];	/* "document.lines[0].id" */
	char		 source[64];	/* "BEG03" */
	char		 msg[EG_MAX_DIAG_MSG];
};

struct diag_sink {
	void		(*emit)(void *arg, const struct diag *);
	void		 *arg;
	unsigned	  nerror;	/* counted by diag_emit */
	unsigned	  nwarning;
};

/* Zero a diag and set its severity and code. */
void	diag_init(struct diag *, enum diag_sev, const char *code);
/* printf into d->msg (truncated to fit). */
void	diag_msg(struct diag *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Count and pass to the sink (a NULL sink only counts). */
void	diag_emit(struct diag_sink *, const struct diag *);
/* The stderr line, without newline, into b. file may be NULL. */
int	diag_format(const struct diag *, const char *file, struct buf *b);
/* Convenience: diag_format + fputs + newline. */
void	diag_print(FILE *, const struct diag *, const char *file);

#endif /* DIAG_H */
