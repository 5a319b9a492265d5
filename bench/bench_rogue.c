/* Honest clients' rate through a broker while rogue peers work its backend, against the same
 * broker calm, in one run (issue 17: "the rogue-worker scenarios leave honest clients at >= 0.9x
 * their calm rate with zero failed requests").
 *
 * A broker whose backend admits only the listed worker key, 2 worker threads (suite v3 keys, so
 * that the broker's work shows), 4 v2 clients with 8 requests in flight each, request after
 * request for a fixed time. Phases, interleaved over rounds:
 *   - calm;
 *   - 8 rogue backend peers (raw libzmq DEALERs: 4 without CURVE, 4 with unlisted CURVE keys),
 *     reconnecting and sending READY, junk, forged ERRs and pushes as fast as libzmq lets them;
 *   - the same plus 1 peer holding the listed worker key (a stolen key) that announces itself,
 *     heartbeats, and answers whatever it is handed with junk and forged ERRs for the client's next
 *     ids: what the broker still lets such a peer do (requests handed to it come back by resend).
 * Output: honest requests/s, ratio to calm, failed requests, the broker's refused handshakes and
 * unexpected messages; bench/results/rogue.tsv. */
#include "bench_common.h" /* first: it sets _GNU_SOURCE */

#include <pthread.h>
#include <zmq.h>

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char n_id[128];
static volatile int stop_workers, stop_rogues;
static char backend[128], backend_pub[41], worker_pub[41], worker_sec[41];

static void *worker_main(void *arg) {
  ot_notary *w = arg;
  while (!stop_workers) {
    ot_request *req = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(w, 20, &req) != OT_OK) continue;
    if (ot_request_verify(req, c_auth, &c) == OT_OK) {
      ot_notary_reply(w, req, ot_buffer_data(c), ot_buffer_len(c), c_enc);
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  return NULL;
}

typedef struct {
  const char *ep;
  double until;
  long done, failed;
} client_job;

static void *client_main(void *arg) {
  client_job *j = arg;
  ot_session_options *o = NULL;
  ot_session *s = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "protocol", 1));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  /* a resend after 200 + 400 ms, 3 resends: a request a rogue swallowed comes back quickly */
  OT_TRY(ot_session_options_set(o, "latency_receive_ms", 200));
  OT_TRY(ot_session_options_set(o, "latency_receive_no_tries", 2));
  OT_TRY(ot_session_options_set(o, "max_resends", 3));
  OT_TRY(ot_session_new(j->ep, o, &s));
  ot_session_options_free(o);
  OT_TRY(ot_session_set_identity(s, c_auth, c_enc));
  OT_TRY(ot_session_set_notary(s, n_id, n_enc, n_auth));
  int inflight = 0;
  while (now_s() < j->until || inflight > 0) {
    while (inflight < 8 && now_s() < j->until) {
      uint64_t id;
      OT_TRY(ot_session_send(s, (const uint8_t *)"<bench/>\n", 9, &id));
      inflight++;
    }
    uint64_t id;
    ot_result st;
    ot_buffer *r = NULL;
    if (ot_session_receive(s, 10000, &id, &st, &r) != OT_OK) continue;
    inflight--;
    if (st == OT_OK) j->done++;
    else j->failed++;
    ot_buffer_free(r);
  }
  ot_session_free(s);
  return NULL;
}

static void send_frames(void *s, const char **f, const size_t *n, int count) {
  for (int i = 0; i < count; i++) zmq_send(s, f[i], n[i], (i + 1 < count ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
}

/* A rogue backend peer: kind 0 no CURVE, 1 an unlisted CURVE key, 2 the listed (stolen) key. */
static void *rogue_main(void *arg) {
  int kind = (int)(intptr_t)arg;
  void *ctx = zmq_ctx_new();
  while (!stop_rogues) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    if (kind >= 1) {
      char pub[41], sec[41];
      if (kind == 1) zmq_curve_keypair(pub, sec);
      else {
        memcpy(pub, worker_pub, 41);
        memcpy(sec, worker_sec, 41);
      }
      zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, backend_pub, 40);
      zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40);
      zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40);
    }
    zmq_connect(s, backend);
    double end = now_s() + (kind == 2 ? 3600 : 0.5); /* unlisted peers reconnect every 0.5 s */
    double next_hb = 0;
    while (!stop_rogues && now_s() < end) {
      if (now_s() >= next_hb) {
        const char *f[] = {"OTb1", "B", next_hb == 0 ? "READY" : "HB"};
        size_t n[] = {4, 1, next_hb == 0 ? 5 : 2};
        send_frames(s, f, n, 3);
        next_hb = now_s() + 0.5;
      }
      zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&it, 1, 5) <= 0) {
        if (kind != 2) { /* no work comes: spray junk anyway */
          const char *f[] = {"OTb1", "C", "\x00client", "junk"};
          size_t n[] = {4, 1, 7, 4};
          send_frames(s, f, n, 4);
        }
        continue;
      }
      /* handed a client message: [OTb1][C][client][OTv2][REQ|PING][id]... */
      zmq_msg_t parts[8];
      int np = 0, more = 1;
      while (more && np < 8) {
        zmq_msg_init(&parts[np]);
        if (zmq_msg_recv(&parts[np], s, 0) < 0) break;
        more = zmq_msg_more(&parts[np]);
        np++;
      }
      while (more) { /* drop the rest */
        zmq_msg_t x;
        zmq_msg_init(&x);
        zmq_msg_recv(&x, s, 0);
        more = zmq_msg_more(&x);
        zmq_msg_close(&x);
      }
      if (np >= 6 && zmq_msg_size(&parts[1]) == 1 && *(char *)zmq_msg_data(&parts[1]) == 'C' &&
          zmq_msg_size(&parts[5]) == 8) {
        const char *client = zmq_msg_data(&parts[2]);
        size_t cl = zmq_msg_size(&parts[2]);
        uint64_t id = 0;
        memcpy(&id, zmq_msg_data(&parts[5]), 8);
        /* junk for what it was handed, and forged ERRs for the client's next ids */
        const char *j[] = {"OTb1", "C", client, "junk"};
        size_t jn[] = {4, 1, cl, 4};
        send_frames(s, j, jn, 4);
        for (int k = 1; k <= 8; k++) {
          unsigned char be[8];
          uint64_t v = __builtin_bswap64(__builtin_bswap64(id) + (uint64_t)k);
          memcpy(be, &v, 8);
          const char *f[] = {"OTb1", "C", client, "OTv2", "ERR", (const char *)be, "forged"};
          size_t n[] = {4, 1, cl, 4, 3, 8, 6};
          send_frames(s, f, n, 7);
        }
      }
      for (int i = 0; i < np; i++) zmq_msg_close(&parts[i]);
    }
    zmq_close(s);
  }
  zmq_ctx_term(ctx);
  return NULL;
}

typedef struct {
  double rate;
  long failed;
} phase_result;

static phase_result drive(const char *ep, double secs) {
  client_job jobs[4];
  pthread_t th[4];
  double t0 = now_s();
  for (int i = 0; i < 4; i++) {
    jobs[i] = (client_job){ep, t0 + secs, 0, 0};
    pthread_create(&th[i], NULL, client_main, &jobs[i]);
  }
  long done = 0, failed = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    done += jobs[i].done;
    failed += jobs[i].failed;
  }
  return (phase_result){done / secs, failed};
}

int main(void) {
  OT_TRY(ot_key_generate_ed25519(&c_auth));
  OT_TRY(ot_key_generate_x25519(&c_enc));
  OT_TRY(ot_key_generate_ed25519(&n_auth));
  OT_TRY(ot_key_generate_x25519(&n_enc));
  ot_buffer *b = NULL, *bp = NULL, *bs = NULL;
  OT_TRY(ot_key_nym_id(n_auth, &b));
  snprintf(n_id, sizeof n_id, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  OT_TRY(ot_curve_keypair(&bp, &bs));
  zmq_curve_keypair(worker_pub, worker_sec);
  snprintf(backend_pub, sizeof backend_pub, "%s", (const char *)ot_buffer_data(bp));
  ot_broker *br = NULL;
  OT_TRY(ot_broker_new_secure("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL, (const char *)ot_buffer_data(bs),
                              worker_pub, &br));
  char fe[128];
  OT_TRY(ot_broker_frontend(br, &b));
  snprintf(fe, sizeof fe, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  OT_TRY(ot_broker_backend(br, &b));
  snprintf(backend, sizeof backend, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  ot_session_options *wo = NULL;
  OT_TRY(ot_session_options_new(&wo));
  OT_TRY(ot_session_options_set_curve_client(wo, backend_pub, worker_pub, worker_sec));
  ot_notary *w[2];
  pthread_t wt[2];
  for (int i = 0; i < 2; i++) {
    OT_TRY(ot_notary_connect(backend, n_auth, n_enc, n_id, wo, &w[i]));
    pthread_create(&wt[i], NULL, worker_main, w[i]);
  }
  ot_broker_stats st;
  double t0 = now_s();
  do {
    OT_TRY(ot_broker_get_stats(br, &st));
  } while (st.workers < 2 && now_s() - t0 < 10);
  CHECK_OR_DIE(st.workers == 2, "the workers did not announce themselves");

  FILE *tsv = tsv_open("rogue.tsv", "phase\thonest_per_s\tratio_to_calm\tfailed");
  write_meta("rogue");
  const char *names[3] = {"calm", "8 unlisted rogue peers (4 plain, 4 wrong CURVE key)",
                          "the same + 1 peer with the stolen worker key"};
  double sum[3] = {0}, secs = bench_seconds() * 2;
  long failed[3] = {0};
  int rounds = bench_rounds();
  for (int r = 0; r < rounds; r++) {
    for (int p = 0; p < 3; p++) {
      pthread_t rt[9];
      int nr = p == 0 ? 0 : p == 1 ? 8 : 9;
      stop_rogues = 0;
      for (int i = 0; i < nr; i++) pthread_create(&rt[i], NULL, rogue_main, (void *)(intptr_t)(i < 4 ? 0 : i < 8 ? 1 : 2));
      phase_result x = drive(fe, secs);
      stop_rogues = 1;
      for (int i = 0; i < nr; i++) pthread_join(rt[i], NULL);
      sum[p] += x.rate;
      failed[p] += x.failed;
    }
  }
  uint64_t refused = 0, unexpected = 0;
  OT_TRY(ot_broker_counter(br, "workers_refused", &refused));
  OT_TRY(ot_broker_counter(br, "unexpected", &unexpected));
  printf("honest clients through a broker under rogue backend peers (4 v2 clients x 8 in flight, 2 workers, v3)\n");
  for (int p = 0; p < 3; p++) {
    double rate = sum[p] / rounds, ratio = rate / (sum[0] / rounds);
    printf("%-60s %8.0f req/s  ratio %.3f  failed %ld\n", names[p], rate, ratio, failed[p]);
    fprintf(tsv, "%s\t%.1f\t%.4f\t%ld\n", names[p], rate, ratio, failed[p]);
  }
  printf("broker: %llu handshakes refused, %llu unexpected worker messages dropped\n",
         (unsigned long long)refused, (unsigned long long)unexpected);
  fclose(tsv);
  stop_workers = 1;
  for (int i = 0; i < 2; i++) {
    pthread_join(wt[i], NULL);
    ot_notary_free(w[i]);
  }
  ot_broker_free(br);
  ot_session_options_free(wo);
  ot_buffer_free(bp);
  ot_buffer_free(bs);
  return 0;
}
