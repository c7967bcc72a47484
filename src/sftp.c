/*
 * sftp.c: the SFTP channel (DESIGN.md §8), over libssh2.
 *
 * Shape: one poller thread per partner with an [sftp] host, started and
 * stopped by a small supervisor thread that follows reloads
 * (gw->generation): a partner whose [sftp] changed gets a new poller, a
 * removed one loses its poller.  Why a thread per partner rather than one
 * poll(2) loop over every session: a poll is a chain of dependent round
 * trips (list, open, read, close, commit, remove) whose natural form is
 * straight-line code; driving all of them for every partner from one
 * loop means a state machine per operation, much code for no gain at
 * the tens of partners a gateway has.  Threads give the isolation the
 * channel needs for free: a slow or dead server holds up only its own
 * thread, never another partner's polls.  Each session is nevertheless
 * non-blocking: a libssh2 call that would block returns EAGAIN and the
 * thread waits in poll(2) on the socket, for the directions libssh2 asks
 * for, in slices of at most 100 ms, so that it notices shutdown at once
 * and enforces [sftp] timeout (no progress for that long: the session is
 * dropped) on connect, handshake, authentication and every transfer.
 * Between polls the session is kept (connection reuse) with keepalives;
 * after a failure the poller reconnects with a delay doubling from
 * max(poll, 1 s) up to max(poll, 5 min).
 *
 * Host keys are pinned: the key the server shows must be in known_hosts
 * (libssh2_knownhost_checkp) and/or have the configured SHA256
 * fingerprint (libssh2_hostkey_hash); an unknown or changed key is
 * refused with the fingerprint seen in the message, before any login.
 *
 * Inbound, per poll: list the remote inbox; a file is taken only when it
 * is a regular file matching pattern, not named like one still being
 * written (a leading '.', or .tmp, .part, .filepart) and seen with the
 * same size and mtime on two polls in a row.  Taken files are downloaded
 * whole (a size other than the listed one: not taken this time),
 * committed with their translate jobs in one transaction per batch
 * (store_ingest_batch), and only then removed or renamed into the
 * processed folder as NAME.DOCID.  A transfer failing mid-way discards
 * the batch: nothing is committed, the files stay, the next poll takes
 * them.  A crash after the commit leaves files taken again, recorded as
 * duplicates by the control-number ledger.
 *
 * Remote names are data: they are stored as doc.name and only ever
 * joined to the configured remote folders; a name with '/', a control
 * character, or longer than a document name is skipped.  Nothing is
 * written locally under a remote name.
 *
 * Outbound: outbox.c hands "sftp:PARTNER" send jobs to sftp_submit(); the
 * partner's poller uploads .NAME.tmp, renames it to NAME (SFTP v3 rename
 * does not replace: an older NAME is removed first) and settles the job
 * itself: done, or pending again with a delay doubling from 1 s to 5 min.
 *
 * State: last poll, last error, files and bytes pulled, per partner in
 * the store's meta (store_chan_put), written at most once per poll, for
 * `edigate partners` and `status`.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh2.h>
#include <libssh2_sftp.h>
#include <openssl/evp.h>

#include "conf.h"
#include "eglimits.h"
#include "envelope.h"
#include "err.h"
#include "failpoint.h"
#include "files.h"
#include "gateway.h"
#include "log.h"
#include "nameidx.h"
#include "sftp.h"
#include "store.h"
#include "xmalloc.h"

#define SLICE_MS	100		/* poll(2) slice: stop is noticed */
#define KEEPALIVE_S	15
#define STATE_MS	1000		/* state written at most this often
					   when only the poll counters moved */
#define BACKOFF_MAX_MS	(5 * 60 * 1000)
#define READ_CHUNK	(16U * 1024 * 1024)	/* requested per read: libssh2
					   pipelines the requests */
#define BIG_FILE	(8U * 1024 * 1024)	/* logged before download */
#define LEASE_MS	(60 * 1000)

/* A copy of a partner's [sftp], owned by its poller. */
struct scfg {
	char		*partner, *host, *user, *key, *passphrase_file,
			*password_file, *known_hosts, *fingerprint, *inbox,
			*pattern, *outbox, *after;
	int		 port;
	long long	 poll_ms, timeout_ms;
	size_t		 batch;
	char		*sig;		/* every field: changed or not */
};

struct rseen {
	char		*name;
	uint64_t	 size;
	unsigned long	 mtime;
	int		 touched;
	int		 skip;		/* taken, refused or too big: not again
					   while it stays the same */
	int64_t		 since;		/* monotonic ms: listed with this
					   size and mtime first */
};

struct take {
	char		*name;
	char		*data;
	size_t		 len;
	struct envelope	 env;
	struct store_ctl ctl;
};

struct worker {
	struct scfg	 c;
	pthread_t	 tid;
	atomic_int	 stop;
	struct wake	 wake;
	pthread_mutex_t	 qmu;
	struct store_job *q;		/* send jobs handed over */
	size_t		 nq;
	/* the session */
	int		 fd;
	LIBSSH2_SESSION	*ss;
	LIBSSH2_SFTP	*sftp;
	struct rseen	*seen;
	struct nameidx	 idx;		/* seen by name */
	size_t		 nseen;
	unsigned int	 fails;		/* in a row */
	int64_t		 retry_at;	/* mono: next connect attempt */
	struct store_chan st, written;
	int64_t		 written_at;	/* mono */
	char		 err[EG_MAX_STORE_ERROR + 1];
};

static struct {
	struct gateway	*gw;
	pthread_t	 tid;
	int		 running;
	pthread_mutex_t	 mu;		/* w, nw */
	struct worker	**w;
	size_t		 nw;
	uint64_t	 gen;
	struct wake	 wake;
} sf;

/* --- small helpers --- */

static int
stopping(struct worker *w)
{
	return atomic_load(&w->stop) || atomic_load(&sf.gw->stopping);
}

static void __attribute__((format(printf, 2, 3)))
werr(struct worker *w, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
}

/* libssh2's last error message of the session. */
static const char *
ssherr(struct worker *w)
{
	char	*msg = NULL;
	int	 len = 0;

	if (w->ss == NULL)
		return "no session";
	libssh2_session_last_error(w->ss, &msg, &len, 0);
	return msg != NULL && *msg != '\0' ? msg : "unknown error";
}

static const char *
sftperr(struct worker *w)
{
	static const char *const fx[] = {
		"ok", "end of file", "no such file", "permission denied",
		"failure", "bad message", "no connection", "connection lost",
		"operation unsupported", "invalid handle", "no such path",
		"file already exists", "write protected", "no media",
		"no space on file system", "quota exceeded", "unknown principal",
		"lock conflict", "directory not empty", "not a directory",
		"invalid filename", "link loop",
	};
	unsigned long e;

	if (w->ss != NULL && libssh2_session_last_errno(w->ss) ==
	    LIBSSH2_ERROR_SFTP_PROTOCOL && w->sftp != NULL) {
		e = libssh2_sftp_last_error(w->sftp);
		if (e < sizeof(fx) / sizeof(fx[0]))
			return fx[e];
		return "sftp error";
	}
	return ssherr(w);
}

static int
sftp_status(struct worker *w)
{
	if (w->ss != NULL && w->sftp != NULL &&
	    libssh2_session_last_errno(w->ss) == LIBSSH2_ERROR_SFTP_PROTOCOL)
		return (int)libssh2_sftp_last_error(w->sftp);
	return -1;
}

/* First line of a private secret file; NULL with w->err set. */
static char *
secret(struct worker *w, const char *what, const char *path)
{
	char	 line[4096], err[EG_MAX_PATH + 256], *p;

	if (files_secret(what, path, line, sizeof(line), err,
	    sizeof(err)) != 0) {
		werr(w, "%s", err);
		return NULL;
	}
	p = xstrdup(line);
	explicit_bzero(line, sizeof(line));
	return p;
}

static void
secret_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* A remote name we accept as data: no path, no control characters. */
static int
name_ok(const char *n)
{
	const unsigned char *p;

	if (*n == '\0' || strcmp(n, ".") == 0 || strcmp(n, "..") == 0 ||
	    strlen(n) > EG_MAX_STORE_FIELD)
		return 0;
	for (p = (const unsigned char *)n; *p != '\0'; p++)
		if (*p == '/' || *p == '\\' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/* folder "/" name into out; -1 when too long. */
static int
join(char *out, size_t size, const char *dir, const char *name)
{
	size_t	 dl = strlen(dir);

	if (dl == 0)
		return (size_t)snprintf(out, size, "%s", name) < size ? 0 : -1;
	return (size_t)snprintf(out, size, "%s%s%s", dir,
	    dir[dl - 1] == '/' ? "" : "/", name) < size ? 0 : -1;
}

/* --- waiting on the socket --- */

/*
 * Wait until the socket is ready for what libssh2 (or, before the
 * session, connect) waits for, or the deadline passes.  0, or -1 with
 * w->err set.
 */
static int
io_wait(struct worker *w, int64_t deadline, int events)
{
	struct pollfd	 pfd;
	int64_t		 now, left;
	int		 dir, rc;

	for (;;) {
		if (stopping(w)) {
			werr(w, "stopping");
			return -1;
		}
		now = gw_mono_ms();
		if (now >= deadline) {
			werr(w, "timed out after %lld ms (%s:%d)",
			    w->c.timeout_ms, w->c.host, w->c.port);
			return -1;
		}
		pfd.fd = w->fd;
		pfd.events = (short)events;
		pfd.revents = 0;
		if (events == 0) {
			dir = w->ss ? libssh2_session_block_directions(w->ss) :
			    0;
			if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
				pfd.events |= POLLIN;
			if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
				pfd.events |= POLLOUT;
			if (pfd.events == 0)
				return 0;	/* nothing to wait for: retry */
		}
		left = deadline - now;
		rc = poll(&pfd, 1, (int)(left < SLICE_MS ? left : SLICE_MS));
		if (rc > 0)
			return 0;
		if (rc == -1 && errno != EINTR) {
			werr(w, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static int64_t
deadline(struct worker *w)
{
	return gw_mono_ms() + w->c.timeout_ms;
}

/* Repeat call while libssh2 says EAGAIN; its last result. */
#define AGAIN(w, rcvar, call) do {					\
	int64_t dl_ = deadline(w);					\
	while (((rcvar) = (call)) == LIBSSH2_ERROR_EAGAIN)		\
		if (io_wait((w), dl_, 0) != 0)				\
			break;						\
} while (0)

/* The same for calls returning a pointer: NULL with EAGAIN repeats. */
#define AGAINP(w, pvar, call) do {					\
	int64_t dl_ = deadline(w);					\
	while (((pvar) = (call)) == NULL &&				\
	    libssh2_session_last_errno((w)->ss) ==			\
	    LIBSSH2_ERROR_EAGAIN)					\
		if (io_wait((w), dl_, 0) != 0)				\
			break;						\
} while (0)

/* --- the session --- */

static void
disconnect(struct worker *w, int clean)
{
	int64_t	 dl = gw_mono_ms() + (clean ? 2000 : 0);
	int	 rc;

	if (w->sftp != NULL) {
		while (clean && (rc = libssh2_sftp_shutdown(w->sftp)) ==
		    LIBSSH2_ERROR_EAGAIN && gw_mono_ms() < dl)
			(void)poll(NULL, 0, 10);
		if (!clean)
			(void)libssh2_sftp_shutdown(w->sftp);
		w->sftp = NULL;
	}
	if (w->ss != NULL) {
		while (clean && libssh2_session_disconnect(w->ss,
		    "edigate: bye") == LIBSSH2_ERROR_EAGAIN &&
		    gw_mono_ms() < dl)
			(void)poll(NULL, 0, 10);
		libssh2_session_free(w->ss);
		w->ss = NULL;
	}
	if (w->fd != -1) {
		close(w->fd);
		w->fd = -1;
	}
	w->st.connected = 0;
}

static int
tcp_connect(struct worker *w)
{
	struct addrinfo	 hints, *res, *ai;
	char		 port[16];
	socklen_t	 sl;
	int		 rc, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof(port), "%d", w->c.port);
	if ((rc = getaddrinfo(w->c.host, port, &hints, &res)) != 0) {
		werr(w, "%s: %s", w->c.host, gai_strerror(rc));
		return -1;
	}
	werr(w, "%s:%d: no address", w->c.host, w->c.port);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		w->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (w->fd == -1)
			continue;
		if (connect(w->fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			if (io_wait(w, deadline(w), POLLOUT) == 0) {
				sl = sizeof(soerr);
				if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR,
				    &soerr, &sl) == 0 && soerr == 0)
					break;
				werr(w, "connect %s:%d: %s", w->c.host,
				    w->c.port, strerror(soerr));
			}
		} else
			werr(w, "connect %s:%d: %s", w->c.host, w->c.port,
			    strerror(errno));
		close(w->fd);
		w->fd = -1;
		if (stopping(w))
			break;
	}
	freeaddrinfo(res);
	return w->fd == -1 ? -1 : 0;
}

/* "SHA256:" and the unpadded base64 of the key's SHA-256, as ssh-keygen. */
static void
fingerprint(struct worker *w, char *out, size_t size)
{
	const unsigned char *h;
	unsigned char	 b64[64];
	int		 n;

	h = (const unsigned char *)libssh2_hostkey_hash(w->ss,
	    LIBSSH2_HOSTKEY_HASH_SHA256);
	if (h == NULL) {
		snprintf(out, size, "SHA256:?");
		return;
	}
	n = EVP_EncodeBlock(b64, h, 32);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	snprintf(out, size, "SHA256:%.*s", n, (const char *)b64);
}

static int
knownhost_type(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA:		return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS:		return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:	return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:	return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:	return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519:	return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default:				return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* The server's key against the pins: 0, or -1 with w->err naming it. */
static int
hostkey_check(struct worker *w)
{
	LIBSSH2_KNOWNHOSTS *kh;
	const char	*key;
	char		 fp[80];
	size_t		 klen;
	int		 type, rc;

	if ((key = libssh2_session_hostkey(w->ss, &klen, &type)) == NULL) {
		werr(w, "%s:%d: no host key: %s", w->c.host, w->c.port,
		    ssherr(w));
		return -1;
	}
	fingerprint(w, fp, sizeof(fp));
	if (w->c.fingerprint != NULL && strcmp(fp, w->c.fingerprint) != 0) {
		werr(w, "host key refused: %s:%d shows %s, not the pinned "
		    "fingerprint %s", w->c.host, w->c.port, fp,
		    w->c.fingerprint);
		return -1;
	}
	if (w->c.known_hosts == NULL)
		return 0;
	if ((kh = libssh2_knownhost_init(w->ss)) == NULL) {
		werr(w, "knownhost_init: %s", ssherr(w));
		return -1;
	}
	if (libssh2_knownhost_readfile(kh, w->c.known_hosts,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		werr(w, "host key refused: %s:%d shows %s; known_hosts %s "
		    "cannot be read: %s", w->c.host, w->c.port, fp,
		    w->c.known_hosts, ssherr(w));
		libssh2_knownhost_free(kh);
		return -1;
	}
	rc = libssh2_knownhost_checkp(kh, w->c.host, w->c.port, key, klen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    knownhost_type(type), NULL);
	libssh2_knownhost_free(kh);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		werr(w, "host key refused: %s:%d shows %s, which does not "
		    "match the key pinned in %s (changed host key)",
		    w->c.host, w->c.port, fp, w->c.known_hosts);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		werr(w, "host key refused: %s:%d shows %s, unknown to %s",
		    w->c.host, w->c.port, fp, w->c.known_hosts);
		return -1;
	default:
		werr(w, "host key refused: %s:%d shows %s; checking %s "
		    "failed", w->c.host, w->c.port, fp, w->c.known_hosts);
		return -1;
	}
}

static int
authenticate(struct worker *w)
{
	char	*pass = NULL;
	int	 rc;

	if (w->c.key != NULL) {
		if (w->c.passphrase_file != NULL &&
		    (pass = secret(w, "[sftp] passphrase_file",
		    w->c.passphrase_file)) == NULL)
			return -1;
		AGAIN(w, rc, libssh2_userauth_publickey_fromfile_ex(w->ss,
		    w->c.user, (unsigned int)strlen(w->c.user), NULL,
		    w->c.key, pass));
	} else {
		if ((pass = secret(w, "[sftp] password_file",
		    w->c.password_file)) == NULL)
			return -1;
		AGAIN(w, rc, libssh2_userauth_password_ex(w->ss, w->c.user,
		    (unsigned int)strlen(w->c.user), pass,
		    (unsigned int)strlen(pass), NULL));
	}
	secret_free(pass);
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return -1;		/* w->err: timed out or stopping */
	if (rc != 0) {
		werr(w, "login as %s on %s:%d refused (%s): %s", w->c.user,
		    w->c.host, w->c.port, w->c.key ? "key" : "password",
		    ssherr(w));
		return -1;
	}
	return 0;
}

/* Append src to dst of size n, cut when full. */
static void
pref_append(char *dst, const char *src, size_t n)
{
	size_t	 l = strlen(dst);

	if (l < n)
		snprintf(dst + l, n - l, "%s", src);
}

/*
 * With a known_hosts pin, ask the server for the key types pinned there,
 * so that a server with several host keys (ed25519, ecdsa, rsa) shows one
 * we can check instead of the first libssh2 prefers.  The file is meant
 * to hold this partner's server; every key type in it is asked for.
 */
static void
hostkey_pref(struct worker *w)
{
	static const struct {
		const char	*type;		/* in known_hosts */
		const char	*methods;	/* libssh2 hostkey methods */
	} map[] = {
		{ "ssh-ed25519", "ssh-ed25519" },
		{ "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256" },
		{ "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384" },
		{ "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521" },
		{ "ssh-rsa", "rsa-sha2-512,rsa-sha2-256,ssh-rsa" },
	};
	FILE		*fp;
	char		 line[16384], pref[512], *p, *t;
	size_t		 i;
	int		 seen[sizeof(map) / sizeof(map[0])] = { 0 };

	if (w->c.known_hosts == NULL ||
	    (fp = fopen(w->c.known_hosts, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' || line[0] == '@')
			continue;
		if ((p = strchr(line, ' ')) == NULL)
			continue;
		p += strspn(p, " \t");
		t = p;
		p += strcspn(p, " \t\n");
		*p = '\0';
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(t, map[i].type) == 0)
				seen[i] = 1;
	}
	fclose(fp);
	pref[0] = '\0';
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (seen[i]) {
			if (pref[0] != '\0')
				pref_append(pref, ",", sizeof(pref));
			pref_append(pref, map[i].methods, sizeof(pref));
		}
	if (pref[0] != '\0' && libssh2_session_method_pref(w->ss,
	    LIBSSH2_METHOD_HOSTKEY, pref) != 0)
		log_warnx("sftp: partner=%s host key types %s: %s",
		    w->c.partner, pref, ssherr(w));
}

static int
session(struct worker *w)
{
	int	 rc;

	if (w->sftp != NULL)
		return 0;
	disconnect(w, 0);
	if (tcp_connect(w) != 0)
		return -1;
	if ((w->ss = libssh2_session_init()) == NULL) {
		werr(w, "libssh2_session_init failed");
		goto fail;
	}
	libssh2_session_set_blocking(w->ss, 0);
	hostkey_pref(w);
	AGAIN(w, rc, libssh2_session_handshake(w->ss, w->fd));
	if (rc != 0) {
		if (rc != LIBSSH2_ERROR_EAGAIN)
			werr(w, "%s:%d: SSH handshake: %s", w->c.host,
			    w->c.port, ssherr(w));
		goto fail;
	}
	if (hostkey_check(w) != 0 || authenticate(w) != 0)
		goto fail;
	AGAINP(w, w->sftp, libssh2_sftp_init(w->ss));
	if (w->sftp == NULL) {
		if (libssh2_session_last_errno(w->ss) != LIBSSH2_ERROR_EAGAIN)
			werr(w, "%s:%d: SFTP subsystem: %s", w->c.host,
			    w->c.port, ssherr(w));
		goto fail;
	}
	libssh2_keepalive_config(w->ss, 1, KEEPALIVE_S);
	w->st.connected = 1;
	log_info("sftp: connected partner=%s server=%s:%d user=%s",
	    w->c.partner, w->c.host, w->c.port, w->c.user);
	return 0;
fail:
	disconnect(w, 0);
	return -1;
}

/* --- inbound --- */

struct entry {
	char		*name;
	uint64_t	 size;
	unsigned long	 mtime;
};

static struct rseen *
seen_find(struct worker *w, const char *name)
{
	long	 i = nameidx_find(&w->idx, w->seen, sizeof(*w->seen), name);

	return i < 0 ? NULL : &w->seen[i];
}

static void
seen_sweep(struct worker *w)
{
	size_t	 i = 0, n = w->nseen;

	while (i < w->nseen) {
		if (w->seen[i].touched) {
			w->seen[i++].touched = 0;
			continue;
		}
		free(w->seen[i].name);
		w->seen[i] = w->seen[--w->nseen];
	}
	if (w->nseen != n)
		nameidx_build(&w->idx, w->seen, sizeof(*w->seen), w->nseen);
}

static void
seen_free(struct worker *w)
{
	size_t	 i;

	for (i = 0; i < w->nseen; i++)
		free(w->seen[i].name);
	free(w->seen);
	w->seen = NULL;
	w->nseen = 0;
	nameidx_free(&w->idx);
}

static void
entries_free(struct entry *e, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

/* The regular files of the inbox matching pattern. */
static int
list(struct worker *w, struct entry **out, size_t *nout)
{
	LIBSSH2_SFTP_HANDLE *h;
	LIBSSH2_SFTP_ATTRIBUTES a;
	struct entry	*e = NULL;
	size_t		 n = 0;
	char		 name[1024];
	int		 rc;

	*out = NULL;
	*nout = 0;
	AGAINP(w, h, libssh2_sftp_open_ex(w->sftp, w->c.inbox,
	    (unsigned int)strlen(w->c.inbox), 0, 0, LIBSSH2_SFTP_OPENDIR));
	if (h == NULL) {
		if (libssh2_session_last_errno(w->ss) != LIBSSH2_ERROR_EAGAIN)
			werr(w, "opendir %s: %s", w->c.inbox, sftperr(w));
		return -1;
	}
	for (;;) {
		AGAIN(w, rc, libssh2_sftp_readdir_ex(h, name, sizeof(name),
		    NULL, 0, &a));
		if (rc == 0)
			break;
		if (rc < 0) {
			if (rc != LIBSSH2_ERROR_EAGAIN)
				werr(w, "readdir %s: %s", w->c.inbox,
				    sftperr(w));
			entries_free(e, n);
			(void)libssh2_sftp_close_handle(h);
			return -1;
		}
		if ((size_t)rc >= sizeof(name))
			continue;
		name[rc] = '\0';
		if (!name_ok(name) || files_temp_name(name) ||
		    fnmatch(w->c.pattern, name, FNM_PERIOD) != 0)
			continue;
		if (!(a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) ||
		    !LIBSSH2_SFTP_S_ISREG(a.permissions) ||
		    !(a.flags & LIBSSH2_SFTP_ATTR_SIZE))
			continue;
		if (n == EG_MAX_SFTP_LIST)
			continue;
		e = xreallocarray(e, n + 1, sizeof(*e));
		e[n].name = xstrdup(name);
		e[n].size = a.filesize;
		e[n].mtime = (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ?
		    a.mtime : 0;
		n++;
	}
	AGAIN(w, rc, libssh2_sftp_close_handle(h));
	*out = e;
	*nout = n;
	return 0;
}

/*
 * Download name of the listed size into t.  0; 1 when the file is not as
 * listed (changed, gone: look again next poll); -1 with w->err set when
 * the session failed.
 */
static int
fetch(struct worker *w, const char *name, uint64_t size, struct take *t)
{
	LIBSSH2_SFTP_HANDLE *h;
	char		 path[EG_MAX_PATH];
	char		*p;
	size_t		 got = 0, cap = (size_t)size + 1, want;
	ssize_t		 r;
	int64_t		 dl;
	int		 rc;

	if (join(path, sizeof(path), w->c.inbox, name) != 0)
		return 1;
	if (size >= BIG_FILE)
		log_info("sftp: downloading partner=%s file=%s bytes=%" PRIu64,
		    w->c.partner, name, size);
	AGAINP(w, h, libssh2_sftp_open_ex(w->sftp, path,
	    (unsigned int)strlen(path), LIBSSH2_FXF_READ, 0,
	    LIBSSH2_SFTP_OPENFILE));
	if (h == NULL) {
		if (libssh2_session_last_errno(w->ss) == LIBSSH2_ERROR_EAGAIN)
			return -1;
		rc = sftp_status(w);
		if (rc == LIBSSH2_FX_NO_SUCH_FILE ||
		    rc == LIBSSH2_FX_PERMISSION_DENIED) {
			log_warnx("sftp: %s/%s: %s", w->c.inbox, name,
			    sftperr(w));
			return 1;
		}
		werr(w, "open %s: %s", path, sftperr(w));
		return -1;
	}
	p = xmalloc(cap);
	dl = deadline(w);
	for (;;) {
		want = cap - got;
		if (want > READ_CHUNK)
			want = READ_CHUNK;
		r = libssh2_sftp_read(h, p + got, want);
		if (r == LIBSSH2_ERROR_EAGAIN) {
			if (io_wait(w, dl, 0) != 0)
				goto fail;
			continue;
		}
		if (r < 0) {
			werr(w, "read %s: %s", path, sftperr(w));
			goto fail;
		}
		dl = deadline(w);	/* progress */
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap)
			break;		/* longer than listed */
	}
	AGAIN(w, rc, libssh2_sftp_close_handle(h));
	if (rc == LIBSSH2_ERROR_EAGAIN) {
		free(p);
		return -1;
	}
	if (got != (size_t)size) {
		free(p);
		return 1;		/* changed since listed */
	}
	t->data = p;
	t->len = got;
	t->name = xstrdup(name);
	return 0;
fail:
	free(p);
	(void)libssh2_sftp_close_handle(h);	/* once: the session goes */
	return -1;
}

/* Remove the taken file, or move it into the processed folder. */
static void
dispose(struct worker *w, const char *name, const uint8_t *id)
{
	char	 src[EG_MAX_PATH], dst[EG_MAX_PATH], base[EG_MAX_PATH],
		 idt[STORE_ID_TEXT];
	int	 rc;

	if (join(src, sizeof(src), w->c.inbox, name) != 0)
		return;
	if (strcmp(w->c.after, "delete") == 0) {
		AGAIN(w, rc, libssh2_sftp_unlink_ex(w->sftp, src,
		    (unsigned int)strlen(src)));
		if (rc != 0 && sftp_status(w) != LIBSSH2_FX_NO_SUCH_FILE)
			log_warnx("sftp: partner=%s remove %s: %s",
			    w->c.partner, src, sftperr(w));
		return;
	}
	store_id_format(id, idt);
	/* the document id keeps two files of the same name apart */
	if ((size_t)snprintf(base, sizeof(base), "%s.%s", name, idt) >=
	    sizeof(base) || join(dst, sizeof(dst), w->c.after + 5, base) != 0)
		return;
	AGAIN(w, rc, libssh2_sftp_rename_ex(w->sftp, src,
	    (unsigned int)strlen(src), dst, (unsigned int)strlen(dst),
	    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE));
	if (rc != 0)
		log_warnx("sftp: partner=%s move %s to %s: %s", w->c.partner,
		    src, dst, sftperr(w));
}

/* Commit n downloaded files, then act on the remote ones.  0 or -1. */
static int
commit(struct worker *w, struct take *t, size_t n)
{
	struct store_ingest_req *req;
	struct rseen	*s;
	char		 idt[STORE_ID_TEXT];
	size_t		 i;

	req = xcalloc(n, sizeof(*req));
	for (i = 0; i < n; i++) {
		struct store_doc *d = &req[i].doc;

		snprintf(d->partner, sizeof(d->partner), "%s", w->c.partner);
		snprintf(d->channel, sizeof(d->channel), "sftp:%s",
		    w->c.partner);
		snprintf(d->name, sizeof(d->name), "%s", t[i].name);
		if (t[i].env.syntax != NULL)
			snprintf(d->syntax, sizeof(d->syntax), "%s",
			    t[i].env.syntax);
		snprintf(d->sender, sizeof(d->sender), "%s",
		    t[i].env.sender);
		snprintf(d->receiver, sizeof(d->receiver), "%s",
		    t[i].env.receiver);
		snprintf(d->icn, sizeof(d->icn), "%s", t[i].env.control);
		snprintf(d->doctype, sizeof(d->doctype), "%s",
		    t[i].env.doctype);
		req[i].raw = slice_make(t[i].data, t[i].len);
		req[i].translate = 1;
		if (t[i].env.control[0] != '\0' && t[i].env.syntax != NULL) {
			t[i].ctl.level = strcmp(t[i].env.syntax, "x12") == 0 ?
			    STORE_LVL_ISA : STORE_LVL_UNB;
			t[i].ctl.sender = t[i].env.sender;
			t[i].ctl.number = t[i].env.control;
			req[i].ctl = &t[i].ctl;
			req[i].nctl = 1;
		}
	}
	FAILPOINT("sftp-after-download");
	if (store_ingest_batch(sf.gw->store, req, n) != 0) {
		werr(w, "commit of %zu files failed: %s; they stay on the "
		    "server", n, store_errmsg());
		log_warnx("sftp: partner=%s %s", w->c.partner, w->err);
		free(req);
		return -1;
	}
	FAILPOINT("sftp-after-commit");
	for (i = 0; i < n; i++) {
		if ((s = seen_find(w, t[i].name)) != NULL)
			s->skip = 1;	/* not again while it stays */
		if (req[i].rc != 0) {
			log_warnx("sftp: partner=%s %s/%s refused: %s; left "
			    "on the server", w->c.partner, w->c.inbox,
			    t[i].name, eg_strerror(req[i].rc));
			continue;
		}
		dispose(w, t[i].name, req[i].res.id);
		w->st.files++;
		w->st.bytes += req[i].raw.len;
		store_id_format(req[i].res.id, idt);
		log_info("sftp: received doc=%s partner=%s channel=sftp "
		    "file=%s bytes=%zu%s", idt, w->c.partner, t[i].name,
		    req[i].raw.len, req[i].res.ndup ?
		    " duplicate-envelope=1" : "");
	}
	wake_signal(&sf.gw->pipeline_wake);
	free(req);
	return 0;
}

static void
takes_free(struct take *t, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(t[i].name);
		free(t[i].data);
	}
	memset(t, 0, n * sizeof(*t));
}

/* One poll of the inbox: 0, or -1 with w->err set. */
static int
pull(struct worker *w)
{
	struct entry	*e;
	struct rseen	*s;
	struct take	*t;
	size_t		 n, i, nt = 0;
	int		 rc = 0, r;

	if (list(w, &e, &n) != 0)
		return -1;
	t = xcalloc(w->c.batch, sizeof(*t));
	for (i = 0; i < n && !stopping(w); i++) {
		if ((s = seen_find(w, e[i].name)) == NULL) {
			w->seen = xreallocarray(w->seen, w->nseen + 1,
			    sizeof(*w->seen));
			s = &w->seen[w->nseen++];
			memset(s, 0, sizeof(*s));
			s->name = xstrdup(e[i].name);
			nameidx_add(&w->idx, w->seen, sizeof(*w->seen),
			    w->nseen - 1);
			s->size = e[i].size;
			s->mtime = e[i].mtime;
			s->since = gw_mono_ms();
			s->touched = 1;
			continue;
		}
		s->touched = 1;
		if (s->size != e[i].size || s->mtime != e[i].mtime) {
			s->size = e[i].size;	/* still being written */
			s->mtime = e[i].mtime;
			s->since = gw_mono_ms();
			s->skip = 0;
			continue;
		}
		if (s->skip)
			continue;
		/*
		 * Unchanged on two listings, and for a poll interval: two
		 * listings can come close together (a slow connect delays
		 * the first; the next poll is due from its start).
		 */
		if (gw_mono_ms() - s->since < w->c.poll_ms)
			continue;
		if (e[i].size > EG_MAX_DOC_SIZE) {
			log_warnx("sftp: partner=%s %s/%s: %" PRIu64 " bytes, "
			    "over the limit of %llu: left on the server",
			    w->c.partner, w->c.inbox, e[i].name, e[i].size,
			    (unsigned long long)EG_MAX_DOC_SIZE);
			s->skip = 1;
			continue;
		}
		/* stable across two polls: take it */
		if ((r = fetch(w, e[i].name, e[i].size, &t[nt])) < 0) {
			rc = -1;
			break;
		}
		if (r > 0) {
			s->size = UINT64_MAX;	/* look again next poll */
			continue;
		}
		(void)envelope_peek(slice_make(t[nt].data, t[nt].len),
		    &t[nt].env);
		if (++nt == w->c.batch) {
			rc = commit(w, t, nt);
			takes_free(t, nt);
			nt = 0;
			if (rc != 0)
				break;
		}
	}
	/* a failed transfer discards the batch: nothing half-ingested */
	if (rc == 0 && nt > 0)
		rc = commit(w, t, nt);
	takes_free(t, nt);
	free(t);
	entries_free(e, n);
	if (rc == 0)
		seen_sweep(w);
	return rc;
}

/* --- outbound --- */

static void
settle(struct worker *w, struct store_job *j, int ok, const char *err)
{
	struct store_settle se;
	char		 idt[STORE_ID_TEXT];
	int64_t		 delay;

	memset(&se, 0, sizeof(se));
	se.job = j;
	store_id_format(j->ref, idt);
	if (ok) {
		se.to = STORE_JOB_DONE;
		se.due = STORE_DUE_NEVER;
	} else {
		delay = 1000LL << (j->attempts < 9 ? j->attempts : 9);
		if (delay > 300000)
			delay = 300000;
		se.to = STORE_JOB_PENDING;
		se.due = store_now() + delay;
		se.error = err;
		log_warnx("sftp: retry doc=%s target=%s attempt=%u "
		    "delay=%llds error=\"%s\"", idt, j->target, j->attempts,
		    (long long)delay / 1000, err);
	}
	if (store_jobs_settle(sf.gw->store, &se, 1, store_now()) != 0 ||
	    se.rc != 0)
		log_warnx("sftp: settling the send job of doc=%s: %s "
		    "(taken again meanwhile?)", idt, store_errmsg());
}

/* Upload data as outbox/.NAME.tmp, then rename it to NAME.  0 or -1. */
static int
put(struct worker *w, const char *name, const char *data, size_t len)
{
	LIBSSH2_SFTP_HANDLE *h;
	char		 tmp[EG_MAX_PATH], dst[EG_MAX_PATH], tn[EG_MAX_PATH];
	size_t		 off = 0;
	ssize_t		 r;
	int64_t		 dl;
	int		 rc;

	if ((size_t)snprintf(tn, sizeof(tn), ".%s.tmp", name) >= sizeof(tn) ||
	    join(tmp, sizeof(tmp), w->c.outbox, tn) != 0 ||
	    join(dst, sizeof(dst), w->c.outbox, name) != 0) {
		werr(w, "%s: name too long", name);
		return -1;
	}
	AGAINP(w, h, libssh2_sftp_open_ex(w->sftp, tmp,
	    (unsigned int)strlen(tmp), LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT |
	    LIBSSH2_FXF_TRUNC, 0640, LIBSSH2_SFTP_OPENFILE));
	if (h == NULL) {
		if (libssh2_session_last_errno(w->ss) != LIBSSH2_ERROR_EAGAIN)
			werr(w, "create %s: %s", tmp, sftperr(w));
		return -1;
	}
	dl = deadline(w);
	while (off < len) {
		r = libssh2_sftp_write(h, data + off, len - off);
		if (r == LIBSSH2_ERROR_EAGAIN) {
			if (io_wait(w, dl, 0) != 0)
				return -1;
			continue;
		}
		if (r < 0) {
			werr(w, "write %s: %s", tmp, sftperr(w));
			return -1;	/* the session is dropped */
		}
		off += (size_t)r;
		dl = deadline(w);
	}
	AGAIN(w, rc, libssh2_sftp_fsync(h));	/* not every server has it */
	if (rc == LIBSSH2_ERROR_EAGAIN)
		return -1;
	AGAIN(w, rc, libssh2_sftp_close_handle(h));
	if (rc != 0) {
		if (rc != LIBSSH2_ERROR_EAGAIN)
			werr(w, "close %s: %s", tmp, sftperr(w));
		return -1;
	}
	AGAIN(w, rc, libssh2_sftp_rename_ex(w->sftp, tmp,
	    (unsigned int)strlen(tmp), dst, (unsigned int)strlen(dst),
	    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
	    LIBSSH2_SFTP_RENAME_NATIVE));
	if (rc == LIBSSH2_ERROR_SFTP_PROTOCOL) {
		/* SFTP v3 rename does not replace an existing file */
		AGAIN(w, rc, libssh2_sftp_unlink_ex(w->sftp, dst,
		    (unsigned int)strlen(dst)));
		AGAIN(w, rc, libssh2_sftp_rename_ex(w->sftp, tmp,
		    (unsigned int)strlen(tmp), dst, (unsigned int)strlen(dst),
		    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC |
		    LIBSSH2_SFTP_RENAME_NATIVE));
	}
	if (rc != 0) {
		if (rc != LIBSSH2_ERROR_EAGAIN)
			werr(w, "rename %s to %s: %s", tmp, dst, sftperr(w));
		return -1;
	}
	return 0;
}

/* Deliver one handed-over send job and settle it. */
static void
send_one(struct worker *w, struct store_job *j)
{
	struct store_rtxn *rt;
	struct store_doc doc;
	struct slice	 raw;
	char		*copy = NULL, idt[STORE_ID_TEXT];
	char		 err[EG_MAX_STORE_ERROR + 1];
	int		 rc;

	store_id_format(j->ref, idt);
	if ((rc = store_rtxn_begin(sf.gw->store, &rt)) != 0) {
		snprintf(err, sizeof(err), "store: %s", store_errmsg());
		settle(w, j, 0, err);
		return;
	}
	if ((rc = store_doc_get(rt, j->ref, &doc)) == 0)
		rc = store_blob_get(rt, j->ref, &raw);
	if (rc == 0) {
		copy = xmalloc(raw.len ? raw.len : 1);
		memcpy(copy, raw.p, raw.len);
	}
	store_rtxn_end(rt);
	if (rc != 0 || !name_ok(doc.name) || doc.name[0] == '.') {
		struct store_settle se;

		memset(&se, 0, sizeof(se));
		snprintf(err, sizeof(err), "outbound document %s: %s", idt,
		    rc != 0 ? eg_strerror(rc) : "name not usable remotely");
		se.job = j;
		se.to = STORE_JOB_DEAD;
		se.due = STORE_DUE_NEVER;
		se.error = err;
		(void)store_jobs_settle(sf.gw->store, &se, 1, store_now());
		free(copy);
		return;
	}
	if (session(w) != 0 || put(w, doc.name, copy, raw.len) != 0) {
		snprintf(err, sizeof(err), "%s", w->err);
		if (w->sftp == NULL || libssh2_session_last_errno(w->ss) !=
		    LIBSSH2_ERROR_SFTP_PROTOCOL)
			disconnect(w, 0);
		w->st.errors++;
		snprintf(w->st.error, sizeof(w->st.error), "%s", err);
		w->st.error_at = store_now();
		settle(w, j, 0, err);
		free(copy);
		return;
	}
	FAILPOINT("sftp-after-upload");
	w->st.sent++;
	log_info("sftp: sent doc=%s partner=%s type=%s file=%s/%s "
	    "attempt=%u", idt, doc.partner, doc.doctype, w->c.outbox,
	    doc.name, j->attempts);
	settle(w, j, 1, NULL);
	free(copy);
}

/* Pop one queued job into *j: 1, or 0 when none. */
static int
dequeue(struct worker *w, struct store_job *j)
{
	int	 got = 0;

	pthread_mutex_lock(&w->qmu);
	if (w->nq > 0) {
		*j = w->q[0];
		memmove(w->q, w->q + 1, (w->nq - 1) * sizeof(*w->q));
		w->nq--;
		got = 1;
	}
	pthread_mutex_unlock(&w->qmu);
	return got;
}

/* --- the poller --- */

static void
state_save(struct worker *w, int force)
{
	int64_t	 now = gw_mono_ms();
	int	 changed;

	changed = w->st.files != w->written.files ||
	    w->st.errors != w->written.errors ||
	    w->st.sent != w->written.sent ||
	    w->st.connected != w->written.connected ||
	    strcmp(w->st.error, w->written.error) != 0;
	if (!force && !changed && now - w->written_at < STATE_MS)
		return;
	if (store_chan_put(sf.gw->store, w->c.partner, "sftp", &w->st) != 0) {
		log_warnx("sftp: partner=%s saving the channel state: %s",
		    w->c.partner, store_errmsg());
		return;
	}
	w->written = w->st;
	w->written_at = now;
}

static int64_t
backoff(struct worker *w)
{
	int64_t	 base = w->c.poll_ms > 1000 ? w->c.poll_ms : 1000;
	int64_t	 cap = w->c.poll_ms > BACKOFF_MAX_MS ? w->c.poll_ms :
	    BACKOFF_MAX_MS;
	int64_t	 d = base << (w->fails < 12 ? w->fails - 1 : 11);

	return d < cap ? d : cap;
}

static void
failed(struct worker *w, const char *what)
{
	int	 same = strcmp(w->st.error, w->err) == 0;

	disconnect(w, 0);
	w->fails++;
	w->retry_at = gw_mono_ms() + backoff(w);
	w->st.errors++;
	w->st.error_at = store_now();
	snprintf(w->st.error, sizeof(w->st.error), "%s", w->err);
	if (!same || w->fails == 1)
		log_warnx("sftp: %s failed partner=%s error=\"%s\" retry=%llds",
		    what, w->c.partner, w->err,
		    (long long)(w->retry_at - gw_mono_ms() + 999) / 1000);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct store_job j;
	int64_t		 next_poll = 0, now, t0, wait;
	int		 ka;

	snprintf(w->st.server, sizeof(w->st.server), "%s:%d", w->c.host,
	    w->c.port);
	/* keep the counters of the previous run */
	{
		struct store_rtxn *rt;
		struct store_chan c;

		if (store_rtxn_begin(sf.gw->store, &rt) == 0) {
			if (store_chan_get(rt, w->c.partner, "sftp", &c) == 0) {
				w->st.files = c.files;
				w->st.bytes = c.bytes;
				w->st.errors = c.errors;
				w->st.sent = c.sent;
				w->st.error_at = c.error_at;
			}
			store_rtxn_end(rt);
		}
	}
	w->st.connected = 0;
	w->st.polls = 0;
	w->st.error[0] = '\0';
	state_save(w, 1);
	while (!stopping(w)) {
		now = gw_mono_ms();
		if (w->c.inbox != NULL && now >= next_poll &&
		    now >= w->retry_at) {
			t0 = now;
			if (session(w) != 0) {
				if (!stopping(w))
					failed(w, "connect");
			}
			else if (pull(w) != 0) {
				if (!stopping(w))
					failed(w, "poll");
			} else {
				w->fails = 0;
				w->st.error[0] = '\0';
				w->st.last_ok = store_now();
			}
			now = gw_mono_ms();
			w->st.polls++;
			w->st.cycle_ms = (uint32_t)(now - t0);
			w->st.last_poll = store_now();
			next_poll = t0 + w->c.poll_ms;
			if (!stopping(w))
				state_save(w, 0);
		}
		while (!stopping(w) && dequeue(w, &j)) {
			if (w->fails > 0 && gw_mono_ms() < w->retry_at) {
				settle(w, &j, 0, w->st.error[0] ?
				    w->st.error : "server unreachable");
				continue;
			}
			send_one(w, &j);
			state_save(w, 0);
		}
		if (w->ss != NULL && w->sftp != NULL) {
			ka = 0;
			if (libssh2_keepalive_send(w->ss, &ka) != 0 &&
			    libssh2_session_last_errno(w->ss) !=
			    LIBSSH2_ERROR_EAGAIN) {
				werr(w, "keepalive: %s", ssherr(w));
				failed(w, "keepalive");
			}
		}
		now = gw_mono_ms();
		wait = 1000;
		if (w->c.inbox != NULL) {
			int64_t due = next_poll > w->retry_at ? next_poll :
			    w->retry_at;

			if (due - now < wait)
				wait = due - now;
		}
		if (wait > 0)
			wake_wait(&w->wake, wait);
	}
	disconnect(w, 1);
	w->st.connected = 0;
	state_save(w, 1);
	return NULL;
}

/* --- configuration and the supervisor --- */

static void
scfg_free(struct scfg *c)
{
	free(c->partner);
	free(c->host);
	free(c->user);
	free(c->key);
	free(c->passphrase_file);
	free(c->password_file);
	free(c->known_hosts);
	free(c->fingerprint);
	free(c->inbox);
	free(c->pattern);
	free(c->outbox);
	free(c->after);
	free(c->sig);
	memset(c, 0, sizeof(*c));
}

static char *
dupn(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
scfg_from(struct scfg *c, const struct conf *cf, const struct partner *p)
{
	memset(c, 0, sizeof(*c));
	c->partner = xstrdup(p->id);
	c->host = xstrdup(p->sftp_host);
	c->user = dupn(p->sftp_user);
	c->key = dupn(p->sftp_key);
	c->passphrase_file = dupn(p->sftp_passphrase_file);
	c->password_file = dupn(p->sftp_password_file);
	c->known_hosts = dupn(p->sftp_known_hosts);
	c->fingerprint = dupn(p->sftp_fingerprint);
	c->inbox = dupn(p->sftp_inbox);
	c->pattern = xstrdup(p->sftp_pattern ? p->sftp_pattern : "*");
	c->outbox = dupn(p->sftp_outbox);
	c->after = xstrdup(p->sftp_after ? p->sftp_after : "delete");
	c->port = p->sftp_port > 0 ? (int)p->sftp_port : 22;
	c->poll_ms = p->sftp_poll > 0 ? p->sftp_poll : 60000;
	c->timeout_ms = p->sftp_timeout > 0 ? p->sftp_timeout : 30000;
	c->batch = cf->batch > 0 ? (size_t)cf->batch : 256;
	xasprintf(&c->sig, "%s|%s|%d|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%lld|%lld|"
	    "%zu", c->partner, c->host, c->port, c->user ? c->user : "",
	    c->key ? c->key : "", c->passphrase_file ? c->passphrase_file : "",
	    c->password_file ? c->password_file : "",
	    c->known_hosts ? c->known_hosts : "",
	    c->fingerprint ? c->fingerprint : "", c->inbox ? c->inbox : "",
	    c->pattern, c->outbox ? c->outbox : "", c->after, c->poll_ms,
	    c->timeout_ms, c->batch);
}

/* Hand the jobs still queued back to the queue, due now. */
static void
hand_back(struct worker *w)
{
	struct store_job j;
	struct store_settle se;

	while (dequeue(w, &j)) {
		memset(&se, 0, sizeof(se));
		se.job = &j;
		se.to = STORE_JOB_PENDING;
		se.due = store_now();
		se.error = "the SFTP channel stopped before the upload";
		(void)store_jobs_settle(sf.gw->store, &se, 1, store_now());
	}
}

static void
worker_stop(struct worker *w)
{
	atomic_store(&w->stop, 1);
	wake_signal(&w->wake);
	pthread_join(w->tid, NULL);
	hand_back(w);
	seen_free(w);
	scfg_free(&w->c);
	free(w->q);
	wake_destroy(&w->wake);
	pthread_mutex_destroy(&w->qmu);
	free(w);
}

static struct worker *
worker_start(struct scfg *c)
{
	struct worker	*w = xcalloc(1, sizeof(*w));

	w->c = *c;
	w->fd = -1;
	wake_init(&w->wake);
	pthread_mutex_init(&w->qmu, NULL);
	if (pthread_create(&w->tid, NULL, worker_main, w) != 0) {
		log_warn("sftp: pthread_create");
		wake_destroy(&w->wake);
		pthread_mutex_destroy(&w->qmu);
		scfg_free(&w->c);
		free(w);
		return NULL;
	}
	return w;
}

/* Bring the pollers in line with the configuration. */
static void
reconcile(void)
{
	const struct conf *cf;
	struct scfg	*want = NULL;
	struct worker	**gone = NULL, *w;
	size_t		 nwant = 0, ngone = 0, i, k;

	pthread_rwlock_rdlock(&sf.gw->lock);
	cf = sf.gw->conf;
	for (i = 0; i < cf->npartner; i++) {
		if (cf->partner[i].sftp_host == NULL)
			continue;
		want = xreallocarray(want, nwant + 1, sizeof(*want));
		scfg_from(&want[nwant++], cf, &cf->partner[i]);
	}
	sf.gen = sf.gw->generation;
	pthread_rwlock_unlock(&sf.gw->lock);

	/* pollers whose partner went or changed: out of the list first */
	pthread_mutex_lock(&sf.mu);
	i = 0;
	while (i < sf.nw) {
		for (k = 0; k < nwant; k++)
			if (want[k].sig != NULL &&
			    strcmp(want[k].sig, sf.w[i]->c.sig) == 0)
				break;
		if (k < nwant) {
			scfg_free(&want[k]);	/* unchanged: keep it */
			i++;
			continue;
		}
		gone = xreallocarray(gone, ngone + 1, sizeof(*gone));
		gone[ngone++] = sf.w[i];
		sf.w[i] = sf.w[--sf.nw];
	}
	pthread_mutex_unlock(&sf.mu);
	for (i = 0; i < ngone; i++)
		worker_stop(gone[i]);
	free(gone);
	for (k = 0; k < nwant; k++) {
		if (want[k].sig == NULL)
			continue;
		if ((w = worker_start(&want[k])) == NULL)
			continue;
		pthread_mutex_lock(&sf.mu);
		sf.w = xreallocarray(sf.w, sf.nw + 1, sizeof(*sf.w));
		sf.w[sf.nw++] = w;
		pthread_mutex_unlock(&sf.mu);
	}
	free(want);
}

static void *
sup_main(void *arg)
{
	struct worker	**all;
	size_t		 n, i;
	uint64_t	 gen;

	(void)arg;
	reconcile();
	while (!atomic_load(&sf.gw->stopping)) {
		wake_wait(&sf.wake, 500);
		pthread_rwlock_rdlock(&sf.gw->lock);
		gen = sf.gw->generation;
		pthread_rwlock_unlock(&sf.gw->lock);
		if (gen != sf.gen && !atomic_load(&sf.gw->stopping))
			reconcile();
	}
	pthread_mutex_lock(&sf.mu);
	all = sf.w;
	n = sf.nw;
	sf.w = NULL;
	sf.nw = 0;
	pthread_mutex_unlock(&sf.mu);
	for (i = 0; i < n; i++) {	/* they all see stopping: in parallel */
		atomic_store(&all[i]->stop, 1);
		wake_signal(&all[i]->wake);
	}
	for (i = 0; i < n; i++)
		worker_stop(all[i]);
	free(all);
	return NULL;
}

int
sftp_submit(const struct store_job *j)
{
	struct worker	*w;
	size_t		 i, k;
	int		 rc = EG_ERR_NOTFOUND;

	if (strncmp(j->target, "sftp:", 5) != 0)
		return EG_ERR_NOTFOUND;
	pthread_mutex_lock(&sf.mu);
	for (i = 0; i < sf.nw; i++) {
		w = sf.w[i];
		if (strcmp(w->c.partner, j->target + 5) != 0 ||
		    w->c.outbox == NULL)
			continue;
		pthread_mutex_lock(&w->qmu);
		/* taken again after its lease ran out: the newer copy */
		for (k = 0; k < w->nq; k++)
			if (memcmp(w->q[k].id, j->id, STORE_ID_LEN) == 0)
				break;
		if (k == w->nq) {
			w->q = xreallocarray(w->q, w->nq + 1, sizeof(*w->q));
			w->nq++;
		}
		w->q[k] = *j;
		pthread_mutex_unlock(&w->qmu);
		wake_signal(&w->wake);
		rc = 0;
		break;
	}
	pthread_mutex_unlock(&sf.mu);
	return rc;
}

int
sftp_start(struct gateway *gw)
{
	memset(&sf, 0, sizeof(sf));
	sf.gw = gw;
	pthread_mutex_init(&sf.mu, NULL);
	wake_init(&sf.wake);
	if (libssh2_init(0) != 0) {
		log_warnx("sftp: libssh2_init failed");
		return EG_ERR_IO;
	}
	if (pthread_create(&sf.tid, NULL, sup_main, NULL) != 0) {
		log_warn("sftp: pthread_create");
		return EG_ERR_IO;
	}
	sf.running = 1;
	return 0;
}

void
sftp_stop(void)
{
	if (!sf.running)
		return;
	wake_signal(&sf.wake);
	pthread_join(sf.tid, NULL);
	sf.running = 0;
	wake_destroy(&sf.wake);
	pthread_mutex_destroy(&sf.mu);
	libssh2_exit();
}
