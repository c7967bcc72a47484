/*
 * opevent.c: operational events (EVENTS.md §3.9).  They are rare, so
 * they are built with jansson rather than the streaming writer the
 * business events use.  Their idempotency keys make them once-only:
 * "rejected:{doc id}" and "overdue:{partner}:{kind}:{reference}".
 */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "opevent.h"
#include "xmalloc.h"

void
opevent_free(struct opevent *e)
{
	free(e->json);
	free(e->idem);
	free(e->biz);
	memset(e, 0, sizeof(*e));
}

static void
rfc3339(int64_t ms, char out[32])
{
	time_t		 t = (time_t)(ms / 1000);
	struct tm	 tm;
	size_t		 n;

	gmtime_r(&t, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

/* The envelope every event has; data is stolen. */
static int
finish(const char *type, const char *partner, const char *subject,
    const char *idem, const char *biz, json_t *data, struct opevent *out)
{
	uint8_t		 id[STORE_ID_LEN];
	char		 idt[STORE_ID_TEXT], when[32], src[300];
	json_t		*ev;
	int64_t		 now = store_now();

	memset(out, 0, sizeof(*out));
	store_uuid7(now, id);
	store_id_format(id, idt);
	rfc3339(now, when);
	snprintf(src, sizeof(src), "/edigate/partners/%s", partner);
	ev = json_object();
	json_object_set_new(ev, "specversion", json_string("1.0"));
	json_object_set_new(ev, "id", json_string(idt));
	json_object_set_new(ev, "type", json_string(type));
	json_object_set_new(ev, "source", json_string(src));
	json_object_set_new(ev, "subject", json_string(subject));
	json_object_set_new(ev, "time", json_string(when));
	json_object_set_new(ev, "datacontenttype",
	    json_string("application/json"));
	json_object_set_new(ev, "partner", json_string(partner));
	json_object_set_new(ev, "idempotencykey", json_string(idem));
	if (biz != NULL && *biz != '\0')
		json_object_set_new(ev, "businesskey", json_string(biz));
	json_object_set_new(ev, "eventversion", json_integer(1));
	json_object_set_new(ev, "data", data);
	out->json = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ev);
	if (out->json == NULL)
		return EG_ERR_INTERNAL;
	out->len = strlen(out->json);
	memcpy(out->id, id, STORE_ID_LEN);
	out->idem = xstrdup(idem);
	out->biz = biz && *biz ? xstrdup(biz) : NULL;
	return 0;
}

const char *
opevent_reason(const char *code)
{
	static const char *const env[] = { "ISA", "IEA", "GS-", "GE-", "TA1",
	    "UNB", "UNZ", "UNG", "UNE", "ENV" };
	const char	*p;
	size_t		 i;

	if (code == NULL || *code == '\0')
		return "syntax";
	if (strncmp(code, "MAP-", 4) == 0 || strcmp(code, "NO-MAP") == 0)
		return "map";
	if (strstr(code, "LIMIT") != NULL || strstr(code, "LONG") != NULL)
		return "limit";
	p = strchr(code, '-');
	p = p ? p + 1 : code;
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++)
		if (strncmp(p, env[i], strlen(env[i])) == 0)
			return "envelope";
	return "syntax";
}

int
opevent_rejected(const struct store_doc *doc, const char *reason,
    const char *message, const char *diags, size_t diagslen,
    const char *ack_type, const char *ack_ctl, struct opevent *out)
{
	char		 idt[STORE_ID_TEXT], idem[64];
	json_t		*data, *d = NULL, *ack;
	json_error_t	 jerr;

	store_id_format(doc->id, idt);
	snprintf(idem, sizeof(idem), "rejected:%s", idt);
	data = json_object();
	json_object_set_new(data, "docId", json_string(idt));
	json_object_set_new(data, "reason", json_string(reason));
	if (message != NULL && *message != '\0')
		json_object_set_new(data, "message", json_string(message));
	if (diags != NULL && diagslen > 0)
		d = json_loadb(diags, diagslen, 0, &jerr);
	json_object_set_new(data, "diagnostics", json_is_array(d) ? d :
	    json_array());
	if (d != NULL && !json_is_array(d))
		json_decref(d);
	if (ack_type != NULL) {
		ack = json_object();
		json_object_set_new(ack, "type", json_string(ack_type));
		json_object_set_new(ack, "controlNumber",
		    json_string(ack_ctl ? ack_ctl : ""));
		json_object_set_new(data, "ackSent", ack);
	}
	return finish("document.rejected", doc->partner, doc->name, idem,
	    NULL, data, out);
}

int
opevent_overdue(const struct store_ack *a, struct opevent *out)
{
	static const char *const kind[] = { NULL, "MDN", "997", "855", "856",
	    "ERP" };
	char		 idem[600], c[32], d[32];
	json_t		*data, *e;

	snprintf(idem, sizeof(idem), "overdue:%s:%s:%s", a->partner,
	    store_ack_kind_name(a->kind), a->ref);
	rfc3339(a->created, c);
	rfc3339(a->due, d);
	e = json_object();
	json_object_set_new(e, "kind", json_string(a->kind >= 1 &&
	    a->kind <= 5 ? kind[a->kind] : "unknown"));
	json_object_set_new(e, "reference", json_string(a->ref));
	json_object_set_new(e, "createdAt", json_string(c));
	json_object_set_new(e, "dueAt", json_string(d));
	data = json_object();
	json_object_set_new(data, "expectation", e);
	if (a->bizkey[0] != '\0')
		json_object_set_new(data, "businessKey",
		    json_string(a->bizkey));
	return finish("ack.overdue", a->partner, a->ref, idem,
	    a->bizkey[0] ? a->bizkey : NULL, data, out);
}
