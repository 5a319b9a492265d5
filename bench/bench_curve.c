/* What CURVE costs transport v2: the same notary, the same v2 session code, with and without
 * CURVE, in one run with interleaved rounds (tcp loopback).
 *
 * The notary listens on a plain endpoint and on a CURVE endpoint (ot_notary_bind_curve). One
 * session has `curve_policy` 0 (plain), the other the default 1: it verifies the notary's
 * transport key and talks CURVE. Rows:
 *   - v3 request 1 KiB, 1 in flight (ot_session_request): sign, seal, send, open, verify, reply;
 *   - v3 requests 1 KiB, 16 in flight (ot_session_send / ot_session_receive);
 *   - v2 exchange 64 KiB, 1 in flight, RSA-2048 identities (CURVE's per-byte cost shows).
 * Ratio = with CURVE / without (target for the v3 request: >= 0.9).
 *
 * Output: one line per row, and bench/results/curve.tsv. BENCH_SECONDS / BENCH_QUICK as the
 * other benchmarks. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>

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
  const char *name;
  ot_key *c_auth, *c_enc, *n_auth, *n_enc;
  char n_id[128];
  size_t size;
  int depth;
} row;

static ot_session *open_session(const row *r, const char *ep, int policy) {
  ot_session_options *o = NULL;
  ot_session *s = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "protocol", 1));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  OT_TRY(ot_session_options_set(o, "curve_policy", policy));
  OT_TRY(ot_session_new(ep, o, &s));
  ot_session_options_free(o);
  OT_TRY(ot_session_set_identity(s, r->c_auth, r->c_enc));
  OT_TRY(ot_session_set_notary(s, r->n_id, r->n_enc, r->n_auth));
  return s;
}

/* Requests per second for `seconds` on session `s`: `depth` in flight. */
static double drive(ot_session *s, const uint8_t *msg, size_t len, int depth, double seconds) {
  long done = 0;
  int in_flight = 0;
  double t0 = now_s(), end = t0 + seconds;
  if (depth == 1) {
    while (now_s() < end) {
      ot_buffer *r = NULL;
      OT_TRY(ot_session_request(s, msg, len, &r));
      ot_buffer_free(r);
      done++;
    }
    return done / (now_s() - t0);
  }
  for (;;) {
    while (in_flight < depth && now_s() < end) {
      uint64_t id;
      OT_TRY(ot_session_send(s, msg, len, &id));
      in_flight++;
    }
    if (in_flight == 0) break;
    uint64_t id;
    ot_result st;
    ot_buffer *r = NULL;
    OT_TRY(ot_session_receive(s, 10000, &id, &st, &r));
    CHECK_OR_DIE(st == OT_OK, "a pipelined request failed");
    ot_buffer_free(r);
    in_flight--;
    done++;
  }
  return done / (now_s() - t0);
}

static void run_row(row *r, FILE *tsv) {
  ot_notary *n = NULL;
  ot_buffer *b = NULL;
  char ep[128];
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", r->n_auth, r->n_enc, r->n_id, NULL, &n));
  OT_TRY(ot_notary_endpoint(n, &b));
  snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  OT_TRY(ot_notary_bind_curve(n, "tcp://127.0.0.1:*", NULL, &b));
  ot_buffer_free(b);
  volatile int stop = 0;
  server_arg a = {n, r->c_auth, r->c_enc, &stop};
  pthread_t t;
  pthread_create(&t, NULL, serve, &a);
  ot_session *plain = open_session(r, ep, 0), *curve = open_session(r, ep, 1);
  uint8_t *msg = malloc(r->size);
  for (size_t i = 0; i < r->size; i++) msg[i] = (i % 64 == 63) ? '\n' : (uint8_t)('a' + i % 26);
  msg[r->size - 1] = '\n'; /* lines of 64: a legacy reader cuts lines longer than 2046 */
  /* warm both (the CURVE one verifies the key and moves to the CURVE endpoint here) */
  drive(plain, msg, r->size, r->depth, 0.05);
  drive(curve, msg, r->size, r->depth, 0.05);
  uint64_t on_curve = 0;
  OT_TRY(ot_session_counter(curve, "curve", &on_curve));
  CHECK_OR_DIE(on_curve == 1, "the CURVE session did not move to CURVE");
  double sum_p = 0, sum_c = 0, secs = bench_seconds();
  int rounds = bench_rounds();
  for (int k = 0; k < rounds; k++) {
    sum_p += drive(plain, msg, r->size, r->depth, secs);
    sum_c += drive(curve, msg, r->size, r->depth, secs);
  }
  double p = sum_p / rounds, c = sum_c / rounds;
  printf("%-52s  plain %9.0f/s  CURVE %9.0f/s  ratio %.3f\n", r->name, p, c, c / p);
  fprintf(tsv, "%s\t%.1f\t%.1f\t%.4f\n", r->name, p, c, c / p);
  fflush(stdout);
  free(msg);
  ot_session_free(plain);
  ot_session_free(curve);
  stop = 1;
  pthread_join(t, NULL);
  ot_notary_free(n);
}

static void ids(row *r, int v3) {
  if (v3) {
    OT_TRY(ot_key_generate_ed25519(&r->c_auth));
    OT_TRY(ot_key_generate_x25519(&r->c_enc));
    OT_TRY(ot_key_generate_ed25519(&r->n_auth));
    OT_TRY(ot_key_generate_x25519(&r->n_enc));
  } else {
    OT_TRY(ot_key_generate(2048, &r->c_auth));
    OT_TRY(ot_key_generate(2048, &r->c_enc));
    OT_TRY(ot_key_generate(2048, &r->n_auth));
    OT_TRY(ot_key_generate(2048, &r->n_enc));
  }
  ot_buffer *b = NULL;
  OT_TRY(ot_key_nym_id(r->n_auth, &b));
  snprintf(r->n_id, sizeof r->n_id, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
}

static void free_ids(row *r) {
  ot_key_free(r->c_auth);
  ot_key_free(r->c_enc);
  ot_key_free(r->n_auth);
  ot_key_free(r->n_enc);
}

int main(void) {
  FILE *tsv = tsv_open("curve.tsv", "row\tplain_per_s\tcurve_per_s\tratio");
  write_meta("curve");
  printf("CURVE cost, transport v2 (same notary, same session code; interleaved rounds)\n");
  row v3_1 = {.name = "v3 request 1 KiB, 1 in flight", .size = 1024, .depth = 1};
  ids(&v3_1, 1);
  run_row(&v3_1, tsv);
  row v3_16 = v3_1;
  v3_16.name = "v3 requests 1 KiB, 16 in flight";
  v3_16.depth = 16;
  run_row(&v3_16, tsv);
  free_ids(&v3_1);
  row rsa = {.name = "v2 exchange 64 KiB, RSA-2048, 1 in flight", .size = 64 * 1024, .depth = 1};
  ids(&rsa, 0);
  run_row(&rsa, tsv);
  free_ids(&rsa);
  fclose(tsv);
  return 0;
}
