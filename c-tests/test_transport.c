/* Client session <-> notary over tcp loopback on ephemeral ports, client and notary on two
 * threads of one process, through the C API only. */
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
  int serve;        /* requests to answer */
  int drop_first;   /* receive the first request and do not answer it */
  int expect_errors;/* unreadable frames expected before the good ones */
  int errors_seen;
  int served;
} server_job;

static void *server(void *arg) {
  server_job *job = arg;
  int to_receive = job->serve + (job->drop_first ? 1 : 0) + job->expect_errors;
  for (int i = 0; i < to_receive; i++) {
    ot_request *req = NULL;
    ot_result rc = ot_notary_receive(job->notary, 10000, &req);
    if (rc != OT_OK) {
      job->errors_seen++;
      continue;
    }
    if (job->drop_first && job->served == 0 && i == job->errors_seen) {
      job->drop_first = 0;
      ot_request_free(req);
      continue;
    }
    ot_buffer *content = NULL;
    if (ot_request_verify(req, client_auth, &content) == OT_OK) {
      size_t n = ot_buffer_len(content);
      char *reply = malloc(n + 2);
      reply[0] = '@';
      memcpy(reply + 1, ot_buffer_data(content), n);
      if (ot_notary_reply(job->notary, req, (const uint8_t *)reply, n + 1, client_enc) == OT_OK) job->served++;
      free(reply);
      ot_buffer_free(content);
    }
    ot_request_free(req);
  }
  /* Answers to unreadable requests go out after a uniform delay, from inside
   * ot_notary_receive: keep receiving a little longer so they are sent. */
  for (int k = 0; k < 3; k++) {
    ot_request *late = NULL;
    if (ot_notary_receive(job->notary, 50, &late) == OT_OK) ot_request_free(late);
  }
  return NULL;
}

static ot_notary *start_notary(const char *endpoint, const ot_session_options *o, char *bound, size_t cap) {
  ot_notary *n = NULL;
  CHECK_OK(ot_notary_new(endpoint, notary_auth, notary_enc, notary_id, o, &n));
  ot_buffer *ep = NULL;
  CHECK_OK(ot_notary_endpoint(n, &ep));
  snprintf(bound, cap, "%s", BUF_STR(ep));
  ot_buffer_free(ep);
  return n;
}

static ot_session *start_session(const char *endpoint, const ot_session_options *o) {
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(endpoint, o, &s));
  CHECK_OK(ot_session_set_identity(s, client_auth, client_enc));
  CHECK_OK(ot_session_set_notary(s, notary_id, notary_enc, notary_auth));
  return s;
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
  server_job job = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), count + 2, 0, 0, 0, 0};
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

static void test_no_notary_times_out(ot_session_options *o) {
  char ep[256];
  ot_notary *n = start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep);
  ot_notary_free(n); /* the port is now closed */
  ot_session *s = start_session(ep, o);
  ot_buffer *reply = NULL;
  double t0 = ot_test_now_ms();
  CHECK_RC(ot_session_request(s, (const uint8_t *)"x\n", 2, &reply), OT_ERR_TIMEOUT);
  double took = ot_test_now_ms() - t0;
  printf("no notary: OT_ERR_TIMEOUT after %.0f ms (2 attempts x 700 ms configured)\n", took);
  CHECK(took >= 1300 && took < 4000);
  CHECK(reply == NULL);
  /* The session stays usable: a notary comes up on that port and the next request succeeds. */
  server_job job = {NULL, 1, 0, 0, 0, 0};
  char ep2[256];
  job.notary = start_notary(ep, o, ep2, sizeof ep2);
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  CHECK(request_ok(s, "back\n"));
  pthread_join(t, NULL);
  ot_session_free(s);
  ot_notary_free(job.notary);
}

static void test_dropped_request_recovers(ot_session_options *o) {
  char ep[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), 2, 1, 0, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_session *s = start_session(ep, o);
  CHECK(request_ok(s, "dropped once, answered on resend\n"));
  CHECK(request_ok(s, "next\n"));
  pthread_join(t, NULL);
  CHECK(job.served == 2);
  ot_session_free(s);
  ot_notary_free(job.notary);
}

static void test_garbage_does_not_stop_the_notary(ot_session_options *o) {
  char ep[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), 1, 0, 1, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_session_options *once = fast_options();
  CHECK_OK(ot_session_options_set(once, "max_resends", 0));
  ot_session *raw = NULL;
  CHECK_OK(ot_session_new(ep, once, &raw));
  ot_buffer *reply = NULL;
  CHECK_RC(ot_session_exchange(raw, (const uint8_t *)"\x01garbage\xff", 9, &reply), OT_ERR_TIMEOUT);
  ot_session *s = start_session(ep, o);
  CHECK(request_ok(s, "still serving\n"));
  pthread_join(t, NULL);
  CHECK(job.errors_seen == 1 && job.served == 1);
  ot_session_free(raw);
  ot_session_free(s);
  ot_session_options_free(once);
  ot_notary_free(job.notary);
}

static void test_wrong_keys(ot_session_options *o) {
  /* Wrong notary encryption key, notary configured to answer errors: a clear transport error. */
  ot_session_options *errs = fast_options();
  CHECK_OK(ot_session_options_set(errs, "reply_errors", 1));
  char ep[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", errs, ep, sizeof ep), 0, 0, 1, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_key *wrong = NULL;
  CHECK_OK(ot_key_generate(1024, &wrong));
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(ep, o, &s));
  CHECK_OK(ot_session_set_identity(s, client_auth, client_enc));
  CHECK_OK(ot_session_set_notary(s, notary_id, wrong, notary_auth));
  ot_buffer *reply = NULL;
  CHECK_RC(ot_session_request(s, (const uint8_t *)"x\n", 2, &reply), OT_ERR_TRANSPORT);
  /* The one reason a notary gives for every unreadable request, whatever failed. */
  CHECK(strstr(ot_last_error(), "the request could not be read") != NULL);
  pthread_join(t, NULL);
  CHECK(job.errors_seen == 1);
  ot_session_free(s);
  ot_notary_free(job.notary);
  /* Wrong notary auth key: the reply's signature is refused. */
  server_job job2 = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), 1, 0, 0, 0, 0};
  pthread_create(&t, NULL, server, &job2);
  CHECK_OK(ot_session_new(ep, o, &s));
  CHECK_OK(ot_session_set_identity(s, client_auth, client_enc));
  CHECK_OK(ot_session_set_notary(s, notary_id, notary_enc, wrong));
  CHECK_RC(ot_session_request(s, (const uint8_t *)"x\n", 2, &reply), OT_ERR_BAD_SIGNATURE);
  pthread_join(t, NULL);
  ot_session_free(s);
  ot_notary_free(job2.notary);
  ot_key_free(wrong);
  ot_session_options_free(errs);
}

static void test_notary_restart(ot_session_options *o) {
  char ep[256], ep2[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", o, ep, sizeof ep), 5, 0, 0, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  ot_session *s = start_session(ep, o);
  int good = 0;
  for (int i = 0; i < 5; i++) good += request_ok(s, "before restart\n");
  pthread_join(t, NULL);
  ot_notary_free(job.notary); /* notary goes down... */
  server_job job2 = {start_notary(ep, o, ep2, sizeof ep2), 5, 0, 0, 0, 0}; /* ...and comes back */
  CHECK(strcmp(ep, ep2) == 0);
  pthread_create(&t, NULL, server, &job2);
  for (int i = 0; i < 5; i++) good += request_ok(s, "after restart\n");
  pthread_join(t, NULL);
  CHECK(good == 10);
  ot_session_free(s);
  ot_notary_free(job2.notary);
}

static void test_curve(ot_session_options *o) {
  ot_buffer *spub = NULL, *ssec = NULL, *cpub = NULL, *csec = NULL;
  CHECK_OK(ot_curve_keypair(&spub, &ssec));
  CHECK_OK(ot_curve_keypair(&cpub, &csec));
  CHECK(ot_buffer_len(spub) == 40 && ot_buffer_len(ssec) == 40);
  ot_session_options *so = fast_options(), *co = fast_options();
  CHECK_OK(ot_session_options_set_curve_server(so, BUF_STR(ssec)));
  CHECK_OK(ot_session_options_set_curve_client(co, BUF_STR(spub), BUF_STR(cpub), BUF_STR(csec)));
  CHECK_RC(ot_session_options_set_curve_server(so, "too short"), OT_ERR_INVALID_ARGUMENT);
  char ep[256];
  server_job job = {start_notary("tcp://127.0.0.1:*", so, ep, sizeof ep), 1, 0, 0, 0, 0};
  pthread_t t;
  pthread_create(&t, NULL, server, &job);
  /* A plain client cannot talk to the CURVE notary; a CURVE client with its key can. */
  ot_session_options *once = fast_options();
  CHECK_OK(ot_session_options_set(once, "max_resends", 0));
  ot_session *plain = start_session(ep, once);
  ot_buffer *reply = NULL;
  CHECK_RC(ot_session_request(plain, (const uint8_t *)"x\n", 2, &reply), OT_ERR_TIMEOUT);
  ot_session *s = start_session(ep, co);
  CHECK(request_ok(s, "over CURVE\n"));
  pthread_join(t, NULL);
  CHECK(job.served == 1);
  ot_session_free(s);
  ot_session_free(plain);
  ot_notary_free(job.notary);
  ot_session_options_free(once);
  ot_session_options_free(so);
  ot_session_options_free(co);
  ot_buffer_free(spub);
  ot_buffer_free(ssec);
  ot_buffer_free(cpub);
  ot_buffer_free(csec);
  (void)o;
}

static void test_options_and_state(void) {
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
  ot_session *s = NULL;
  CHECK_RC(ot_session_new("not an endpoint", o, &s), OT_ERR_INVALID_ARGUMENT);
  CHECK(s == NULL);
  CHECK_OK(ot_session_new("tcp://127.0.0.1:9", o, &s));
  ot_buffer *reply = NULL;
  CHECK_RC(ot_session_request(s, (const uint8_t *)"x\n", 2, &reply), OT_ERR_STATE);
  CHECK_RC(ot_session_request(NULL, (const uint8_t *)"x\n", 2, &reply), OT_ERR_NULL_ARGUMENT);
  ot_session_free(s);
  ot_session_free(NULL);
  ot_notary_free(NULL);
  ot_request_free(NULL);
  ot_session_options_free(NULL);
  ot_session_options_free(o);
  int major = 0;
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

  test_options_and_state();
  test_round_trips_and_big_message(o);
  test_no_notary_times_out(o);
  test_dropped_request_recovers(o);
  test_garbage_does_not_stop_the_notary(o);
  test_wrong_keys(o);
  test_notary_restart(o);
  test_curve(o);

  ot_session_options_free(o);
  ot_key_free(client_auth);
  ot_key_free(client_enc);
  ot_key_free(notary_auth);
  ot_key_free(notary_enc);
  return ot_test_finish("test_transport");
}
