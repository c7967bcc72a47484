/*
 * unit_forward_thread.c: the forwarder thread and the HTTP listener
 * against a real HTTP peer (tests/erp_receiver.py on a free port) and the
 * TEMPORARY in-memory store of tests/fake_store.c: headers and auth,
 * keep-alive, ok with the ERP reference, 429 with Retry-After, 4xx dead
 * letters, in-order delivery per business key (behind a failing event and
 * behind a held one), and /healthz, /readyz and the ack callback.  After
 * the store branch lands this runs against a real store.
 */
#include "config.h"

#include <sys/wait.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "buf.h"
#include "fake_store.h"
#include "forward.h"
#include "http.h"
#include "log.h"
#include "store.h"
#include "tap.h"

static char	 dir[256], base_url[128];
static pid_t	 erp_pid;

static void
msleep(int ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static size_t
sink(char *p, size_t size, size_t n, void *arg)
{
	if (arg != NULL)
		(void)buf_add(arg, p, size * n);
	return size * n;
}

/* One request; the status, body into b (may be NULL). */
static long
http(const char *method, const char *url, const char *body, struct buf *b)
{
	CURL	*e = curl_easy_init();
	long	 status = 0;

	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	return status;
}

static void
ctl(const char *json)
{
	char		 url[160];
	struct buf	 b;

	buf_init(&b, 65536);
	snprintf(url, sizeof(url), "%s/_ctl", base_url);
	if (http("POST", url, json, &b) != 200)
		printf("# control %s failed: %s\n", json, b.p ? b.p : "");
	buf_free(&b);
}

/* The receiver's log so far. */
static json_t *
requests(void)
{
	char		 url[160];
	struct buf	 b;
	json_t		*a;

	buf_init(&b, 64 * 1024 * 1024);
	snprintf(url, sizeof(url), "%s/_requests", base_url);
	http("GET", url, NULL, &b);
	a = json_loadb(b.p ? b.p : "", b.len, 0, NULL);
	buf_free(&b);
	return a;
}

static int
start_erp(void)
{
	char	 log[300], pf[300], port[32];
	FILE	*f;
	int	 i;

	snprintf(log, sizeof(log), "%s/erp.jsonl", dir);
	snprintf(pf, sizeof(pf), "%s/erp.port", dir);
	if ((erp_pid = fork()) == 0) {
		char	 script[512];

		snprintf(script, sizeof(script), "%s/tests/erp_receiver.py",
		    getenv("top_srcdir") ? getenv("top_srcdir") : ".");
		if (freopen("/dev/null", "w", stdout) == NULL)
			_exit(127);
		execlp("python3", "python3", script, "--log", log,
		    "--port-file", pf, "--reference", "SO{n}", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if ((f = fopen(pf, "r")) != NULL) {
			if (fgets(port, sizeof(port), f) != NULL) {
				fclose(f);
				port[strcspn(port, "\n")] = '\0';
				snprintf(base_url, sizeof(base_url),
				    "http://127.0.0.1:%s", port);
				return 0;
			}
			fclose(f);
		}
		msleep(100);
	}
	return -1;
}

/* Wait until ev's job is in state (or 10 s). */
static int
wait_state(struct store *s, const uint8_t ev[STORE_ID_LEN],
    enum store_job_state st, struct store_job *j)
{
	int	 i;

	for (i = 0; i < 200; i++) {
		if (fake_job(s, ev, j) == 0 && j->state == st)
			return 1;
		msleep(50);
	}
	return 0;
}

/* An event of business key key (NULL: none) with idempotency key idem. */
static void
add(struct store *s, const char *key, const char *idem,
    enum store_job_state st, uint8_t ev[STORE_ID_LEN])
{
	char	 fmt[512];

	/* The event id goes in at %%s, by fake_add(). */
	snprintf(fmt, sizeof(fmt), "{\"specversion\":\"1.0\",\"id\":\"%%s\","
	    "\"type\":\"order.created\",\"partner\":\"acme\","
	    "\"idempotencykey\":\"%s\"%s%s%s,\"data\":{}}", idem,
	    key ? ",\"businesskey\":\"" : "", key ? key : "", key ? "\"" : "");
	fake_add(s, fmt, "erp", st, ev);
}

/* seq of the first request whose Idempotency-Key is idem and status st. */
static long
seq_of(json_t *reqs, const char *idem, long st)
{
	size_t	 i, k;
	json_t	*r, *h;

	json_array_foreach(reqs, i, r) {
		json_array_foreach(json_object_get(r, "headers"), k, h) {
			if (strcasecmp(json_string_value(json_array_get(h, 0)),
			    "Idempotency-Key") == 0 &&
			    strcmp(json_string_value(json_array_get(h, 1)),
			    idem) == 0 &&
			    (st == 0 || json_integer_value(json_object_get(r,
			    "status")) == st))
				return (long)json_integer_value(
				    json_object_get(r, "seq"));
		}
	}
	return -1;
}

static const char *
header(json_t *r, const char *name)
{
	size_t	 k;
	json_t	*h;

	json_array_foreach(json_object_get(r, "headers"), k, h)
		if (strcasecmp(json_string_value(json_array_get(h, 0)),
		    name) == 0)
			return json_string_value(json_array_get(h, 1));
	return NULL;
}

static void
test_forward(struct store *s)
{
	struct forward_conf	 c;
	struct forwarder	*f;
	struct forward_stats	 fs;
	struct store_job	 j;
	struct fake_resolve	 res[64];
	uint8_t			 a1[16], a2[16], b1[16], c1[16], d1[16];
	uint8_t			 e1[16], e2[16], h1[16], h2[16];
	char			 url[160], idt[STORE_ID_TEXT];
	json_t			*reqs, *r;
	size_t			 n, i;
	int			 found;

	memset(&c, 0, sizeof(c));
	snprintf(url, sizeof(url), "%s/import", base_url);
	c.url = url;
	c.auth = "bearer";
	c.token = "s3cret\n";
	c.reference = "/id";
	c.timeout_ms = 5000;
	c.retry_min_ms = 300;
	c.retry_max_ms = 1500;
	c.max_age_ms = 60000;
	c.connections = 4;
	c.target = "erp";

	add(s, "order:acme:1", "k-a1", STORE_JOB_PENDING, a1);
	add(s, "order:acme:1", "k-a2", STORE_JOB_PENDING, a2);
	add(s, "order:acme:2", "k-b1", STORE_JOB_PENDING, b1);
	is_int(forward_start(s, &c, &f), 0, "forward_start");
	ok(wait_state(s, a1, STORE_JOB_DONE, &j), "A1 delivered");
	ok(wait_state(s, a2, STORE_JOB_DONE, &j), "A2 delivered");
	is_int(j.attempts, 2, "A2: one release (blocked behind A1), one send "
	    "(the release counts an attempt until the store API tweak)");
	ok(wait_state(s, b1, STORE_JOB_DONE, &j), "B1 delivered");
	is_int(j.attempts, 1, "B1 at the first attempt");

	reqs = requests();
	is_int(json_array_size(reqs), 3, "three requests");
	ok(seq_of(reqs, "k-a1", 201) < seq_of(reqs, "k-a2", 201),
	    "A1 reached the ERP before A2");
	r = json_array_get(reqs, 0);
	is_str(header(r, "Content-Type"), "application/cloudevents+json",
	    "Content-Type");
	is_str(header(r, "Authorization"), "Bearer s3cret",
	    "bearer token, its file's newline dropped");
	is_str(json_string_value(json_object_get(r, "path")), "/import",
	    "path");
	is_str(json_string_value(json_object_get(r, "method")), "POST",
	    "method");
	ok(strstr(json_string_value(json_object_get(r, "body")),
	    "\"specversion\":\"1.0\"") != NULL, "the event is the body");
	json_decref(reqs);

	n = fake_resolves(s, res, 64);
	is_int(n, 3, "three ERP acks resolved");
	store_id_format(a1, idt);
	for (found = 0, i = 0; i < n; i++)
		if (strcmp(res[i].ref, idt) == 0) {
			found = 1;
			is_int(res[i].state, STORE_ACK_ACCEPTED, "A1 accepted");
			is_str(res[i].partner, "acme", "A1 ack partner");
			ok(strncmp(res[i].reason, "erp ref SO", 10) == 0,
			    "A1 reason names the ERP reference: %s",
			    res[i].reason);
		}
	ok(found, "A1's ack resolved with its event id");

	/* 429 with Retry-After, then ok. */
	ctl("{\"sequence\":[\"fail429\"],\"retry_after\":1}");
	add(s, NULL, "k-c1", STORE_JOB_PENDING, c1);
	forward_kick(f);
	ok(wait_state(s, c1, STORE_JOB_DONE, &j), "C1 delivered after 429");
	is_int(j.attempts, 2, "C1 in two attempts");
	ok(j.last_try - j.first_try >= 1000,
	    "Retry-After 1 honoured (%lld ms)",
	    (long long)(j.last_try - j.first_try));
	ok(strstr(j.error, "HTTP 429") != NULL, "C1 keeps its last error: %s",
	    j.error);

	/* 400: dead letter, negative ack. */
	ctl("{\"sequence\":[\"fail400\"]}");
	add(s, NULL, "k-d1", STORE_JOB_PENDING, d1);
	forward_kick(f);
	ok(wait_state(s, d1, STORE_JOB_DEAD, &j), "D1 dead after a 400");
	is_str(j.error, "HTTP 400: {\"error\":\"bad request\",\"detail\":"
	    "\"sku unknown\"}", "D1 error names status and body");
	n = fake_resolves(s, res, 64);
	is_int(res[n - 1].state, STORE_ACK_REJECTED, "D1 ack rejected");
	is_str(res[n - 1].reason, j.error, "with the same reason");

	/* Order behind a failing event: E2 waits for E1's retry. */
	ctl("{\"sequence\":[\"fail500\",\"fail500\"]}");
	add(s, "order:acme:3", "k-e1", STORE_JOB_PENDING, e1);
	add(s, "order:acme:3", "k-e2", STORE_JOB_PENDING, e2);
	forward_kick(f);
	ok(wait_state(s, e2, STORE_JOB_DONE, &j), "E2 delivered");
	ok(wait_state(s, e1, STORE_JOB_DONE, &j), "E1 delivered");
	reqs = requests();
	ok(seq_of(reqs, "k-e2", 0) > seq_of(reqs, "k-e1", 201),
	    "E2 first sent after E1 succeeded (%ld > %ld)",
	    seq_of(reqs, "k-e2", 0), seq_of(reqs, "k-e1", 201));
	json_decref(reqs);

	forward_stats(f, &fs);
	is_int(fs.delivered, 6, "stats: delivered");
	is_int(fs.retried, 3, "stats: retried");
	is_int(fs.dead, 1, "stats: dead");
	is_int(fs.inflight, 0, "stats: nothing inflight");

	/* Order behind a held event: H2 waits until H1 is released. */
	add(s, "order:acme:4", "k-h1", STORE_JOB_HELD, h1);
	forward_stop(f, 5000);
	add(s, "order:acme:4", "k-h2", STORE_JOB_PENDING, h2);
	is_int(forward_start(s, &c, &f), 0, "restart: learns the held event");
	msleep(1500);
	reqs = requests();
	is_int(seq_of(reqs, "k-h2", 0), -1, "H2 not sent while H1 is held");
	json_decref(reqs);
	fake_release(s, h1);
	forward_kick(f);
	ok(wait_state(s, h1, STORE_JOB_DONE, &j), "H1 delivered on release");
	/* H2 was put off a minute (an unknown-state blocker): not waited. */


	/* Keep-alive: the requests came over fewer connections. */
	reqs = requests();
	{
		long	 ports[64];
		size_t	 np = 0, k;

		json_array_foreach(reqs, i, r) {
			long p = (long)json_integer_value(
			    json_object_get(r, "peer"));
			for (k = 0; k < np && ports[k] != p; k++)
				;
			if (k == np && np < 64)
				ports[np++] = p;
		}
		ok(np < json_array_size(reqs), "connections reused: %zu "
		    "for %zu requests", np, json_array_size(reqs));
	}
	json_decref(reqs);
	forward_stop(f, 5000);
}

static void
test_http(struct store *s)
{
	struct http		*h;
	struct fake_resolve	 res[64];
	struct buf		 b;
	uint8_t			 ev[16];
	char			 url[256], idt[STORE_ID_TEXT], *big;
	size_t			 n;

	add(s, NULL, "k-http", STORE_JOB_HELD, ev);
	store_id_format(ev, idt);
	is_int(http_start("127.0.0.1:0", s, &h), 0, "http_start");
	ok(http_port(h) > 0, "a free port: %d", http_port(h));
	is_int(http_start("nonsense", s, &h), -6, "bad listen address");

	buf_init(&b, 65536);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", http_port(h));
	is_int(http("GET", url, NULL, &b), 200, "/healthz");
	is_str(b.p, "ok\n", "/healthz says ok");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/readyz", http_port(h));
	is_int(http("GET", url, NULL, NULL), 200, "/readyz");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nope", http_port(h));
	is_int(http("GET", url, NULL, NULL), 404, "unknown path");

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/events/%s/ack",
	    http_port(h), idt);
	buf_reset(&b);
	is_int(http("POST", url, "{\"status\":\"accepted\",\"reference\":"
	    "\"SO77\"}", &b), 200, "ack accepted");
	is_str(b.p, "{\"resolved\":true}", "resolved");
	n = fake_resolves(s, res, 64);
	is_str(res[n - 1].ref, idt, "resolved by event id");
	is_str(res[n - 1].partner, "acme", "the event's partner");
	is_str(res[n - 1].reason, "erp ref SO77", "reason from reference");
	is_int(res[n - 1].state, STORE_ACK_ACCEPTED, "accepted");
	is_int(http("POST", url, "{\"status\":\"rejected\",\"reason\":"
	    "\"no such customer\"}", NULL), 200, "ack rejected");
	n = fake_resolves(s, res, 64);
	is_int(res[n - 1].state, STORE_ACK_REJECTED, "rejected");
	is_str(res[n - 1].reason, "no such customer", "its reason");
	is_int(http("POST", url, "{\"status\":", NULL), 400, "bad JSON: 400");
	is_int(http("POST", url, "{\"status\":\"maybe\"}", NULL), 400,
	    "bad status: 400");
	is_int(http("POST", url, "[]", NULL), 400, "not an object: 400");
	is_int(http("GET", url, NULL, NULL), 405, "GET on ack: 405");
	big = malloc(EG_MAX_HTTP_BODY + 10);
	memset(big, ' ', EG_MAX_HTTP_BODY + 9);
	big[EG_MAX_HTTP_BODY + 9] = '\0';
	is_int(http("POST", url, big, NULL), 413, "body over the cap: 413");
	free(big);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/events/"
	    "0190a3c2-7b1e-7c4a-9f0e-3b5d2a1c8e77/ack", http_port(h));
	is_int(http("POST", url, "{\"status\":\"accepted\"}", NULL), 404,
	    "unknown event: 404");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/events/xyz/ack",
	    http_port(h));
	is_int(http("POST", url, "{\"status\":\"accepted\"}", NULL), 404,
	    "malformed id: 404");
	buf_free(&b);
	http_stop(h);
}

int
main(void)
{
	struct store	*s;
	int		 st;

	log_init("unit_forward_thread", 0);
	snprintf(dir, sizeof(dir), "/tmp/unit_forward_thread.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (start_erp() != 0) {
		printf("Bail out! erp_receiver.py did not start\n");
		return 1;
	}
	s = fake_store_new();
	test_forward(s);
	test_http(s);
	kill(erp_pid, SIGTERM);
	waitpid(erp_pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "erp_receiver.py stops "
	    "cleanly on SIGTERM");
	return done_testing();
}
