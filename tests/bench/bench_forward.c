/*
 * bench_forward.c: forwarding throughput (DESIGN.md §13: at least 10,000
 * events/s to a local receiver).  Commits N events with their forward jobs
 * to a fresh store (group commit, as the pipeline does), then starts the
 * real forwarder against a libmicrohttpd receiver in this process that
 * answers 201 to every POST, and times until every job is delivered and
 * settled.  Prints one JSON line.  Usage: bench_forward [N [CONNECTIONS]]
 */
#include "config.h"

#include <microhttpd.h>

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "forward.h"
#include "store.h"

static atomic_ulong received;

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **state)
{
	static int	 marker;
	struct MHD_Response *r;
	enum MHD_Result	 ret;

	(void)cls; (void)url; (void)method; (void)version; (void)data;
	if (*state == NULL) {
		*state = &marker;
		return MHD_YES;
	}
	if (*size != 0) {
		*size = 0;		/* body consumed */
		return MHD_YES;
	}
	atomic_fetch_add(&received, 1);
	r = MHD_create_response_from_buffer(2, (void *)"{}",
	    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 201, r);
	MHD_destroy_response(r);
	return ret;
}

static double
now_s(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	size_t		 n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	unsigned int	 conns = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 16;
	char		 dir[] = "/tmp/edigate-bench-forward-XXXXXX", path[512];
	char		 url[64], json[512], idem[128], cmd[600];
	struct MHD_Daemon *d;
	struct store	*s;
	struct store_ingest_req *req;
	struct store_outcome *oc;
	struct store_event *ev;
	struct forward_conf fc;
	struct forwarder *f;
	struct forward_stats st;
	size_t		 i, b, batch = 500;
	double		 t0, t1;
	int		 port;

	if (mkdtemp(dir) == NULL)
		return 1;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL, NULL, answer,
	    NULL, MHD_OPTION_CONNECTION_LIMIT, 1000, MHD_OPTION_END);
	if (d == NULL)
		return 1;
	port = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/import", port);
	if (getenv("BENCH_ERP_URL") != NULL)	/* another receiver */
		snprintf(url, sizeof(url), "%s", getenv("BENCH_ERP_URL"));
	snprintf(path, sizeof(path), "%s/store", dir);
	if (store_open(path, 1ULL << 30, 0, &s) != 0) {
		fprintf(stderr, "store: %s\n", store_errmsg());
		return 1;
	}
	req = calloc(batch, sizeof(*req));
	oc = calloc(batch, sizeof(*oc));
	ev = calloc(batch, sizeof(*ev));
	for (b = 0; b < n; b += batch) {
		size_t m = n - b < batch ? n - b : batch;
		static char jsons[500][512], idems[500][128];

		memset(req, 0, batch * sizeof(*req));
		for (i = 0; i < m; i++) {
			snprintf(req[i].doc.partner, sizeof(req[i].doc.partner), "bench");
			snprintf(req[i].doc.channel, sizeof(req[i].doc.channel), "dir:bench");
			snprintf(req[i].doc.name, sizeof(req[i].doc.name),
			    "f%zu", b + i);
			req[i].raw = slice_make("ISA", 3);
		}
		if (store_ingest_batch(s, req, m) != 0)
			return 1;
		memset(oc, 0, batch * sizeof(*oc));
		memset(ev, 0, batch * sizeof(*ev));
		for (i = 0; i < m; i++) {
			snprintf(idems[i], sizeof(idems[i]),
			    "x12:bench:A:B:%zu:1:0001", b + i);
			snprintf(jsons[i], sizeof(jsons[i]), "{\"specversion\":"
			    "\"1.0\",\"type\":\"order.created\",\"partner\":"
			    "\"bench\",\"subject\":\"PO%zu\",\"idempotencykey\":"
			    "\"x12:bench:A:B:%zu:1:0001\",\"businesskey\":"
			    "\"order:bench:PO%zu\",\"data\":{}}", b + i, b + i,
			    b + i);
			ev[i].json = jsons[i];
			ev[i].jsonlen = strlen(jsons[i]);
			ev[i].idem = idems[i];
			ev[i].biz = NULL;
			memcpy(oc[i].id, req[i].res.id, STORE_ID_LEN);
			oc[i].state = STORE_DOC_TRANSLATED;
			oc[i].ev = &ev[i];
			oc[i].nev = 1;
			oc[i].target = "erp";
		}
		if (store_outcome_batch(s, oc, m) != 0) {
			fprintf(stderr, "outcome: %s\n", store_errmsg());
			return 1;
		}
	}
	(void)json; (void)idem;
	memset(&fc, 0, sizeof(fc));
	fc.url = url;
	fc.auth = "none";
	fc.timeout_ms = 10000;
	fc.retry_min_ms = 1000;
	fc.retry_max_ms = 10000;
	fc.max_age_ms = 3600000;
	fc.connections = conns;
	fc.target = "erp";
	t0 = now_s();
	if (forward_start(s, &fc, &f) != 0)
		return 1;
	for (;;) {
		forward_stats(f, &st);
		if (st.delivered >= n || now_s() - t0 > 60)
			break;
		usleep(2000);
	}
	t1 = now_s();
	forward_stop(f, 5000);
	printf("{\"events\":%zu,\"delivered\":%" PRIu64 ",\"received\":%lu,"
	    "\"connections\":%u,\"seconds\":%.3f,\"events_s\":%.0f}\n", n,
	    st.delivered, (unsigned long)atomic_load(&received), conns,
	    t1 - t0, st.delivered / (t1 - t0));
	store_close(s);
	MHD_stop_daemon(d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && st.delivered == n ? 0 : 1;
}
