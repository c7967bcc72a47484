/*
 * eglimits.h: every size limit of edigate, in one place.
 *
 * Input from partners is hostile until proven otherwise.  Each parser checks
 * these caps and rejects oversize input with a diagnostic; nothing grows
 * without a bound named here.
 */
#ifndef EGLIMITS_H
#define EGLIMITS_H

#define EG_MAX_DOC_SIZE		(2048ULL * 1024 * 1024)	/* one input file */
#define EG_MAX_SET_SIZE		(64U * 1024 * 1024)	/* one transaction set */
#define EG_MAX_SET_SEGMENTS	1000000U	/* segments in one set */
#define EG_MAX_SEGMENT_LEN	(64U * 1024)	/* bytes in one segment */
#define EG_MAX_SEG_VALUES	1024U		/* non-empty values in one segment */
#define EG_MAX_ELEMENTS		99U		/* element positions per segment */
#define EG_MAX_REPEATS		99U		/* repetitions of one element */
#define EG_MAX_COMPONENTS	99U		/* components of one composite */
#define EG_MAX_TAG_LEN		3U		/* X12 and EDIFACT tags */
#define EG_MAX_LOOP_DEPTH	32U		/* nested loops in a structure */
#define EG_MAX_HL_DEPTH		64U		/* hierarchy (HL/CPS) depth */
#define EG_MAX_DIAGS_PER_SET	1000U		/* then one "too many" diag */
#define EG_MAX_DIAG_MSG		512U		/* bytes of one diagnostic text */
#define EG_MAX_ISA_LEN		512U		/* bytes of an ISA (106 nominal) */
#define EG_MAX_SET_ARENA	(256U * 1024 * 1024)	/* per-set parse memory */
#define EG_MAX_ENV_ARENA	(1U * 1024 * 1024)	/* one ISA or GS copy */
#define EG_MAX_CONTROL_TRACK	100000U	/* control numbers kept for dup checks */
#define EG_MAX_STRUCT_LINES	100000U	/* statements in one .struct */

#define EG_MAX_MAP_SIZE		(4U * 1024 * 1024)	/* one .map or .struct */
#define EG_MAX_MAP_LINE		4096U		/* one logical map line */
#define EG_MAX_MAP_DEPTH	32U		/* nested group/within blocks */
#define EG_MAX_EXPR_DEPTH	64U		/* expression nesting */
#define EG_MAX_LOOKUP_ROWS	100000U		/* rows in one lookup table */
#define EG_MAX_EXTENDS_DEPTH	8U		/* map/structure `extends` chain */
#define EG_MAX_MAPS		4096U		/* maps in one catalogue */
#define EG_MAX_EVENT_SIZE	(32U * 1024 * 1024)	/* one serialized event */
#define EG_MAX_ARRAY_ITEMS	1000000U	/* elements in one event array */
#define EG_MAX_VALUE_LEN	(64U * 1024)	/* one event string value */

#define EG_MAX_XML_SIZE		(64U * 1024 * 1024)	/* one XML document */
#define EG_MAX_XML_DEPTH	256U		/* element nesting */
#define EG_MAX_XML_NODES	2000000U	/* nodes in one document */

#define EG_MAX_PATH		4096U		/* filesystem paths */
#define EG_MAX_SFTP_LIST	100000U	/* remote inbox entries looked at */
#define EG_MAX_OVERRIDES	64U		/* -o section.key=value options */

/* HTTP, both ways (forward.c, http.c). */
#define EG_MAX_ERP_RESPONSE	(64U * 1024)	/* ERP response body kept */
#define EG_MAX_HTTP_BODY	(1U * 1024 * 1024)	/* request body we accept */
#define EG_MAX_HTTP_CONNECTIONS	64U		/* listener connections */

/* The store (store.c): caps on what one record or key may hold. */
#define EG_MAX_STORE_FIELD	255U		/* one text field of a record */
#define EG_MAX_STORE_ERROR	512U		/* a record's error text */
#define EG_MAX_STORE_DIAGS	(16U * 1024 * 1024)	/* diagnostics JSON */
#define EG_MAX_STORE_KEYTEXT	4096U		/* idempotency/business key */
#define EG_MAX_STORE_KEYPART	1024U		/* sender, control number */
#define EG_MAX_STORE_EVENTS	1000000U	/* events of one document */
#define EG_MAX_STORE_PAGE	1000U		/* documents in one list page */
#define EG_MAX_STORE_TARGET	64U		/* a job's target name */

#endif /* EGLIMITS_H */
