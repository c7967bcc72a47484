/*
 * x12_ack.h: X12 acknowledgements (TA1, 997, 999) for what was received.
 *
 * A collector observes one input's parse: every diagnostic (parser and
 * loop-tree validation, in the order they are emitted), each transaction
 * set after its tree was built, and each group and interchange end.  It
 * then writes the acknowledgement interchanges: per inbound interchange a
 * TA1 (when ISA14 = 1 or the interchange envelope has errors) and, per
 * functional group, a 997 or 999 with AK1/AK2/AK3/AK4/AK5/AK9 (IK3/IK4/IK5
 * for the 999) carrying the validator's codes, versioned to the inbound
 * GS08, enveloped with sender and receiver swapped.
 *
 * Map diagnostics (MAP-*) never change an acknowledgement: they report
 * syntax only (MAPS.md §3.8).  Pure: no I/O; control numbers are given.
 */
#ifndef X12_ACK_H
#define X12_ACK_H

#include <time.h>

#include "edi.h"

struct buf;
struct diag;
struct x12_ack;

enum x12_ack_kind {
	X12_ACK_997 = 997,
	X12_ACK_999 = 999,	/* only for GS08 >= 005010; else 997 */
	X12_ACK_NONE = 0,	/* TA1 only (when due) */
};

struct x12_ack_opts {
	enum x12_ack_kind kind;
	/* Our identity, "QQ:ID"; NULL: the inbound ISA07:ISA08. */
	const char	*our_x12_id;
	/* First outbound control numbers; incremented per use. */
	unsigned long	 isa_control;	/* ISA13 */
	unsigned long	 gs_control;	/* GS06 */
	unsigned long	 st_control;	/* ST02 */
	struct timespec	 now;		/* ISA09/10, GS04/05 (UTC) */
};

/*
 * Added with the implementation.  Caps on what one acknowledged set
 * reports (X12 allows up to 999999 AK3 loops; nobody reads past the
 * first few): at most X12_ACK_MAX_AK3 AK3/IK3 loops per set, each with
 * at most X12_ACK_MAX_AK4 AK4/IK4 (the 997 AK4 maximum use).  Problems
 * past the caps still make AK5 R (or E); they are just not itemised.
 */
#define X12_ACK_MAX_AK3		999
#define X12_ACK_MAX_AK4		99
#define X12_ACK_MAX_ERRS	2048	/* problems kept per set */

/*
 * diag.ack_seg / ack_el values from X12_ACK_ICODE(n) up are the 005010
 * implementation codes "In" (IK304 I4..I9, IK403 I6..I13, IK502 I5/I6):
 * written as such in a 999, mapped to the nearest standard code in a 997.
 */
#define X12_ACK_ICODE(n)	(100 + (n))

struct x12_ack	*x12_ack_new(const struct x12_ack_opts *);
void		 x12_ack_free(struct x12_ack *);

/* Every diagnostic of the parse and of tree validation, as emitted. */
void	x12_ack_diag(struct x12_ack *, const struct diag *);
/*
 * A set is complete: the diagnostics passed since the previous set (or
 * group/interchange start) belong to it.  Called after edi_tree_build, or
 * without a tree when no structure applies (envelope checks only).
 */
void	x12_ack_set(struct x12_ack *, const struct edi_set *);
void	x12_ack_group_end(struct x12_ack *, const struct edi_env *, int ok);
void	x12_ack_interchange_end(struct x12_ack *, const struct edi_env *,
	    int ok);

/*
 * Append the acknowledgement interchanges (in inbound order) to out, with
 * the inbound delimiters.  Returns the number of interchanges written, or
 * a negative EG_ERR_*.
 */
int	x12_ack_output(struct x12_ack *, struct buf *out);
/* Next control numbers after output (for the persistent counters). */
void	x12_ack_counters(const struct x12_ack *, unsigned long *isa,
	    unsigned long *gs, unsigned long *st);

#endif /* X12_ACK_H */
