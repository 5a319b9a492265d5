/* Transport v2 benchmarks (issue 13), tcp loopback, RSA-2048 keys, all in one run:
 *
 *  1. v2 exchange, 1 request in flight, no crypto: ot_session_exchange (protocol v2) against a
 *     bare libzmq ROUTER answering v2 frames, next to a bare libzmq DEALER doing the same; then
 *     8 and 64 in flight (ot_session_send_frame + ot_session_receive vs the DEALER pipelining).
 *  2. full v2 requests (sign, seal, open, verify both ways) with 1, 8 and 64 requests in flight
 *     from one client (ot_session_send / ot_session_receive) to one ot_notary thread.
 *  3. the attack: 4 honest legacy clients, without and with one socket sending a garbage request
 *     every 100 ms, against our ROUTER notary and against a legacy-style REP notary (a REP socket
 *     that is re-created after an unreadable request, as the legacy notary and this library
 *     before transport v2 did), built here from libzmq and this library's crypto calls.
 *
 * Output: one line per row, and bench/results/v2.tsv. BENCH_SECONDS / BENCH_QUICK as the other
 * benchmarks. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>
#include <zmq.h>

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char *n_id;
static volatile int stop_flag;

/* ------------------------------------------------------------ 1. raw exchange */

static void *raw_v2_router(void *arg) {
  void *r = arg;
  while (!stop_flag) {
    zmq_pollitem_t it = {r, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 50) <= 0) continue;
    zmq_msg_t parts[5];
    int n = 0, more = 1;
    while (more && n < 5) {
      zmq_msg_init(&parts[n]);
      zmq_msg_recv(&parts[n], r, 0);
      more = zmq_msg_more(&parts[n]);
      n++;
    }
    if (n == 5) { /* [peer, OTv2, REQ, id, body] -> [peer, OTv2, REP, id, body] */
      zmq_send(r, zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), ZMQ_SNDMORE);
      zmq_send(r, "OTv2", 4, ZMQ_SNDMORE);
      zmq_send(r, "REP", 3, ZMQ_SNDMORE);
      zmq_send(r, zmq_msg_data(&parts[3]), 8, ZMQ_SNDMORE);
      zmq_send(r, zmq_msg_data(&parts[4]), zmq_msg_size(&parts[4]), 0);
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
  }
  return NULL;
}

/* A v2 request [OTv2, REQ, id, body] from a bare DEALER. */
static void send_v2_req(void *d, uint64_t id, const uint8_t *body, size_t len) {
  uint8_t idb[8];
  for (int i = 0; i < 8; i++) idb[i] = (uint8_t)(id >> (56 - 8 * i));
  zmq_send(d, "OTv2", 4, ZMQ_SNDMORE);
  zmq_send(d, "REQ", 3, ZMQ_SNDMORE);
  zmq_send(d, idb, 8, ZMQ_SNDMORE);
  zmq_send(d, body, len, 0);
}

static double raw_rows(FILE *tsv, void *ctx) {
  void *r = zmq_socket(ctx, ZMQ_ROUTER);
  int zero = 0;
  zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
  zmq_bind(r, "tcp://127.0.0.1:*");
  char ep[128];
  size_t epl = sizeof ep;
  zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &epl);
  stop_flag = 0;
  pthread_t t;
  pthread_create(&t, NULL, raw_v2_router, r);
  uint8_t body[1024];
  memset(body, 'x', sizeof body);
  double secs = bench_seconds(), rate[2] = {0, 0};
  /* bare DEALER, in a context of its own: our session runs in the library's context, so on both
   * sides the client and the ROUTER each have an I/O thread, as two processes would */
  void *dctx = zmq_ctx_new();
  void *d = zmq_socket(dctx, ZMQ_DEALER);
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
  zmq_connect(d, ep);
  ot_session_options *o = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "protocol", 1));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  OT_TRY(ot_session_options_set(o, "curve_policy", 0)); /* the bare ROUTER publishes no transport key */
  ot_session *s = NULL;
  OT_TRY(ot_session_new(ep, o, &s));
  { /* warm-up: both connect before the clock starts */
    ot_buffer *reply = NULL;
    OT_TRY(ot_session_exchange(s, body, sizeof body, &reply));
    ot_buffer_free(reply);
  }
  for (int round = 0; round < bench_rounds(); round++) {
    long n = 0;
    double t0 = now_s();
    while (now_s() - t0 < secs) {
      send_v2_req(d, (uint64_t)n + 1, body, sizeof body);
      zmq_msg_t m;
      int more = 1;
      while (more) {
        zmq_msg_init(&m);
        zmq_msg_recv(&m, d, 0);
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
      }
      n++;
    }
    rate[0] += n / (now_s() - t0);
    n = 0;
    t0 = now_s();
    while (now_s() - t0 < secs) {
      ot_buffer *reply = NULL;
      OT_TRY(ot_session_exchange(s, body, sizeof body, &reply));
      ot_buffer_free(reply);
      n++;
    }
    rate[1] += n / (now_s() - t0);
  }
  rate[0] /= bench_rounds();
  rate[1] /= bench_rounds();
  printf("%-44s %10.0f %10.0f %8.3f\n", "v2 exchange 1 KiB, 1 in flight (no crypto)", rate[1], rate[0], rate[1] / rate[0]);
  fprintf(tsv, "exchange_1k_1\t%.1f\t%.1f\t%.4f\n", rate[1], rate[0], rate[1] / rate[0]);
  /* Pipelined, no crypto: ot_session_send_frame + ot_session_receive keeping `depth` requests in
   * flight, next to the bare DEALER doing the same (same ROUTER echo, rounds interleaved). */
  int depths[2] = {8, 64};
  for (int k = 0; k < 2; k++) {
    int depth = depths[k];
    double pr[2] = {0, 0};
    uint64_t next = 1u << 20;
    for (int round = 0; round < bench_rounds(); round++) {
      long n = 0;
      int inflight = 0;
      double t0 = now_s();
      while (now_s() - t0 < secs || inflight > 0) {
        while (inflight < depth && now_s() - t0 < secs) {
          send_v2_req(d, next++, body, sizeof body);
          inflight++;
        }
        zmq_msg_t m;
        int more = 1, parts = 0;
        while (more) {
          zmq_msg_init(&m);
          if (zmq_msg_recv(&m, d, 0) < 0) bench_die("bare DEALER: %s", zmq_strerror(errno));
          more = zmq_msg_more(&m);
          zmq_msg_close(&m);
          parts++;
        }
        if (parts == 4) {
          inflight--;
          n++;
        }
      }
      pr[0] += n / (now_s() - t0);
      n = 0;
      inflight = 0;
      t0 = now_s();
      while (now_s() - t0 < secs || inflight > 0) {
        while (inflight < depth && now_s() - t0 < secs) {
          uint64_t id;
          OT_TRY(ot_session_send_frame(s, body, sizeof body, &id));
          inflight++;
        }
        uint64_t id;
        ot_result status;
        ot_buffer *reply = NULL;
        OT_TRY(ot_session_receive(s, 60000, &id, &status, &reply));
        if (status != OT_OK || ot_buffer_len(reply) != sizeof body) bench_die("raw v2 request failed: %s", ot_result_str(status));
        ot_buffer_free(reply);
        inflight--;
        n++;
      }
      pr[1] += n / (now_s() - t0);
    }
    pr[0] /= bench_rounds();
    pr[1] /= bench_rounds();
    char label[64];
    snprintf(label, sizeof label, "v2 send_frame 1 KiB, %d in flight (no crypto)", depth);
    printf("%-44s %10.0f %10.0f %8.3f\n", label, pr[1], pr[0], pr[1] / pr[0]);
    fprintf(tsv, "pipelined_1k_%d\t%.1f\t%.1f\t%.4f\n", depth, pr[1], pr[0], pr[1] / pr[0]);
  }
  stop_flag = 1;
  pthread_join(t, NULL);
  ot_session_free(s);
  ot_session_options_free(o);
  zmq_close(d);
  zmq_ctx_term(dctx);
  zmq_close(r);
  return rate[1] / rate[0];
}

/* ------------------------------------------------------------ 2. full v2 requests */

static void *serve_notary(void *arg) {
  ot_notary *n = arg;
  while (!stop_flag) {
    ot_request *req = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(n, 50, &req) != OT_OK) continue;
    if (ot_request_verify(req, c_auth, &c) == OT_OK) {
      ot_notary_reply(n, req, ot_buffer_data(c), ot_buffer_len(c), c_enc);
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  return NULL;
}

static void pipelined_rows(FILE *tsv, const char *suite) {
  ot_notary *n = NULL;
  ot_buffer *b = NULL;
  char ep[128];
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  OT_TRY(ot_notary_endpoint(n, &b));
  snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  stop_flag = 0;
  pthread_t t;
  pthread_create(&t, NULL, serve_notary, n);
  ot_session_options *o = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "protocol", 1));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  OT_TRY(ot_session_options_set(o, "latency_receive_ms", 30000));
  ot_session *s = NULL;
  OT_TRY(ot_session_new(ep, o, &s));
  OT_TRY(ot_session_set_identity(s, c_auth, c_enc));
  OT_TRY(ot_session_set_notary(s, n_id, n_enc, n_auth));
  char *content = make_text(1024);
  int depths[3] = {1, 8, 64};
  for (int k = 0; k < 3; k++) {
    int depth = depths[k];
    long done = 0;
    int inflight = 0;
    double t0 = now_s(), secs = bench_seconds() * 2;
    while (now_s() - t0 < secs || inflight > 0) {
      while (inflight < depth && now_s() - t0 < secs) {
        uint64_t id;
        OT_TRY(ot_session_send(s, (const uint8_t *)content, strlen(content), &id));
        inflight++;
      }
      uint64_t id;
      ot_result status;
      ot_buffer *reply = NULL;
      OT_TRY(ot_session_receive(s, 60000, &id, &status, &reply));
      if (status != OT_OK) bench_die("v2 request failed: %s", ot_result_str(status));
      ot_buffer_free(reply);
      inflight--;
      done++;
    }
    double rate = done / (now_s() - t0);
    char label[64];
    snprintf(label, sizeof label, "v2 request 1 KiB %s, %d in flight", suite, depth);
    printf("%-44s %10.1f %10s %8s\n", label, rate, "-", "-");
    fprintf(tsv, "request_1k_%s_inflight_%d\t%.1f\t-\t-\n", suite, depth, rate);
  }
  free(content);
  stop_flag = 1;
  pthread_join(t, NULL);
  ot_session_free(s);
  ot_session_options_free(o);
  ot_notary_free(n);
}

/* ------------------------------------------------------------ 3. the attack */

/* A notary as the legacy one behaved: a REP socket, re-created after an unreadable request.
 * It binds a free port and publishes it in `ep` (then `bound` is set); a re-created socket
 * binds that port again, as the legacy notary did with its own. */
typedef struct {
  void *ctx;
  char ep[128];
  pthread_mutex_t lock;
  pthread_cond_t ready;
  int bound;
} rep_job;

static void *legacy_rep_notary(void *arg) {
  rep_job *j = arg;
  int zero = 0;
  size_t l = sizeof j->ep;
  void *rep = zmq_socket(j->ctx, ZMQ_REP);
  zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero);
  if (zmq_bind(rep, "tcp://127.0.0.1:*") != 0) bench_die("zmq_bind: %s", zmq_strerror(errno));
  pthread_mutex_lock(&j->lock);
  zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, j->ep, &l);
  j->bound = 1;
  pthread_cond_signal(&j->ready);
  pthread_mutex_unlock(&j->lock);
  char *buf = xmalloc(4 * MiB);
  while (!stop_flag) {
    zmq_pollitem_t it = {rep, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 50) <= 0) continue;
    int len = zmq_recv(rep, buf, 4 * MiB - 1, 0);
    ot_envelope *env = NULL;
    ot_buffer *plain = NULL, *c = NULL;
    int ok = len > 0 && ot_envelope_from_armor((const uint8_t *)buf, (size_t)len, &env) == OT_OK &&
             ot_envelope_open(env, n_id, n_enc, &plain) == OT_OK &&
             ot_signed_verify(ot_buffer_data(plain), ot_buffer_len(plain), c_auth, &c) == OT_OK;
    if (ok) {
      ot_buffer *text = NULL, *armor = NULL;
      ot_envelope *out = NULL;
      ot_recipient r = {"", c_enc};
      OT_TRY(ot_signed_create("MESSAGE", ot_buffer_data(c), ot_buffer_len(c), n_auth, NULL, &text));
      OT_TRY(ot_envelope_seal(&r, 1, ot_buffer_data(text), ot_buffer_len(text), &out));
      OT_TRY(ot_envelope_to_armor(out, 1, &armor));
      zmq_send(rep, ot_buffer_data(armor), ot_buffer_len(armor), 0);
      ot_buffer_free(text);
      ot_buffer_free(armor);
      ot_envelope_free(out);
    } else { /* the legacy habit: no reply, and a new REP socket */
      zmq_close(rep);
      rep = zmq_socket(j->ctx, ZMQ_REP);
      zmq_setsockopt(rep, ZMQ_LINGER, &zero, sizeof zero);
      while (zmq_bind(rep, j->ep) != 0 && !stop_flag) {}
    }
    ot_buffer_free(c);
    ot_buffer_free(plain);
    ot_envelope_free(env);
  }
  free(buf);
  zmq_close(rep);
  return NULL;
}

typedef struct {
  const char *ep;
  double until;
  long done;
  double max_latency;
} client_job;

static void *honest_client(void *arg) {
  client_job *j = arg;
  ot_session_options *o = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  ot_session *s = NULL;
  OT_TRY(ot_session_new(j->ep, o, &s));
  OT_TRY(ot_session_set_identity(s, c_auth, c_enc));
  OT_TRY(ot_session_set_notary(s, n_id, n_enc, n_auth));
  while (now_s() < j->until) {
    ot_buffer *r = NULL;
    double t0 = now_s();
    if (ot_session_request(s, (const uint8_t *)"<honest/>\n", 10, &r) == OT_OK) j->done++;
    double dt = now_s() - t0;
    if (dt > j->max_latency) j->max_latency = dt;
    ot_buffer_free(r);
  }
  ot_session_free(s);
  ot_session_options_free(o);
  return NULL;
}

static void *attacker(void *arg) {
  const char *ep = arg;
  while (!stop_flag) {
    ot_session_options *o = NULL;
    ot_session *s = NULL;
    ot_buffer *r = NULL;
    OT_TRY(ot_session_options_new(&o));
    OT_TRY(ot_session_options_set(o, "max_resends", 0));
    OT_TRY(ot_session_options_set(o, "request_timeout_ms", 100));
    OT_TRY(ot_session_new(ep, o, &s));
    ot_session_exchange(s, (const uint8_t *)"%%% garbage %%%", 15, &r); /* times out after 100 ms */
    ot_session_free(s);
    ot_session_options_free(o);
  }
  return NULL;
}

static void attack_run(const char *impl, const char *ep, int attack, FILE *tsv, double *rate_out) {
  client_job jobs[4];
  pthread_t th[4], at;
  double secs = bench_seconds() * 4;
  stop_flag = 0;
  if (attack) pthread_create(&at, NULL, attacker, (void *)ep);
  for (int i = 0; i < 4; i++) {
    jobs[i] = (client_job){ep, now_s() + secs, 0, 0};
    pthread_create(&th[i], NULL, honest_client, &jobs[i]);
  }
  long done = 0;
  double maxl = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    done += jobs[i].done;
    if (jobs[i].max_latency > maxl) maxl = jobs[i].max_latency;
  }
  if (attack) {
    stop_flag = 1;
    pthread_join(at, NULL);
  }
  *rate_out = done / secs;
  printf("%-44s %10.1f %10s %8s   max latency %.1f ms\n",
         attack ? (strcmp(impl, "router") ? "honest req/s, attacked, legacy REP notary" : "honest req/s, attacked, ROUTER notary")
                : (strcmp(impl, "router") ? "honest req/s, calm, legacy REP notary" : "honest req/s, calm, ROUTER notary"),
         *rate_out, "-", "-", maxl * 1e3);
  fprintf(tsv, "attack_%s_%s\t%.1f\t-\t-\t%.1f\n", impl, attack ? "attacked" : "calm", *rate_out, maxl * 1e3);
}

static void attack_rows(FILE *tsv, void *ctx) {
  double calm, hit;
  /* ours */
  ot_notary *n = NULL;
  ot_buffer *b = NULL;
  char ep[128];
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  OT_TRY(ot_notary_endpoint(n, &b));
  snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  for (int attack = 0; attack < 2; attack++) {
    pthread_t t;
    stop_flag = 0;
    pthread_create(&t, NULL, serve_notary, n);
    attack_run("router", ep, attack, tsv, attack ? &hit : &calm);
    stop_flag = 1;
    pthread_join(t, NULL);
  }
  printf("%-44s %10.3f\n", "  ROUTER notary: attacked / calm", hit / calm);
  ot_notary_free(n);
  /* the legacy REP behaviour */
  rep_job j;
  j.ctx = ctx;
  pthread_mutex_init(&j.lock, NULL);
  pthread_cond_init(&j.ready, NULL);
  for (int attack = 0; attack < 2; attack++) {
    pthread_t t;
    stop_flag = 0;
    j.bound = 0;
    pthread_create(&t, NULL, legacy_rep_notary, &j);
    pthread_mutex_lock(&j.lock);
    while (!j.bound) pthread_cond_wait(&j.ready, &j.lock);
    pthread_mutex_unlock(&j.lock);
    attack_run("rep", j.ep, attack, tsv, attack ? &hit : &calm);
    stop_flag = 1;
    pthread_join(t, NULL);
  }
  printf("%-44s %10.3f\n", "  legacy REP notary: attacked / calm", hit / calm);
}

int main(void) {
  void *ctx = zmq_ctx_new();
  OT_TRY(ot_key_generate(2048, &c_auth));
  OT_TRY(ot_key_generate(2048, &c_enc));
  OT_TRY(ot_key_generate(2048, &n_auth));
  OT_TRY(ot_key_generate(2048, &n_enc));
  n_id = ot_nym_id_dup(n_auth);
  FILE *tsv = tsv_open("v2.tsv", "row\tours\tlibzmq\tratio\tmax_latency_ms\n");
  printf("bench_v2: tcp loopback, RSA-2048, %.2f s per row (x%d rounds for the exchange row)\n\n", bench_seconds(),
         bench_rounds());
  printf("%-44s %10s %10s %8s\n", "row", "ours/s", "libzmq/s", "ratio");
  raw_rows(tsv, ctx);
  pipelined_rows(tsv, "RSA-2048");
  {
    /* the same with suite v3 keys (Ed25519 signatures, X25519 type-3 envelopes) both ways */
    ot_key *ra = c_auth, *re = c_enc, *na = n_auth, *ne = n_enc;
    char *nid = n_id;
    OT_TRY(ot_key_generate_ed25519(&c_auth));
    OT_TRY(ot_key_generate_x25519(&c_enc));
    OT_TRY(ot_key_generate_ed25519(&n_auth));
    OT_TRY(ot_key_generate_x25519(&n_enc));
    n_id = ot_nym_id_dup(n_auth);
    pipelined_rows(tsv, "suite v3");
    free(n_id);
    ot_key_free(c_auth);
    ot_key_free(c_enc);
    ot_key_free(n_auth);
    ot_key_free(n_enc);
    c_auth = ra, c_enc = re, n_auth = na, n_enc = ne, n_id = nid;
  }
  attack_rows(tsv, ctx);
  fclose(tsv);
  free(n_id);
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  zmq_ctx_term(ctx);
  return 0;
}
