/* bench_transport: request/reply latency and throughput on tcp://127.0.0.1, three ways:
 *
 *   libzmq    bare libzmq REQ client  -> bare libzmq REP echo thread       (the floor)
 *   exchange  ot_session_exchange     -> the same bare libzmq REP echo thread (our session's
 *             raw frame path: poll schedule, copies, ot_buffer)
 *   request   ot_session_request      -> an ot_notary thread (receive = de-armor + open;
 *             ot_request_verify; ot_notary_reply = sign + seal + armor; the client signs + seals
 *             the request and opens + verifies the reply): the full legacy protection both ways
 *   legacy    the same legacy request pipeline written directly on OpenSSL's libcrypto + bare
 *             libzmq, as the legacy library did it (client: SAMY + RSA-PSS sign, EVP_Seal, data
 *             armor, zmq_send; notary thread on a bare REP socket: de-armor, EVP_Open, verify,
 *             sign, EVP_Seal, bookended armor, zmq_send; client: de-armor, EVP_Open, verify):
 *             the reference a notary operator compares `request` with (same keys, same payloads)
 *
 * With 1 and with 4 concurrent clients (each its own socket/session and thread). The server side
 * is ONE thread in every case (one REP echo thread; one notary thread). Payloads 1 KiB and
 * 64 KiB (the reply carries the same payload back). RSA-2048 keys. latency_delay_after = 0, plus
 * one run with the legacy default 50 ms to show its cost. The three ways are interleaved in
 * rounds. Output: table on stdout and BENCH_OUT_DIR/transport.tsv.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <zmq.h>

#include "bench_common.h"

typedef enum { IMPL_ZMQ = 0, IMPL_EXCHANGE = 1, IMPL_REQUEST = 2, IMPL_LEGACY = 3 } impl_t;
#define N_IMPL 4
static const char *impl_name[] = {"libzmq", "exchange", "request", "legacy"};

static void *zctx;
/* The bare libzmq REQ clients of the `libzmq` rows live in a context of their own: the session of
 * the `exchange` rows runs in the library's context, so its client and the echo server each have
 * an I/O thread, as two processes would; a baseline sharing the server's context would have one
 * I/O thread carry both ends. (The `legacy` client shares its server's context, as the `request`
 * rows' session shares the notary's: one I/O thread on both sides of that comparison.) */
static void *cctx;
static atomic_int stop_servers;
static ot_key *client_auth, *client_enc, *client_auth_pub, *client_enc_pub;
static ot_key *notary_auth, *notary_enc, *notary_auth_pub, *notary_enc_pub;
static char notary_id[128], client_id[128];
static char echo_ep[256], notary_ep[256], legacy_ep[256];
/* the same keys on the OpenSSL side (legacy pipeline) */
static EVP_PKEY *o_client_auth, *o_client_enc, *o_notary_auth, *o_notary_enc;

/* ------------------------------------------------------------------ servers (one thread each) */

typedef struct {
  void *sock;
  long served;
} echo_job;

static void *echo_thread(void *arg) {
  echo_job *j = arg;
  zmq_pollitem_t it = {j->sock, 0, ZMQ_POLLIN, 0};
  while (!atomic_load(&stop_servers)) {
    int rc = zmq_poll(&it, 1, 100);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) bench_die("echo server: zmq_poll: %s", zmq_strerror(errno));
    if (rc == 0) continue;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, j->sock, ZMQ_DONTWAIT) >= 0) {
      if (zmq_msg_send(&m, j->sock, 0) >= 0) j->served++;
    }
    zmq_msg_close(&m);
  }
  return NULL;
}

typedef struct {
  ot_notary *notary;
  long served, errors;
} notary_job;

static void *notary_thread(void *arg) {
  notary_job *j = arg;
  while (!atomic_load(&stop_servers)) {
    ot_request *req = NULL;
    ot_result rc = ot_notary_receive(j->notary, 100, &req);
    if (rc == OT_ERR_TIMEOUT) continue;
    if (rc != OT_OK) {
      j->errors++;
      continue;
    }
    ot_buffer *content = NULL;
    if (ot_request_verify(req, client_auth_pub, &content) == OT_OK &&
        ot_notary_reply(j->notary, req, ot_buffer_data(content), ot_buffer_len(content), client_enc_pub) ==
            OT_OK)
      j->served++;
    else
      j->errors++;
    ot_buffer_free(content);
    ot_request_free(req);
  }
  return NULL;
}

/* ------------------------------------------------------------------ legacy pipeline (OpenSSL) */

/* Wraps an armor body in legacy bookends (as OTASCIIArmor::WriteArmoredString wrote them). */
static char *legacy_bookend(const char *body, size_t bl, const char *type, size_t *out_len) {
  size_t cap = bl + 2 * strlen(type) + 256;
  char *t = xmalloc(cap);
  int h = snprintf(t, cap, "-----BEGIN OT ARMORED %s-----\n" OT_VERSION_LINE OT_COMMENT_LINE "\n", type);
  size_t pos = (size_t)h;
  memcpy(t + pos, body, bl);
  pos += bl;
  if (bl && body[bl - 1] != '\n') t[pos++] = '\n';
  pos += (size_t)snprintf(t + pos, cap - pos, "-----END OT ARMORED %s-----\n\n", type);
  *out_len = pos;
  return t;
}

/* The armor body of a bookended text: after the header's blank line, up to the END line. */
static const char *legacy_unbookend(const char *t, size_t n, size_t *body_len) {
  if (n < 22 || memcmp(t, "-----BEGIN OT ARMORED ", 22) != 0) return NULL;
  const char *b = memmem(t, n, "\n\n", 2);
  if (!b) return NULL;
  b += 2;
  const char *e = memmem(b, n - (size_t)(b - t), "\n-----END", 9);
  if (!e) return NULL;
  *body_len = (size_t)(e - b) + 1;
  return b;
}

/* Client side, request: sign content as a MESSAGE, seal to the notary, bare data armor. */
static char *legacy_request_frame(const uint8_t *content, size_t n, size_t *frame_len) {
  size_t tl = 0, el = 0;
  char *text = ossl_sign_message(content, n, o_client_auth, &tl);
  if (!text) return NULL;
  ossl_recipient r = {notary_id, o_notary_enc};
  uint8_t *env = ossl_seal(&r, 1, (const uint8_t *)text, tl, &el);
  free(text);
  char *frame = ossl_armor_data_encode(env, el, frame_len);
  free(env);
  return frame;
}

/* Client side, reply: de-armor, open with the client's key, verify the notary's signature. */
static uint8_t *legacy_read_reply(const char *reply, size_t n, size_t *content_len) {
  size_t bl = 0, el = 0, tl = 0;
  const char *body = legacy_unbookend(reply, n, &bl);
  if (!body) return NULL;
  uint8_t *env = ossl_armor_data_decode(body, bl, &el);
  if (!env) return NULL;
  uint8_t *text = ossl_open(env, el, client_id, o_client_enc, &tl);
  free(env);
  if (!text) return NULL;
  uint8_t *content = ossl_verify_message((const char *)text, tl, o_notary_auth, content_len);
  free(text);
  return content;
}

/* Notary side: de-armor, open, verify the client's signature, sign the content back, seal it to
 * the client (empty NymID, as legacy notaries sealed replies), bookended ENVELOPE armor. */
static char *legacy_notary_answer(const char *frame, size_t n, size_t *reply_len) {
  size_t el = 0, tl = 0, cl = 0, sl = 0, rl = 0, al = 0;
  uint8_t *env = ossl_armor_data_decode(frame, n, &el);
  if (!env) return NULL;
  uint8_t *text = ossl_open(env, el, notary_id, o_notary_enc, &tl);
  free(env);
  if (!text) return NULL;
  uint8_t *content = ossl_verify_message((const char *)text, tl, o_client_auth, &cl);
  free(text);
  if (!content) return NULL;
  char *signed_text = ossl_sign_message(content, cl, o_notary_auth, &sl);
  free(content);
  if (!signed_text) return NULL;
  ossl_recipient r = {"", o_client_enc};
  uint8_t *reply_env = ossl_seal(&r, 1, (const uint8_t *)signed_text, sl, &rl);
  free(signed_text);
  char *armor = ossl_armor_data_encode(reply_env, rl, &al);
  free(reply_env);
  char *reply = legacy_bookend(armor, al, "ENVELOPE", reply_len);
  free(armor);
  return reply;
}

static void *legacy_notary_thread(void *arg) {
  echo_job *j = arg; /* a bare REP socket and a counter, as the echo server */
  zmq_pollitem_t it = {j->sock, 0, ZMQ_POLLIN, 0};
  while (!atomic_load(&stop_servers)) {
    int rc = zmq_poll(&it, 1, 100);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) bench_die("legacy notary: zmq_poll: %s", zmq_strerror(errno));
    if (rc == 0) continue;
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, j->sock, ZMQ_DONTWAIT) >= 0) {
      size_t rl = 0;
      char *reply = legacy_notary_answer(zmq_msg_data(&m), zmq_msg_size(&m), &rl);
      if (!reply) bench_die("legacy notary: could not answer a request");
      if (zmq_send(j->sock, reply, rl, 0) >= 0) j->served++;
      free(reply);
    }
    zmq_msg_close(&m);
  }
  return NULL;
}

/* ------------------------------------------------------------------ clients */

typedef struct {
  impl_t impl;
  const uint8_t *payload;
  size_t len;
  int delay_after;
  double duration;
  pthread_barrier_t *bar;
  float *lat_us;
  size_t cap, n;
  long errors;
  double t_start, t_end;
} client_job;

typedef struct {
  void *req;
  ot_session *s;
} client_conn;

static int one_round_trip(const client_job *j, client_conn *c) {
  if (j->impl == IMPL_LEGACY) {
    size_t fl = 0, cl = 0;
    char *frame = legacy_request_frame(j->payload, j->len, &fl);
    if (!frame) return 0;
    int sent = zmq_send(c->req, frame, fl, 0);
    free(frame);
    if (sent < 0) return 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    int got = zmq_msg_recv(&m, c->req, 0); /* bounded by ZMQ_RCVTIMEO */
    uint8_t *content = got >= 0 ? legacy_read_reply(zmq_msg_data(&m), zmq_msg_size(&m), &cl) : NULL;
    int ok = content && cl == j->len && memcmp(content, j->payload, cl) == 0;
    free(content);
    zmq_msg_close(&m);
    return ok;
  }
  if (j->impl == IMPL_ZMQ) {
    if (zmq_send(c->req, j->payload, j->len, 0) < 0) return 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    int got = zmq_msg_recv(&m, c->req, 0); /* bounded by ZMQ_RCVTIMEO */
    int ok = got >= 0 && zmq_msg_size(&m) == j->len;
    zmq_msg_close(&m);
    return ok;
  }
  ot_buffer *reply = NULL;
  ot_result rc = j->impl == IMPL_EXCHANGE ? ot_session_exchange(c->s, j->payload, j->len, &reply)
                                          : ot_session_request(c->s, j->payload, j->len, &reply);
  int ok = rc == OT_OK && ot_buffer_len(reply) == j->len;
  if (rc != OT_OK) fprintf(stderr, "  %s failed: %s (%s)\n", impl_name[j->impl], ot_result_str(rc), ot_last_error());
  ot_buffer_free(reply);
  return ok;
}

static void *client_thread(void *arg) {
  client_job *j = arg;
  client_conn c = {NULL, NULL};
  ot_session_options *o = NULL;
  if (j->impl == IMPL_ZMQ || j->impl == IMPL_LEGACY) {
    c.req = zmq_socket(j->impl == IMPL_ZMQ ? cctx : zctx, ZMQ_REQ);
    int linger = 0, rcvtimeo = 10000;
    zmq_setsockopt(c.req, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(c.req, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    if (zmq_connect(c.req, j->impl == IMPL_ZMQ ? echo_ep : legacy_ep) != 0)
      bench_die("zmq_connect: %s", zmq_strerror(errno));
  } else {
    OT_TRY(ot_session_options_new(&o));
    OT_TRY(ot_session_options_set(o, "latency_delay_after", j->delay_after));
    OT_TRY(ot_session_new(j->impl == IMPL_EXCHANGE ? echo_ep : notary_ep, o, &c.s));
    if (j->impl == IMPL_REQUEST) {
      OT_TRY(ot_session_set_identity(c.s, client_auth, client_enc));
      OT_TRY(ot_session_set_notary(c.s, notary_id, notary_enc_pub, notary_auth_pub));
    }
  }
  for (int i = 0; i < 2; i++) /* warm-up: connect, first allocations */
    if (!one_round_trip(j, &c)) j->errors++;
  pthread_barrier_wait(j->bar);
  double t0 = now_s(), deadline = t0 + j->duration;
  j->t_start = t0;
  while (j->n < j->cap && j->errors < 50) {
    double a = now_s();
    if (a >= deadline) break;
    int ok = one_round_trip(j, &c);
    double b = now_s();
    if (!ok) {
      j->errors++;
      continue;
    }
    j->lat_us[j->n++] = (float)((b - a) * 1e6);
  }
  j->t_end = now_s();
  if (c.req) zmq_close(c.req);
  ot_session_free(c.s);
  ot_session_options_free(o);
  return NULL;
}

/* ------------------------------------------------------------------ runs and statistics */

typedef struct {
  float *v;
  size_t n, cap;
  double wall;
  long errors;
} samples;

static void samples_add(samples *s, const float *v, size_t n) {
  if (s->n + n > s->cap) {
    size_t cap = (s->n + n) * 2;
    float *g = realloc(s->v, cap * sizeof *g);
    if (!g) bench_die("out of memory");
    s->v = g;
    s->cap = cap;
  }
  memcpy(s->v + s->n, v, n * sizeof *v);
  s->n += n;
}

static void run_clients(impl_t impl, const uint8_t *payload, size_t len, int nclients, int delay_after,
                        double duration, samples *acc) {
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, (unsigned)nclients);
  client_job jobs[8];
  pthread_t th[8];
  size_t cap = (size_t)(duration * 100000.0) + 1000; /* > any loopback rate seen per client */
  for (int i = 0; i < nclients; i++) {
    jobs[i] = (client_job){impl, payload, len, delay_after, duration, &bar, xmalloc(cap * sizeof(float)), cap,
                           0, 0, 0, 0};
    if (pthread_create(&th[i], NULL, client_thread, &jobs[i]) != 0) bench_die("pthread_create");
  }
  double start = 1e300, end = 0;
  for (int i = 0; i < nclients; i++) {
    pthread_join(th[i], NULL);
    if (jobs[i].t_start < start) start = jobs[i].t_start;
    if (jobs[i].t_end > end) end = jobs[i].t_end;
    samples_add(acc, jobs[i].lat_us, jobs[i].n);
    acc->errors += jobs[i].errors;
    free(jobs[i].lat_us);
  }
  acc->wall += end - start;
  pthread_barrier_destroy(&bar);
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double median, p99, rps;
  size_t n;
} stats;

static stats summarize(samples *s) {
  stats r = {0, 0, 0, s->n};
  if (s->n == 0) return r;
  qsort(s->v, s->n, sizeof(float), cmp_float);
  r.median = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2.0;
  size_t i99 = (size_t)((double)(s->n - 1) * 0.99 + 0.5);
  r.p99 = s->v[i99];
  r.rps = (double)s->n / s->wall;
  return r;
}

static FILE *tsv;

static void report(impl_t impl, size_t len, int clients, int delay, samples *s, const stats *base) {
  stats st = summarize(s);
  double rps_ratio = base && base->rps > 0 ? st.rps / base->rps : 1.0;
  double lat_ratio = base && st.median > 0 ? base->median / st.median : 1.0;
  printf("%-9s %6zuK %4d %6d %8zu %10.1f %10.1f %10.1f   %7.4f %7.4f %s\n", impl_name[impl], len / 1024, clients,
         delay, st.n, st.median, st.p99, st.rps, rps_ratio, lat_ratio, s->errors ? "ERRORS" : "");
  fprintf(tsv, "%s\t%zu\t%d\t%d\t%zu\t%.2f\t%.2f\t%.2f\t%.6f\t%.6f\t%ld\n", impl_name[impl], len, clients, delay,
          st.n, st.median, st.p99, st.rps, rps_ratio, lat_ratio, s->errors);
  fflush(stdout);
  fflush(tsv);
}

int main(void) {
  double secs = bench_seconds();
  double duration = 1.5 * secs < 0.3 ? 0.3 : 1.5 * secs; /* per run per round */
  int rounds = bench_quick() ? 1 : 2;
  ossl_init(); /* only for write_meta's version string */
  write_meta("transport");
  zctx = zmq_ctx_new();
  cctx = zmq_ctx_new();

  OT_TRY(ot_key_generate(2048, &client_auth));
  OT_TRY(ot_key_generate(2048, &client_enc));
  OT_TRY(ot_key_generate(2048, &notary_auth));
  OT_TRY(ot_key_generate(2048, &notary_enc));
  OT_TRY(ot_key_public(client_auth, &client_auth_pub));
  OT_TRY(ot_key_public(client_enc, &client_enc_pub));
  OT_TRY(ot_key_public(notary_auth, &notary_auth_pub));
  OT_TRY(ot_key_public(notary_enc, &notary_enc_pub));
  char *nid = ot_nym_id_dup(notary_auth);
  snprintf(notary_id, sizeof notary_id, "%s", nid);
  free(nid);
  nid = ot_nym_id_dup(client_auth);
  snprintf(client_id, sizeof client_id, "%s", nid);
  free(nid);
  o_client_auth = ossl_key_from_ot(client_auth);
  o_client_enc = ossl_key_from_ot(client_enc);
  o_notary_auth = ossl_key_from_ot(notary_auth);
  o_notary_enc = ossl_key_from_ot(notary_enc);

  /* servers: bound here, served by one thread each */
  echo_job ej = {zmq_socket(zctx, ZMQ_REP), 0};
  int linger = 0;
  zmq_setsockopt(ej.sock, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_bind(ej.sock, "tcp://127.0.0.1:*") != 0) bench_die("zmq_bind: %s", zmq_strerror(errno));
  size_t epl = sizeof echo_ep;
  zmq_getsockopt(ej.sock, ZMQ_LAST_ENDPOINT, echo_ep, &epl);
  ot_session_options *nopts = NULL;
  OT_TRY(ot_session_options_new(&nopts));
  notary_job nj = {NULL, 0, 0};
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", notary_auth, notary_enc, notary_id, nopts, &nj.notary));
  ot_buffer *ep = NULL;
  OT_TRY(ot_notary_endpoint(nj.notary, &ep));
  snprintf(notary_ep, sizeof notary_ep, "%s", (const char *)ot_buffer_data(ep));
  ot_buffer_free(ep);
  echo_job lj = {zmq_socket(zctx, ZMQ_REP), 0};
  zmq_setsockopt(lj.sock, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_bind(lj.sock, "tcp://127.0.0.1:*") != 0) bench_die("zmq_bind: %s", zmq_strerror(errno));
  epl = sizeof legacy_ep;
  zmq_getsockopt(lj.sock, ZMQ_LAST_ENDPOINT, legacy_ep, &epl);
  pthread_t et, nt, lt;
  pthread_create(&et, NULL, echo_thread, &ej);
  pthread_create(&nt, NULL, notary_thread, &nj);
  pthread_create(&lt, NULL, legacy_notary_thread, &lj);

  /* the two pipelines interoperate: ours -> the OpenSSL-side notary and back */
  {
    size_t fl = 0, cl = 0;
    char *frame = legacy_request_frame((const uint8_t *)"interop check\n", 14, &fl);
    CHECK_OR_DIE(frame != NULL, "OpenSSL-side request frame");
    void *probe = zmq_socket(zctx, ZMQ_REQ);
    int rcvtimeo = 10000;
    zmq_setsockopt(probe, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(probe, ZMQ_RCVTIMEO, &rcvtimeo, sizeof rcvtimeo);
    if (zmq_connect(probe, notary_ep) != 0) bench_die("zmq_connect: %s", zmq_strerror(errno));
    CHECK_OR_DIE(zmq_send(probe, frame, fl, 0) == (int)fl, "send the OpenSSL-side request to ot_notary");
    zmq_msg_t m;
    zmq_msg_init(&m);
    CHECK_OR_DIE(zmq_msg_recv(&m, probe, 0) >= 0, "ot_notary answers the OpenSSL-side request");
    uint8_t *content = legacy_read_reply(zmq_msg_data(&m), zmq_msg_size(&m), &cl);
    CHECK_OR_DIE(content && cl == 14 && memcmp(content, "interop check\n", 14) == 0,
                 "the OpenSSL-side client opens and verifies ot_notary's reply");
    free(content);
    zmq_msg_close(&m);
    zmq_close(probe);
    free(frame);
    ot_session_options *po = NULL;
    ot_session *ps = NULL;
    ot_buffer *reply = NULL;
    OT_TRY(ot_session_options_new(&po));
    OT_TRY(ot_session_options_set(po, "latency_delay_after", 0));
    OT_TRY(ot_session_new(legacy_ep, po, &ps));
    OT_TRY(ot_session_set_identity(ps, client_auth, client_enc));
    OT_TRY(ot_session_set_notary(ps, notary_id, notary_enc_pub, notary_auth_pub));
    OT_TRY(ot_session_request(ps, (const uint8_t *)"interop check\n", 14, &reply));
    CHECK_OR_DIE(ot_buffer_len(reply) == 14 && memcmp(ot_buffer_data(reply), "interop check\n", 14) == 0,
                 "ot_session_request gets its content back from the OpenSSL-side notary");
    ot_buffer_free(reply);
    ot_session_free(ps);
    ot_session_options_free(po);
    printf("interop: ot_session_request <-> OpenSSL-side notary and OpenSSL-side client <-> ot_notary: ok\n");
  }

  int zma = 0, zmi = 0, zpa = 0;
  zmq_version(&zma, &zmi, &zpa);
  printf("bench_transport: tcp loopback, libzmq %d.%d.%d, RSA-2048, %.2f s x %d round(s) per row\n", zma, zmi, zpa,
         duration, rounds);
  printf("  server side: ONE thread (a bare libzmq REP echo thread for libzmq/exchange; one ot_notary thread\n"
         "  for request); clients: 1 or 4 threads, each with its own REQ socket / ot_session\n");
  printf("\n%-9s %7s %4s %6s %8s %10s %10s %10s   %-15s\n", "impl", "payload", "cli", "delay", "requests",
         "median_us", "p99_us", "req/s", "vs libzmq: rps  median");

  FILE *ltsv = tsv_open("legacy.tsv", "payload\tclients\trequest_rps\tlegacy_rps\trps_ratio\trequest_median_us\t"
                                     "legacy_median_us\tmedian_ratio");
  tsv = tsv_open("transport.tsv", "impl\tpayload\tclients\tdelay_after_ms\trequests\tmedian_us\tp99_us\trps\t"
                                  "rps_ratio_vs_libzmq\tmedian_ratio_vs_libzmq\terrors");
  size_t lens[2] = {1 * KiB, 64 * KiB};
  int nclients[2] = {1, 4};
  char *payloads[2] = {make_text(lens[0]), make_text(lens[1])};
  long total_errors = 0;
  for (int li = 0; li < 2; li++) {
    for (int ci = 0; ci < 2; ci++) {
      samples acc[N_IMPL];
      memset(acc, 0, sizeof acc);
      for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < N_IMPL; k++) {
          impl_t impl = (impl_t)(r % 2 == 0 ? k : N_IMPL - 1 - k);
          run_clients(impl, (const uint8_t *)payloads[li], lens[li], nclients[ci], 0, duration, &acc[impl]);
        }
      }
      stats base = summarize(&acc[IMPL_ZMQ]);
      for (int k = 0; k < N_IMPL; k++) {
        report((impl_t)k, lens[li], nclients[ci], 0, &acc[k], k == 0 ? NULL : &base);
        total_errors += acc[k].errors;
      }
      /* the headline: our full request pipeline against the same pipeline on OpenSSL + libzmq */
      stats rq = summarize(&acc[IMPL_REQUEST]), lg = summarize(&acc[IMPL_LEGACY]);
      double rr = lg.rps > 0 ? rq.rps / lg.rps : 0, mr = rq.median > 0 ? lg.median / rq.median : 0;
      printf("  => request vs legacy OpenSSL+libzmq pipeline (%zuK, %d client%s): req/s ratio %.3f, "
             "median-latency ratio %.3f\n",
             lens[li] / 1024, nclients[ci], nclients[ci] == 1 ? "" : "s", rr, mr);
      fprintf(ltsv, "%zu\t%d\t%.2f\t%.2f\t%.6f\t%.2f\t%.2f\t%.6f\n", lens[li], nclients[ci], rq.rps, lg.rps, rr,
              rq.median, lg.median, mr);
      fflush(ltsv);
      for (int k = 0; k < N_IMPL; k++) free(acc[k].v);
    }
  }
  /* the legacy default pause between send and the first receive poll */
  printf("with the legacy default latency_delay_after = 50 ms (1 KiB, 1 client; ratios vs the same row at 0):\n");
  for (int k = 1; k < 3; k++) {
    samples s0, s50;
    memset(&s0, 0, sizeof s0);
    memset(&s50, 0, sizeof s50);
    run_clients((impl_t)k, (const uint8_t *)payloads[0], lens[0], 1, 0, duration, &s0);
    run_clients((impl_t)k, (const uint8_t *)payloads[0], lens[0], 1, 50, duration, &s50);
    stats b0 = summarize(&s0);
    report((impl_t)k, lens[0], 1, 50, &s50, &b0);
    total_errors += s0.errors + s50.errors;
    free(s0.v);
    free(s50.v);
  }
  printf("(rps ratio = ours req/s / libzmq req/s; median ratio = libzmq median / ours median; >1 = ours faster)\n");

  atomic_store(&stop_servers, 1);
  pthread_join(et, NULL);
  pthread_join(nt, NULL);
  pthread_join(lt, NULL);
  printf("servers: echo served %ld, notary served %ld (errors %ld), legacy OpenSSL notary served %ld\n", ej.served,
         nj.served, nj.errors, lj.served);
  total_errors += nj.errors;
  fclose(tsv);
  fclose(ltsv);
  zmq_close(ej.sock);
  zmq_close(lj.sock);
  EVP_PKEY_free(o_client_auth);
  EVP_PKEY_free(o_client_enc);
  EVP_PKEY_free(o_notary_auth);
  EVP_PKEY_free(o_notary_enc);
  ot_notary_free(nj.notary);
  ot_session_options_free(nopts);
  free(payloads[0]);
  free(payloads[1]);
  ot_key_free(client_auth);
  ot_key_free(client_enc);
  ot_key_free(client_auth_pub);
  ot_key_free(client_enc_pub);
  ot_key_free(notary_auth);
  ot_key_free(notary_enc);
  ot_key_free(notary_auth_pub);
  ot_key_free(notary_enc_pub);
  zmq_ctx_term(zctx);
  zmq_ctx_term(cctx);
  ossl_cleanup();
  if (total_errors) {
    fprintf(stderr, "bench_transport: %ld failed round trips\n", total_errors);
    return 1;
  }
  return 0;
}
