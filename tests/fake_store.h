/*
 * fake_store.h: TEMPORARY in-memory store for tests/unit_forward_thread
 * (see fake_store.c); goes when the store branch lands its job API.
 */
#ifndef FAKE_STORE_H
#define FAKE_STORE_H

#include <stdint.h>

#include "store.h"

struct fake_resolve {
	enum store_ack_state state;
	char		 partner[STORE_FIELD];
	char		 ref[STORE_ID_TEXT];
	char		 reason[EG_MAX_STORE_ERROR + 1];
};

struct store	*fake_store_new(void);
/* An event (json_fmt_id: printf format with one %s, the event id) and
 * its forward job to target in state (pending: due now). */
void	 fake_add(struct store *, const char *json_fmt_id, const char *target,
	    enum store_job_state, uint8_t ev_out[STORE_ID_LEN]);
int	 fake_job(struct store *, const uint8_t ev[STORE_ID_LEN],
	    struct store_job *);
void	 fake_release(struct store *, const uint8_t ev[STORE_ID_LEN]);
size_t	 fake_resolves(struct store *, struct fake_resolve *, size_t max);

#endif /* FAKE_STORE_H */
