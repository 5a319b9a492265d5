/* Client session <-> notary over tcp loopback on ephemeral ports, client and notary on two
 * threads of one process, through the C API only: what is about the C ABI. Options by name and
 * from INI text; 1 000 requests and a 1 MiB message through C handles and buffers (run under
 * valgrind and ASan too); CURVE configured with Z85 key texts. The transport's behaviour (the
 * schedule and its timeout, resends, garbage and wrong keys, reply_errors, a notary restart,
 * heartbeats, what CURVE refuses, state errors) is tested once, through the Rust API, in
 * tests/transport.rs. */
#include <pthread.h>

#include "harness.h"

static ot_key *client_auth, *client_enc, *notary_auth, *notary_enc;
static char notary_id[64];

static ot_session_options *fast_options(void) {
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "latency_send_ms", 50));
  CHECK_OK(ot_session_options_set(o, "latency_send_no_tries", 2));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 100));
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 3)); /* 100+200+400 ms */
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "max_resends", 1));
  return o;
}

typedef struct {
  ot_notary *notary;
  int serve;  /* requests to answer */
  int served;
} server_job;

static void *server(void *arg) {
  server_job *job = arg;
  for (int i = 0; i < job->serve; i++) {
    ot_request *req = NULL;
    ot_buffer *content = NULL;
    if (ot_notary_receive(job->notary, 10000, &req) != OT_OK) continue;
    if (ot_request_verify(req, client_auth, &content) == OT_OK &&
        ot_test_reply_at(job->notary, req, content, client_enc) == OT_OK)
      job->served++;
    ot_buffer_free(content);
    ot_request_free(req);
  }
  return NULL;
}

static ot_notary *start_notary(const char *endpoint, const ot_session_options *o, char *bound, size_t cap) {
  ot_notary *n = NULL;
  CHECK_OK(ot_notary_new(endpoint, notary_auth, notary_enc, notary_id, o, &n));
  ot_test_notary_endpoint(n, bound, cap);
  return n;
}

static ot_session *start_session(const char *endpoint, const ot_session_options *o) {
  return ot_test_session(endpoint, o, client_auth, client_enc, notary_id, notary_enc, notary_auth);
}

static int request_ok(ot_session *s, const char *msg) {
  ot_buffer *reply = NULL;
  ot_result rc = ot_session_request(s, (const uint8_t *)msg, strlen(msg), &reply);
  if (rc != OT_OK) {
    fprintf(stderr, "request failed: %s (%s)\n", ot_result_str(rc), ot_last_error());
    return 0;
  }
  int ok = BUF_STR(reply)[0] == '@' && strncmp(BUF_STR(reply) + 1, msg, strlen(msg)) == 0;
  ot_buffer_free(reply);
  return ok;
}

/* OT_TEST_REQUESTS overrides the 1000 sequential requests (scripts/check-memory lowers it under
 * valgrind). */
static int sequential_requests(void) {
  const char *e = getenv("OT_TEST_REQUESTS");
  int n = e ? atoi(e) : 1000;
  return n > 0 ? n : 1000;
}

static void test_round_trips_and_big_message(ot_session_options *o) {
  char ep[256];
  int count = sequential_requests();
  server_job job = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), count + 2, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_session *s = start_session(ep, o);
  CHECK(request_ok(s, "<OTmessage>first</OTmessage>\n"));
  double t0 = ot_test_now_ms();
  int good = 0;
  char msg[64];
  for (int i = 0; i < count; i++) {
    snprintf(msg, sizeof msg, "<OTmessage requestNum=\"%d\"/>\n", i);
    good += request_ok(s, msg);
  }
  double per = (ot_test_now_ms() - t0) / count;
  CHECK(good == count);
  printf("%d sequential requests: %.2f ms per request (sign+seal+send+open+verify, both ways)\n", count, per);
  /* 1 MiB message. */
  size_t big_len = 1 << 20;
  char *big = malloc(big_len + 1);
  for (size_t i = 0; i < big_len; i++) big[i] = (i % 64 == 63) ? '\n' : (char)('a' + i % 26);
  big[big_len] = 0;
  /* A patient session for it: valgrind runs this test too, and is ~50x slower. */
  ot_session_options *patient = fast_options();
  CHECK_OK(ot_session_options_set(patient, "latency_receive_ms", 2000));
  CHECK_OK(ot_session_options_set(patient, "latency_receive_no_tries", 7)); /* up to 254 s */
  CHECK_OK(ot_session_options_set(patient, "max_resends", 0));
  ot_session *sb = start_session(ep, patient);
  double tb = ot_test_now_ms();
  CHECK(request_ok(sb, big));
  printf("1 MiB request and reply: %.0f ms\n", ot_test_now_ms() - tb);
  ot_session_free(sb);
  ot_session_options_free(patient);
  free(big);
  pthread_join(t, NULL);
  CHECK(job.served == count + 2);
  ot_session_free(s);
  ot_notary_free(job.notary);
}

static void test_curve(void) {
  /* Key pairs as Z85 text in buffers, handed back as C strings: the notary's secret and the
   * client's pair configure both ends, and a request goes through. (What CURVE refuses — plain
   * clients, another server key — is in tests/transport.rs.) */
  ot_buffer *spub = NULL, *ssec = NULL, *cpub = NULL, *csec = NULL;
  CHECK_OK(ot_curve_keypair(&spub, &ssec));
  CHECK_OK(ot_curve_keypair(&cpub, &csec));
  CHECK(ot_buffer_len(spub) == 40 && ot_buffer_len(ssec) == 40 && strlen(BUF_STR(ssec)) == 40);
  ot_session_options *so = fast_options(), *co = fast_options();
  CHECK_OK(ot_session_options_set_curve_server(so, BUF_STR(ssec)));
  CHECK_OK(ot_session_options_set_curve_client(co, BUF_STR(spub), BUF_STR(cpub), BUF_STR(csec)));
  CHECK_RC(ot_session_options_set_curve_server(so, "too short"), OT_ERR_INVALID_ARGUMENT);
  char ep[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", so, ep, sizeof ep), 1, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_session *s = start_session(ep, co);
  CHECK(request_ok(s, "over CURVE\n"));
  pthread_join(t, NULL);
  CHECK(job.served == 1);
  ot_session_free(s);
  ot_notary_free(job.notary);
  ot_session_options_free(so);
  ot_session_options_free(co);
  ot_buffer_free(spub);
  ot_buffer_free(ssec);
  ot_buffer_free(cpub);
  ot_buffer_free(csec);
}

static void test_options_by_name(void) {
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  int64_t v = 0;
  CHECK_OK(ot_session_options_get(o, "latency_receive_no_tries", &v));
  CHECK(v == 7);
  CHECK_OK(ot_session_options_get(o, "latency_delay_after", &v));
  CHECK(v == 50);
  const char *cfg = "[latency]\nlatency_send_ms=300\nlatency_receive_ms=400\nis_blocking=false\n";
  CHECK_OK(ot_session_options_load_ini(o, (const uint8_t *)cfg, strlen(cfg)));
  CHECK_OK(ot_session_options_get(o, "latency_receive_ms", &v));
  CHECK(v == 400);
  const char *bad = "[latency]\nlatency_send_ms=300\nlatency_receive_ms=soon\n";
  CHECK_RC(ot_session_options_load_ini(o, (const uint8_t *)bad, strlen(bad)), OT_ERR_MALFORMED);
  CHECK_OK(ot_session_options_get(o, "latency_send_ms", &v));
  CHECK(v == 300); /* unchanged by the failed load */
  CHECK_RC(ot_session_options_set(o, "no_such_option", 1), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_session_options_set(o, "latency_send_no_tries", 0), OT_ERR_INVALID_ARGUMENT);
  ot_session_options_free(o);
  int32_t major = 0;
  ot_zmq_version(&major, NULL, NULL);
  CHECK(major >= 4);
}

int main(void) {
  CHECK_OK(ot_key_generate(1024, &client_auth));
  CHECK_OK(ot_key_generate(1024, &client_enc));
  CHECK_OK(ot_key_generate(1024, &notary_auth));
  CHECK_OK(ot_key_generate(1024, &notary_enc));
  ot_buffer *id = NULL;
  CHECK_OK(ot_key_nym_id(notary_auth, &id));
  snprintf(notary_id, sizeof notary_id, "%s", BUF_STR(id));
  ot_buffer_free(id);
  ot_session_options *o = fast_options();

  test_options_by_name();
  test_round_trips_and_big_message(o);
  test_curve();

  ot_session_options_free(o);
  ot_key_free(client_auth);
  ot_key_free(client_enc);
  ot_key_free(notary_auth);
  ot_key_free(notary_enc);
  return ot_test_finish("test_transport");
}
