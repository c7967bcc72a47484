/*
 * conf.h: configuration (DESIGN.md §11): edigate.ini plus one file per
 * partner in partners.d/NAME.ini.  Every key is declared once in a table
 * (conf.c) with its type and default; unknown sections and keys are errors
 * naming the file, line, section and key.  Relative paths resolve from the
 * folder of the file that names them.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdio.h>

struct buf;

struct partner {
	char	*id;		/* defaults to the file's name */
	char	*name;
	char	*x12_id;	/* "ZZ:ACMERETAIL": ISA05:ISA06 */
	char	*edifact_id;	/* "5012345678900:14": UNB S002 id:qualifier */
	char	*ack;		/* 997 | 999 | none */
	char	*timezone;
	char	*duplicate;	/* ack | none: answer to a re-sent interchange */
	char	*inbox;		/* [dir] folder polled for documents */
	char	*outbox;	/* [dir] where acknowledgements are written */
	char	*archive;	/* [dir] taken files moved here; NULL: removed */
	char	*pattern;	/* [dir] glob of the files taken */
	/* [sftp]: the partner's SFTP server (sftp.c); none when host is NULL */
	char	*sftp_host, *sftp_user, *sftp_key, *sftp_passphrase_file,
		*sftp_password_file, *sftp_known_hosts, *sftp_fingerprint;
	char	*sftp_inbox;	/* remote folder polled; NULL: no inbound */
	char	*sftp_pattern;	/* glob of the remote names taken */
	char	*sftp_outbox;	/* remote folder acks go to; NULL: none */
	char	*sftp_after;	/* "delete" | "move:/remote/folder" */
	long long sftp_port, sftp_poll, sftp_timeout;	/* poll, timeout: ms */
	char	*sftp_port_s, *sftp_poll_s, *sftp_timeout_s;	/* as written */
	long long ack_functional;	/* [acks] deadlines, ms */
	long long ack_po;
	long long ack_ship;
	char	*ack_functional_s, *ack_po_s, *ack_ship_s;	/* as written */
	char	*as2_name;	/* [as2] id: the partner's AS2 name */
	char	*as2_url;	/* [as2] where we POST messages */
	char	*as2_cert;	/* [as2] partner certificate (PEM) */
	char	*as2_sign;	/* sha1 | sha256 | sha384 | sha512 | none */
	char	*as2_encrypt;	/* aes128-cbc ... aes256-gcm | none */
	char	*as2_compress;	/* yes | no */
	char	*as2_mdn;	/* none | sync | sync-signed | async | async-signed */
	char	*as2_expired;	/* refuse | accept: an expired cert */
	char	*as2_oaep;	/* yes | no: RSA-OAEP key transport */
	char	*as2_transfer;	/* binary | base64: what we send */
	char	*as2_require_signed;	/* yes | no */
	char	*as2_require_encrypted;	/* yes | no */
	char	*file;
};

struct conf {
	char		*path;
	char		*state_dir;
	char		*maps_dir;	/* NULL: the default maps */
	char		*partners_dir;
	char		*map_size_s;	/* [store] map_size as written */
	char		*retention_s;	/* [store] retention as written */
	unsigned long long map_size;	/* bytes */
	long long	 retention;	/* seconds */
	char		*x12_id;	/* our identity */
	char		*edifact_id;
	long long	 poll_ms;	/* [gateway] poll: dir channel interval */
	long long	 batch;		/* [gateway] batch: documents per commit */
	char		*http_listen;	/* [http] listen; NULL: no listener */
	char		*http_max_body_s;	/* [http] max_body as written */
	unsigned long long http_max_body;	/* bytes of one request body */
	char		*http_timeout_s;
	long long	 http_timeout_ms;	/* idle connection */
	char		*http_tls_cert;	/* [http] HTTPS: PEM certificate */
	char		*http_tls_key;	/* [http] HTTPS: PEM key */
	char		*as2_id;	/* [identity] our AS2 name */
	char		*as2_key;	/* [as2] PEM key or PKCS#12 */
	char		*as2_cert;	/* [as2] PEM certificate */
	char		*as2_password_file;	/* [as2] PKCS#12 password */
	char		*as2_mdn_url;	/* [as2] our async MDN URL */
	char		*http_tokens;	/* [http] tokens file; NULL: none */
	char		*erp_url;	/* [erp]; NULL: forwarding off */
	char		*erp_auth;
	char		*erp_token_file;
	char		*erp_user;
	char		*erp_password_file;
	char		*erp_client_cert;
	char		*erp_client_key;
	char		*erp_ca_file;
	char		*erp_reference;
	char		*erp_ack;	/* sync | async */
	long long	 erp_timeout_ms;
	long long	 erp_retry_min_ms;
	long long	 erp_retry_max_ms;
	long long	 erp_max_age_ms;
	long long	 erp_ack_timeout_ms;
	long long	 erp_connections;
	/* numeric keys as written, for config dump */
	char		*poll_s, *batch_s, *erp_timeout_s, *erp_retry_min_s,
			*erp_retry_max_s, *erp_max_age_s, *erp_ack_timeout_s,
			*erp_connections_s;
	struct partner	*partner;
	size_t		 npartner;
};

/*
 * "4G" (K, M, G, T: powers of 1024; no suffix: bytes) and "90d" (s, m, h,
 * d; no suffix: seconds).  0, or -1 when malformed or out of range.
 */
int	conf_parse_size(const char *, unsigned long long *);
int	conf_parse_duration(const char *, long long *);
/* As conf_parse_duration, in milliseconds, also accepting "250ms". */
int	conf_parse_ms(const char *, long long *);

/* Load and validate; errors appended to errs, then EG_ERR_INVAL. */
int	conf_load(const char *path, struct conf **out, struct buf *errs);
/*
 * The same with overrides "section.key=value" of edigate.ini keys (the
 * command line's -o), applied before validation.
 */
int	conf_load_with(const char *path, char *const *ovr, size_t novr,
	    struct conf **out, struct buf *errs);
/* The effective configuration, every key of the table, as ini text. */
void	conf_dump(const struct conf *, FILE *);
void	conf_free(struct conf *);
/* Partner by X12 sender (ISA05, ISA06 trimmed), or NULL. */
const struct partner *conf_partner_x12(const struct conf *,
	    const char *qual, const char *id);
/* Partner by EDIFACT sender (UNB S002 0004 and 0007; qual may be ""). */
const struct partner *conf_partner_edifact(const struct conf *,
	    const char *id, const char *qual);
const struct partner *conf_partner(const struct conf *, const char *id);

#endif /* CONF_H */
