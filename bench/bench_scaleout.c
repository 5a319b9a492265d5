/* Scale-out benchmark (issue 10): requests/s through a broker with 1, 2 and 4 worker threads,
 * against the same notary without a broker, and the broker's added latency per request.
 *
 * The notary's keys are RSA-2048 and the clients' RSA-1024, and replies are sent unsealed (the
 * legacy MESSAGE form), so that the work per request is dominated by the notary's two RSA-2048
 * private operations (open the request, sign the reply): "RSA-bound requests". Clients are 8 v2
 * sessions with 4 requests in flight each. Output: lines, and bench/results/scaleout.tsv. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char *n_id;
static volatile int stop_flag;

static void *worker_main(void *arg) {
  /* replies are sent unsealed (legacy MESSAGE form) so the notary's own work dominates */
  ot_notary *w = arg;
  while (!stop_flag) {
    ot_request *req = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(w, 20, &req) != OT_OK) continue;
    if (ot_request_verify(req, c_auth, &c) == OT_OK) {
      ot_notary_reply(w, req, ot_buffer_data(c), ot_buffer_len(c), NULL);
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  return NULL;
}

typedef struct {
  const char *ep;
  int depth;
  double until;
  long done;
  double lat_sum;
} client_job;

static void *client_main(void *arg) {
  client_job *j = arg;
  ot_session_options *o = NULL;
  ot_session *s = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "protocol", 1));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  OT_TRY(ot_session_options_set(o, "latency_receive_ms", 30000));
  OT_TRY(ot_session_new(j->ep, o, &s));
  OT_TRY(ot_session_set_identity(s, c_auth, c_enc));
  OT_TRY(ot_session_set_notary(s, n_id, n_enc, n_auth));
  int inflight = 0;
  double sent_at[64];
  uint64_t ids[64];
  while (now_s() < j->until || inflight > 0) {
    while (inflight < j->depth && now_s() < j->until) {
      OT_TRY(ot_session_send(s, (const uint8_t *)"<bench/>\n", 9, &ids[inflight]));
      sent_at[inflight] = now_s();
      inflight++;
    }
    uint64_t id;
    ot_result status;
    ot_buffer *r = NULL;
    OT_TRY(ot_session_receive(s, 60000, &id, &status, &r));
    if (status != OT_OK) bench_die("request failed: %s", ot_result_str(status));
    ot_buffer_free(r);
    for (int i = 0; i < inflight; i++)
      if (ids[i] == id) {
        j->lat_sum += now_s() - sent_at[i];
        ids[i] = ids[inflight - 1];
        sent_at[i] = sent_at[inflight - 1];
        break;
      }
    inflight--;
    j->done++;
  }
  ot_session_free(s);
  ot_session_options_free(o);
  return NULL;
}

/* Runs `clients` clients against `ep` for the configured time; returns req/s, *lat = mean s. */
static double drive(const char *ep, int clients, int depth, double *lat) {
  client_job jobs[16];
  pthread_t th[16];
  double secs = bench_seconds() * 3, t0 = now_s();
  for (int i = 0; i < clients; i++) {
    jobs[i] = (client_job){ep, depth, t0 + secs, 0, 0};
    pthread_create(&th[i], NULL, client_main, &jobs[i]);
  }
  long done = 0;
  double ls = 0;
  for (int i = 0; i < clients; i++) {
    pthread_join(th[i], NULL);
    done += jobs[i].done;
    ls += jobs[i].lat_sum;
  }
  *lat = done ? ls / done : 0;
  return done / (now_s() - t0);
}

static double run_direct(int clients, int depth, double *lat) {
  ot_notary *n = NULL;
  ot_buffer *b = NULL;
  char ep[128];
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  OT_TRY(ot_notary_endpoint(n, &b));
  snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  stop_flag = 0;
  pthread_t t;
  pthread_create(&t, NULL, worker_main, n);
  double r = drive(ep, clients, depth, lat);
  stop_flag = 1;
  pthread_join(t, NULL);
  ot_notary_free(n);
  return r;
}

static double run_broker(int workers, int clients, int depth, double *lat) {
  ot_broker *br = NULL;
  ot_buffer *b = NULL;
  char fe[128], be[128];
  /* The backend as deployed: CURVE, admitting only the workers' key. */
  ot_buffer *bpub = NULL, *bsec = NULL, *wpub = NULL, *wsec = NULL;
  ot_session_options *wo = NULL;
  OT_TRY(ot_curve_keypair(&bpub, &bsec));
  OT_TRY(ot_curve_keypair(&wpub, &wsec));
  OT_TRY(ot_session_options_new(&wo));
  OT_TRY(ot_session_options_set_curve_client(wo, (const char *)ot_buffer_data(bpub), (const char *)ot_buffer_data(wpub),
                                             (const char *)ot_buffer_data(wsec)));
  OT_TRY(ot_broker_new_secure("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL, (const char *)ot_buffer_data(bsec),
                              (const char *)ot_buffer_data(wpub), &br));
  OT_TRY(ot_broker_frontend(br, &b));
  snprintf(fe, sizeof fe, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  OT_TRY(ot_broker_backend(br, &b));
  snprintf(be, sizeof be, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  ot_notary *w[4];
  pthread_t t[4];
  stop_flag = 0;
  for (int i = 0; i < workers; i++) {
    OT_TRY(ot_notary_connect(be, n_auth, n_enc, n_id, wo, &w[i]));
    pthread_create(&t[i], NULL, worker_main, w[i]);
  }
  ot_broker_stats st;
  double t0 = now_s();
  do {
    OT_TRY(ot_broker_get_stats(br, &st));
  } while (st.workers < (uint64_t)workers && now_s() - t0 < 10);
  double r = drive(fe, clients, depth, lat);
  stop_flag = 1;
  for (int i = 0; i < workers; i++) {
    pthread_join(t[i], NULL);
    ot_notary_free(w[i]);
  }
  ot_broker_free(br);
  ot_session_options_free(wo);
  ot_buffer_free(bpub);
  ot_buffer_free(bsec);
  ot_buffer_free(wpub);
  ot_buffer_free(wsec);
  return r;
}

int main(void) {
  OT_TRY(ot_key_generate(1024, &c_auth));
  OT_TRY(ot_key_generate(1024, &c_enc));
  OT_TRY(ot_key_generate(2048, &n_auth));
  OT_TRY(ot_key_generate(2048, &n_enc));
  n_id = ot_nym_id_dup(n_auth);
  FILE *tsv = tsv_open("scaleout.tsv", "row\treq_per_s\tratio_to_1_worker\tmean_latency_ms\n");
  printf("bench_scaleout: notary RSA-2048 (clients RSA-1024, unsealed replies), 8 v2 clients x 4 in flight,\n"
         "%.1f s per row, tcp loopback\n\n", bench_seconds() * 3);
  double lat, lat1;
  double direct = run_direct(8, 4, &lat);
  printf("%-36s %9.1f req/s\n", "notary without broker (1 thread)", direct);
  fprintf(tsv, "direct\t%.1f\t-\t%.2f\n", direct, lat * 1e3);
  const char *suites[2] = {"RSA-2048", "suite v3"};
  for (int suite = 0; suite < 2; suite++) {
    if (suite == 1) {
      /* suite v3 keys on both sides: Ed25519 signatures, X25519 type-3 envelopes */
      ot_key_free(c_auth);
      ot_key_free(c_enc);
      ot_key_free(n_auth);
      ot_key_free(n_enc);
      free(n_id);
      OT_TRY(ot_key_generate_ed25519(&c_auth));
      OT_TRY(ot_key_generate_x25519(&c_enc));
      OT_TRY(ot_key_generate_ed25519(&n_auth));
      OT_TRY(ot_key_generate_x25519(&n_enc));
      n_id = ot_nym_id_dup(n_auth);
      direct = run_direct(8, 4, &lat);
      printf("%-36s %9.1f req/s\n", "suite v3: notary without broker", direct);
      fprintf(tsv, "v3_direct\t%.1f\t-\t%.2f\n", direct, lat * 1e3);
    }
    double one = 0;
    int counts[3] = {1, 2, 4};
    for (int k = 0; k < 3; k++) {
      double r = run_broker(counts[k], 8, 4, &lat);
      if (k == 0) one = r;
      char label[64];
      snprintf(label, sizeof label, "%s: broker + %d worker%s", suites[suite], counts[k], counts[k] > 1 ? "s" : "");
      printf("%-36s %9.1f req/s   %.2fx one worker\n", label, r, r / one);
      fprintf(tsv, "%sbroker_%d_workers\t%.1f\t%.3f\t%.2f\n", suite ? "v3_" : "", counts[k], r, r / one,
              lat * 1e3);
    }
  }
  /* Added latency: one client, one request at a time, with and without the broker. */
  run_direct(1, 1, &lat1);
  run_broker(1, 1, 1, &lat);
  printf("%-36s %9.3f ms (%.3f ms direct, %.3f ms through the broker)\n", "broker's added latency per request",
         (lat - lat1) * 1e3, lat1 * 1e3, lat * 1e3);
  fprintf(tsv, "added_latency\t-\t-\t%.3f\n", (lat - lat1) * 1e3);
  fclose(tsv);
  free(n_id);
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  return 0;
}
