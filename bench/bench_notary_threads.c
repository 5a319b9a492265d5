/* One notary, served by 1 or 2 application threads (ot_notary_receive / ot_notary_reply on the
 * same notary at once), RSA-2048 and suite v3 keys, tcp loopback, in one run.
 *
 * The clients are cheap on purpose, so that the notary's work is what is measured on a 2-core
 * machine: 4 bare libzmq DEALERs send ready-made v2 REQ frames (signed and sealed once, each
 * frame sent with a fresh request id, so the notary opens every one: a new id is a new request)
 * with 16 in flight each, and count the REP frames without opening them. Each request costs the
 * notary: open (RSA private decrypt / X25519), verify (the client's signature), sign the reply
 * (RSA private / Ed25519), seal it (RSA public / X25519).
 *
 * The machine's own ceiling is measured in the same run: OpenSSL signing with one RSA-2048 key on
 * 1 vs 2 threads (EVP_PKEY_sign, nothing of ours), so a ratio below 2 can be read against what
 * the cores give at that moment.
 *
 * Output: one line per row, and bench/results/notary_threads.tsv. BENCH_SECONDS / BENCH_QUICK as
 * the other benchmarks. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>
#include <zmq.h>

typedef struct {
  ot_notary *notary;
  const ot_key *client_auth, *client_enc;
  volatile int *stop;
} server_arg;

static void *serve(void *p) {
  server_arg *a = p;
  while (!*a->stop) {
    ot_request *req = NULL;
    if (ot_notary_receive(a->notary, 20, &req) != OT_OK) continue;
    ot_buffer *c = NULL;
    if (ot_request_verify(req, a->client_auth, &c) == OT_OK) {
      ot_notary_reply(a->notary, req, ot_buffer_data(c), ot_buffer_len(c), a->client_enc);
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  return NULL;
}

typedef struct {
  const char *endpoint;
  const uint8_t *frame;
  size_t frame_len;
  double seconds;
  uint64_t done;
  uint64_t base;
} client_arg;

/* One DEALER: 16 requests in flight, a fresh id for each; counts REPs for `seconds`. */
static void *client(void *p) {
  client_arg *a = p;
  void *ctx = zmq_ctx_new();
  void *d = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
  zmq_connect(d, a->endpoint);
  uint64_t next = a->base;
  int in_flight = 0;
  double end = now_s() + a->seconds;
  while (now_s() < end) {
    while (in_flight < 16) {
      uint8_t id[8];
      for (int i = 0; i < 8; i++) id[i] = (uint8_t)(next >> (56 - 8 * i));
      next++;
      zmq_send(d, "OTv2", 4, ZMQ_SNDMORE);
      zmq_send(d, "REQ", 3, ZMQ_SNDMORE);
      zmq_send(d, id, 8, ZMQ_SNDMORE);
      zmq_send(d, a->frame, a->frame_len, 0);
      in_flight++;
    }
    zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 100) <= 0) continue;
    int more = 1;
    char cmd[8] = {0};
    int part = 0;
    while (more) {
      zmq_msg_t m;
      zmq_msg_init(&m);
      if (zmq_msg_recv(&m, d, 0) < 0) { zmq_msg_close(&m); break; }
      if (part == 1 && zmq_msg_size(&m) < sizeof cmd) memcpy(cmd, zmq_msg_data(&m), zmq_msg_size(&m));
      more = zmq_msg_more(&m);
      zmq_msg_close(&m);
      part++;
    }
    if (strcmp(cmd, "REP") == 0 || strcmp(cmd, "ERR") == 0) {
      in_flight--;
      if (cmd[0] == 'R') a->done++;
    }
  }
  zmq_close(d);
  zmq_ctx_term(ctx);
  return NULL;
}

typedef struct {
  EVP_PKEY *key;
  double seconds;
  uint64_t done;
} ossl_arg;

static void *ossl_sign(void *p) {
  ossl_arg *a = p;
  unsigned char md[32] = {1}, sig[512];
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(a->key, NULL);
  if (!ctx || EVP_PKEY_sign_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0)
    bench_die("OpenSSL sign init");
  double end = now_s() + a->seconds;
  while (now_s() < end) {
    size_t len = sizeof sig;
    if (EVP_PKEY_sign(ctx, sig, &len, md, sizeof md) <= 0) bench_die("OpenSSL sign");
    a->done++;
  }
  EVP_PKEY_CTX_free(ctx);
  return NULL;
}

/* OpenSSL RSA-2048 signatures per second on `threads` threads sharing one key. */
static double ossl_run(EVP_PKEY *key, int threads, double seconds) {
  ossl_arg a[2];
  pthread_t t[2];
  for (int i = 0; i < threads; i++) {
    a[i] = (ossl_arg){key, seconds, 0};
    pthread_create(&t[i], NULL, ossl_sign, &a[i]);
  }
  uint64_t total = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += a[i].done;
  }
  return (double)total / seconds;
}

/* Requests per second served with `threads` application threads. */
static double run(const ot_key *n_auth, const ot_key *n_enc, const ot_key *c_auth, const ot_key *c_enc,
                  int threads, double seconds) {
  ot_buffer *id = NULL, *ep = NULL, *text = NULL, *frame = NULL;
  ot_notary *n = NULL;
  ot_envelope *env = NULL;
  OT_TRY(ot_key_nym_id(n_enc, &id));
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, (const char *)ot_buffer_data(id), NULL, &n));
  OT_TRY(ot_notary_endpoint(n, &ep));
  const char *msg = "<OTmessage>\nbench request\n</OTmessage>\n";
  OT_TRY(ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), c_auth, NULL, &text));
  ot_recipient to = {(const char *)ot_buffer_data(id), n_enc};
  OT_TRY(ot_envelope_seal(&to, 1, ot_buffer_data(text), ot_buffer_len(text), &env));
  OT_TRY(ot_envelope_to_armor(env, 0, &frame));
  volatile int stop = 0;
  server_arg sa = {n, c_auth, c_enc, &stop};
  pthread_t srv[2];
  for (int i = 0; i < threads; i++) pthread_create(&srv[i], NULL, serve, &sa);
  enum { CLIENTS = 4 };
  client_arg ca[CLIENTS];
  pthread_t cl[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) {
    ca[i] = (client_arg){(const char *)ot_buffer_data(ep), ot_buffer_data(frame), ot_buffer_len(frame),
                         seconds, 0, (uint64_t)(i + 1) << 40};
    pthread_create(&cl[i], NULL, client, &ca[i]);
  }
  uint64_t total = 0;
  for (int i = 0; i < CLIENTS; i++) {
    pthread_join(cl[i], NULL);
    total += ca[i].done;
  }
  stop = 1;
  for (int i = 0; i < threads; i++) pthread_join(srv[i], NULL);
  ot_notary_free(n);
  ot_buffer_free(frame);
  ot_envelope_free(env);
  ot_buffer_free(text);
  ot_buffer_free(ep);
  ot_buffer_free(id);
  return (double)total / seconds;
}

int main(void) {
  write_meta("notary_threads");
  double seconds = bench_quick() ? 1.0 : 4.0;
  char path[512];
  snprintf(path, sizeof path, "%s/notary_threads.tsv", getenv("BENCH_OUT_DIR") ? getenv("BENCH_OUT_DIR") : ".");
  FILE *tsv = fopen(path, "w");
  if (tsv) fprintf(tsv, "suite\tthreads\trequests_per_s\n");
  {
    EVP_PKEY *key = EVP_RSA_gen(2048);
    if (!key) bench_die("EVP_RSA_gen");
    double one = 0, two = 0;
    int rounds = bench_quick() ? 1 : 2;
    for (int r = 0; r < rounds; r++) {
      one += ossl_run(key, 1, seconds / 2);
      two += ossl_run(key, 2, seconds / 2);
    }
    one /= rounds;
    two /= rounds;
    printf("openssl  rsa2048 sign  1 thread %8.0f /s     2 threads %8.0f /s     ratio %.2fx  (the machine's ceiling)\n",
           one, two, two / one);
    if (tsv) fprintf(tsv, "openssl_sign\t1\t%.0f\nopenssl_sign\t2\t%.0f\n", one, two);
    EVP_PKEY_free(key);
  }
  for (int v3 = 0; v3 <= 1; v3++) {
    ot_key *n_auth = NULL, *n_enc = NULL, *c_auth = NULL, *c_enc = NULL;
    if (v3) {
      OT_TRY(ot_key_generate_ed25519(&n_auth));
      OT_TRY(ot_key_generate_x25519(&n_enc));
      OT_TRY(ot_key_generate_ed25519(&c_auth));
      OT_TRY(ot_key_generate_x25519(&c_enc));
    } else {
      OT_TRY(ot_key_generate(2048, &n_auth));
      OT_TRY(ot_key_generate(2048, &n_enc));
      OT_TRY(ot_key_generate(2048, &c_auth));
      OT_TRY(ot_key_generate(2048, &c_enc));
    }
    const char *suite = v3 ? "v3" : "rsa2048";
    /* Interleaved rounds, 1 then 2 threads, so machine noise hits both alike. */
    double one = 0, two = 0;
    int rounds = bench_quick() ? 1 : 2;
    for (int r = 0; r < rounds; r++) {
      one += run(n_auth, n_enc, c_auth, c_enc, 1, seconds);
      two += run(n_auth, n_enc, c_auth, c_enc, 2, seconds);
    }
    one /= rounds;
    two /= rounds;
    printf("notary %-8s 1 thread %8.0f req/s   2 threads %8.0f req/s   ratio %.2fx\n", suite, one, two,
           two / one);
    if (tsv) fprintf(tsv, "%s\t1\t%.0f\n%s\t2\t%.0f\n", suite, one, suite, two);
    ot_key_free(n_auth);
    ot_key_free(n_enc);
    ot_key_free(c_auth);
    ot_key_free(c_enc);
  }
  if (tsv) fclose(tsv);
  return 0;
}
