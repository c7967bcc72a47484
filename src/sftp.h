/*
 * sftp.h: the SFTP channel (DESIGN.md §8), libssh2.  See sftp.c.
 */
#ifndef SFTP_H
#define SFTP_H

struct gateway;
struct store_job;

/* Start the channel's supervisor: one poller per [sftp] partner. */
int	 sftp_start(struct gateway *);
/* Stop every poller (clean disconnect) and the supervisor. */
void	 sftp_stop(void);
/*
 * Hand an inflight STORE_JOB_SEND job of target "sftp:PARTNER" (as taken
 * by the outbox) to that partner's poller, which uploads and settles it.
 * 0: handed over (the caller does not settle it); EG_ERR_NOTFOUND: no
 * running SFTP channel with an outbox for that partner (the caller
 * retries the job).
 */
int	 sftp_submit(const struct store_job *);

#endif /* SFTP_H */
