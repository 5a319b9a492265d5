/* bench_forward: the broker's forwarding rate on small messages, against libzmq's own
 * zmq_proxy(ROUTER, DEALER) doing the same job, in one run (rounds interleaved).
 *
 * Both sides: 4 client threads, each a bare libzmq DEALER on tcp loopback keeping 32 v2 requests
 * in flight ([OTv2, REQ, id, 64-byte body]); one echo worker thread on an ipc:// backend that
 * answers each request with [OTv2, REP, id, body] (moving the frames, no copy). The only
 * difference is the middle:
 *   zmq_proxy  a thread running zmq_proxy(ROUTER frontend, DEALER backend) in a libzmq context
 *              of its own (as the broker runs in the library's): forwards blindly
 *   broker     ot_broker_new (its own thread): backend protocol 1 (OTb1), the worker announces
 *              itself (READY, HB every second), the broker hands each request to a worker and
 *              forwards only the answers that worker owes
 * The worker's loop is the same code for both (only the backend framing differs). Rows: replies
 * per second seen by the clients; ratio = broker / zmq_proxy (issue 19's target: >= 0.8).
 *
 * The broker bounds what one connection can queue inside libzmq: ZMQ_RCVHWM = 32 MiB /
 * max_message_size messages (2 to 1000). zmq_proxy's sockets keep libzmq's default, 1000 messages
 * of any size. The main row gives the broker max_message_size 32 KiB, so that both queue up to
 * 1000 messages per connection and the row compares forwarding; the second row keeps the broker's
 * default limits (8 MiB, so 4 messages per connection), the price of that bound for a client with
 * 32 requests in flight.
 * Output: one line, and BENCH_OUT_DIR/forward.tsv. BENCH_SECONDS / BENCH_QUICK as the others. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include <zmq.h>

#define CLIENTS 4
#define DEPTH 32
#define BODY 64
/* The broker's max_message_size for the main row: 32 MiB / 32 KiB caps ZMQ_RCVHWM at 1000
 * messages per connection, zmq_proxy's (libzmq's) default; with the default 8 MiB limit each
 * connection may queue 4 (the second row). */
#define SMALL_LIMIT (32 << 10)

static void *zctx;
static atomic_int stop_worker;

typedef struct {
  const char *backend;
  int broker; /* 1: speak backend protocol 1 to ot_broker; 0: plain DEALER behind zmq_proxy */
} worker_job;

static void send_str(void *s, const char *t, int flags) {
  if (zmq_send(s, t, strlen(t), flags) < 0) bench_die("worker send: %s", zmq_strerror(errno));
}

/* Echo worker. zmq_proxy backend: [client-id, OTv2, REQ, id, body] in, [client-id, OTv2, REP,
 * id, body] out. ot_broker backend: the same behind [OTb1, C]. */
static void *worker_main(void *arg) {
  worker_job *j = arg;
  void *d = zmq_socket(zctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_connect(d, j->backend) != 0) bench_die("worker connect %s: %s", j->backend, zmq_strerror(errno));
  double next_hb = 0;
  enum { MAXF = 8 };
  zmq_msg_t f[MAXF];
  while (!atomic_load(&stop_worker)) {
    if (j->broker && now_s() >= next_hb) {
      send_str(d, "OTb1", ZMQ_SNDMORE);
      send_str(d, "B", ZMQ_SNDMORE);
      send_str(d, next_hb == 0 ? "READY" : "HB", 0);
      next_hb = now_s() + 1.0;
    }
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 100) <= 0) continue;
    for (int burst = 0; burst < 256; burst++) {
      int n = 0, more = 1;
      while (more) {
        zmq_msg_t *m = &f[n < MAXF ? n : MAXF - 1];
        if (n >= MAXF) zmq_msg_close(m);
        zmq_msg_init(m);
        if (zmq_msg_recv(m, d, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
          zmq_msg_close(m);
          goto drained;
        }
        more = zmq_msg_more(m);
        n++;
      }
      /* the v2 part starts after the routing frames: [OTb1, C, client] or [client] */
      int off = j->broker ? 3 : 1;
      int ok = n == off + 4 && n <= MAXF && zmq_msg_size(&f[off + 1]) == 3 &&
               memcmp(zmq_msg_data(&f[off + 1]), "REQ", 3) == 0;
      if (ok) {
        zmq_msg_t rep;
        zmq_msg_init_size(&rep, 3);
        memcpy(zmq_msg_data(&rep), "REP", 3);
        zmq_msg_close(&f[off + 1]);
        f[off + 1] = rep;
        for (int i = 0; i < n; i++)
          if (zmq_msg_send(&f[i], d, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) bench_die("worker send: %s", zmq_strerror(errno));
      } else {
        for (int i = 0; i < n && i < MAXF; i++) zmq_msg_close(&f[i]);
      }
    }
  drained:;
  }
  zmq_close(d);
  return NULL;
}

typedef struct {
  const char *frontend;
  double until;
  long replies;
} client_job;

static void client_send(void *d, uint64_t id, const uint8_t *body) {
  uint8_t idb[8];
  for (int i = 0; i < 8; i++) idb[i] = (uint8_t)(id >> (56 - 8 * i));
  zmq_send(d, "OTv2", 4, ZMQ_SNDMORE);
  zmq_send(d, "REQ", 3, ZMQ_SNDMORE);
  zmq_send(d, idb, 8, ZMQ_SNDMORE);
  zmq_send(d, body, BODY, 0);
}

static void *client_main(void *arg) {
  client_job *j = arg;
  void *d = zmq_socket(zctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_connect(d, j->frontend) != 0) bench_die("client connect: %s", zmq_strerror(errno));
  uint8_t body[BODY];
  memset(body, 'x', sizeof body);
  uint64_t next = 1;
  int inflight = 0;
  double give_up = j->until + 5;
  while ((now_s() < j->until || inflight > 0) && now_s() < give_up) {
    while (inflight < DEPTH && now_s() < j->until) {
      client_send(d, next++, body);
      inflight++;
    }
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 200) <= 0) continue;
    for (;;) {
      zmq_msg_t m;
      int more = 1, parts = 0, is_rep = 0;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, d, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        break;
      }
      for (;;) {
        parts++;
        if (parts == 2 && zmq_msg_size(&m) == 3 && memcmp(zmq_msg_data(&m), "REP", 3) == 0) is_rep = 1;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (!more) break;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, d, 0);
      }
      if (is_rep && parts == 4) {
        inflight--;
        j->replies++;
      }
    }
  }
  zmq_close(d);
  return NULL;
}

/* Drives CLIENTS clients against `frontend` for `secs`; returns replies per second. */
static double drive(const char *frontend, double secs) {
  client_job jobs[CLIENTS];
  pthread_t th[CLIENTS];
  double t0 = now_s();
  for (int i = 0; i < CLIENTS; i++) {
    jobs[i] = (client_job){frontend, t0 + secs, 0};
    pthread_create(&th[i], NULL, client_main, &jobs[i]);
  }
  long replies = 0;
  for (int i = 0; i < CLIENTS; i++) {
    pthread_join(th[i], NULL);
    replies += jobs[i].replies;
  }
  return replies / (now_s() - t0);
}

typedef struct {
  void *front, *back;
} proxy_job;

static void *proxy_main(void *arg) {
  proxy_job *p = arg;
  zmq_proxy(p->front, p->back, NULL); /* returns when the context terminates */
  zmq_close(p->front);
  zmq_close(p->back);
  return NULL;
}

static double run_proxy(double secs, int round) {
  /* The proxy has a context (so an I/O thread) of its own, as the broker has the library's:
   * the same topology on both sides. Terminating it ends zmq_proxy. */
  void *pctx = zmq_ctx_new();
  char fe[128], be[128];
  snprintf(be, sizeof be, "ipc:///tmp/bench_forward_proxy_%d_%d", (int)getpid(), round);
  proxy_job p = {zmq_socket(pctx, ZMQ_ROUTER), zmq_socket(pctx, ZMQ_DEALER)};
  int zero = 0;
  zmq_setsockopt(p.front, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(p.back, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_bind(p.front, "tcp://127.0.0.1:*") != 0 || zmq_bind(p.back, be) != 0)
    bench_die("proxy bind: %s", zmq_strerror(errno));
  size_t l = sizeof fe;
  zmq_getsockopt(p.front, ZMQ_LAST_ENDPOINT, fe, &l);
  pthread_t pt, wt;
  pthread_create(&pt, NULL, proxy_main, &p);
  worker_job w = {be, 0};
  atomic_store(&stop_worker, 0);
  pthread_create(&wt, NULL, worker_main, &w);
  usleep(100 * 1000);
  double r = drive(fe, secs);
  atomic_store(&stop_worker, 1);
  pthread_join(wt, NULL);
  zmq_ctx_term(pctx); /* ends zmq_proxy (ETERM); it closes its sockets */
  pthread_join(pt, NULL);
  unlink(be + strlen("ipc://"));
  return r;
}

/* max_message_size: the broker's limit (0: its default, 8 MiB). It also sets how many messages
 * one connection may queue in libzmq: ZMQ_RCVHWM = 32 MiB / max_message_size, 2 to 1000. */
static double run_broker(double secs, int round, int64_t max_message_size) {
  char be[128];
  snprintf(be, sizeof be, "ipc:///tmp/bench_forward_broker_%d_%d", (int)getpid(), round);
  ot_broker *b = NULL;
  ot_session_options *o = NULL;
  OT_TRY(ot_session_options_new(&o));
  if (max_message_size > 0) OT_TRY(ot_session_options_set(o, "max_message_size", max_message_size));
  OT_TRY(ot_broker_new("tcp://127.0.0.1:*", be, o, &b));
  ot_session_options_free(o);
  ot_buffer *fe = NULL;
  OT_TRY(ot_broker_frontend(b, &fe));
  worker_job w = {be, 1};
  atomic_store(&stop_worker, 0);
  pthread_t wt;
  pthread_create(&wt, NULL, worker_main, &w);
  ot_broker_stats st;
  double t0 = now_s();
  do {
    usleep(10 * 1000);
    OT_TRY(ot_broker_get_stats(b, &st));
  } while (st.workers < 1 && now_s() - t0 < 10);
  if (st.workers < 1) bench_die("the echo worker never joined the broker");
  double r = drive((const char *)ot_buffer_data(fe), secs);
  uint64_t unexpected = 0, refused = 0;
  OT_TRY(ot_broker_counter(b, "unexpected", &unexpected));
  OT_TRY(ot_broker_counter(b, "refused", &refused));
  if (unexpected || refused) bench_die("the broker dropped the echo worker's answers (%llu unexpected, %llu refused)",
                                       (unsigned long long)unexpected, (unsigned long long)refused);
  atomic_store(&stop_worker, 1);
  pthread_join(wt, NULL);
  ot_buffer_free(fe);
  ot_broker_free(b);
  unlink(be + strlen("ipc://"));
  return r;
}

int main(void) {
  zctx = zmq_ctx_new();
  double secs = bench_seconds(), proxy = 0, broker = 0, broker_default = 0;
  int rounds = bench_rounds();
  printf("bench_forward: %d clients x %d in flight, %d-byte v2 requests, one echo worker on ipc://, %.2f s x %d "
         "round(s)\n\n",
         CLIENTS, DEPTH, BODY, secs, rounds);
  /* BENCH_FORWARD_ONLY=broker|default|proxy runs one side (for profiling); no row is written */
  const char *only = getenv("BENCH_FORWARD_ONLY");
  for (int round = 0; round < rounds; round++) {
    if (!only || strcmp(only, "proxy") == 0) proxy += run_proxy(secs, round);
    if (!only || strcmp(only, "broker") == 0) broker += run_broker(secs, round, SMALL_LIMIT);
    if (!only || strcmp(only, "default") == 0) broker_default += run_broker(secs, round, 0);
  }
  if (only) {
    printf("%s only: %.0f replies/s\n", only, (proxy + broker + broker_default) / rounds);
    zmq_ctx_term(zctx);
    return 0;
  }
  proxy /= rounds;
  broker /= rounds;
  broker_default /= rounds;
  printf("%-52s %10s %10s %8s\n", "row", "broker/s", "proxy/s", "ratio");
  printf("%-52s %10.0f %10.0f %8.3f\n", "64 B requests, max_message_size 32 KiB (HWM 1000)", broker, proxy,
         broker / proxy);
  printf("%-52s %10.0f %10.0f %8.3f\n", "64 B requests, default limits (8 MiB, HWM 4)", broker_default, proxy,
         broker_default / proxy);
  FILE *tsv = tsv_open("forward.tsv", "row\tours\treference\tratio\ttarget\n");
  fprintf(tsv, "broker_vs_zmq_proxy_64b\t%.1f\t%.1f\t%.4f\t0.8\n", broker, proxy, broker / proxy);
  fprintf(tsv, "broker_default_limits_vs_zmq_proxy_64b\t%.1f\t%.1f\t%.4f\t-\n", broker_default, proxy,
          broker_default / proxy);
  fclose(tsv);
  zmq_ctx_term(zctx);
  return 0;
}
