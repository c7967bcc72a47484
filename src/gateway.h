/*
 * gateway.h: what the daemon's threads share (DESIGN.md §3).  They talk
 * only through the store and these wake-ups: intake commits documents with
 * their translate jobs and wakes the pipeline; the pipeline commits
 * outcomes and wakes the forwarder and the outbox.  Every thread also
 * looks at the store on a timer, so a lost wake-up only delays work, and
 * work queued by another process (`edigate replay`) is found.
 */
#ifndef GATEWAY_H
#define GATEWAY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct as2_keys;
struct catalog;
struct conf;
struct forwarder;
struct store;

struct wake {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 pending;
};
void	 wake_init(struct wake *);
void	 wake_destroy(struct wake *);
void	 wake_signal(struct wake *);
/* Wait until signalled or ms passed; consumes the signal. */
void	 wake_wait(struct wake *, int64_t ms);

struct gateway {
	struct store	*store;
	/* conf and cat are swapped by SIGHUP under the write lock. */
	pthread_rwlock_t lock;
	struct conf	*conf;
	struct catalog	*cat;
	struct as2_keys	*as2;		/* AS2 keys and certificates, or NULL;
					   swapped with conf */
	struct forwarder *fwd;		/* NULL: no [erp] url */
	atomic_int	 stopping;	/* SIGTERM: finish what is in hand */
	struct wake	 pipeline_wake, outbox_wake, intake_wake;
	uint64_t	 generation;	/* bumped by each reload */
};

/* Milliseconds since the epoch (store_now), and a monotonic clock. */
int64_t	 gw_mono_ms(void);

/* intake.c: the dir channel, one thread polling every partner's inbox. */
int	 intake_start(struct gateway *);
void	 intake_stop(void);

/* pipeline.c: translate workers. */
int	 pipeline_start(struct gateway *, unsigned int nworkers);
void	 pipeline_stop(void);

/*
 * outbox.c: delivers STORE_JOB_SEND jobs of target "dir:PARTNER" and hands
 * those of target "sftp:PARTNER" to sftp.c (sftp.h).
 */
int	 outbox_start(struct gateway *);
void	 outbox_stop(void);

#endif /* GATEWAY_H */
