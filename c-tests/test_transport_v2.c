/* Transport v2 through the C API: pipelined requests answered out of order, per-request status,
 * raw frames pipelined next to signed requests,
 * pushes with sequence numbers, a notary listening on a plain and a CURVE endpoint at once, and
 * the v2-only calls refused on a legacy session. */
#include <pthread.h>
#include <time.h>

#include "harness.h"

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char n_id[128];

static ot_session *session_to(const char *ep, ot_session_options *o) {
  return ot_test_session(ep, o, c_auth, c_enc, n_id, n_enc, n_auth);
}

static ot_session_options *v2_options(void) {
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "protocol", 1));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  return o;
}

typedef struct {
  ot_notary *n;
  int hold; /* requests to collect before answering them in reverse order */
} job;

static void *hold_and_reverse(void *arg) {
  job *j = arg;
  ot_request *held[64];
  int i, got = 0;
  while (got < j->hold) {
    if (ot_notary_receive(j->n, 10000, &held[got]) == OT_OK) got++;
    else break;
  }
  for (i = got - 1; i >= 0; i--) {
    ot_buffer *c = NULL;
    if (ot_request_verify(held[i], c_auth, &c) == OT_OK) {
      if (i == 3) /* one request gets an unsealed reply from a key the client does not trust */
        ot_notary_reply(j->n, held[i], ot_buffer_data(c), ot_buffer_len(c), NULL);
      else
        ot_notary_reply(j->n, held[i], ot_buffer_data(c), ot_buffer_len(c), c_enc);
      ot_buffer_free(c);
    }
  }
  /* answering twice is refused */
  if (got) CHECK_RC(ot_notary_reply(j->n, held[0], (const uint8_t *)"x", 1, NULL), OT_ERR_STATE);
  for (i = 0; i < got; i++) ot_request_free(held[i]);
  return NULL;
}

static void pipelining(void) {
  ot_notary *n = NULL;
  char ep[128];
  uint64_t ids[16];
  int seen[16] = {0};
  int i, k, ok = 0;
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  ot_test_notary_endpoint(n, ep, sizeof ep);
  job j = {n, 16};
  pthread_t t;
  pthread_create(&t, NULL, hold_and_reverse, &j);
  ot_session_options *o = v2_options();
  ot_session *s = session_to(ep, o);
  ot_protocol p = 99;
  CHECK_OK(ot_session_protocol(s, &p));
  CHECK(p == OT_PROTOCOL_V2);
  for (i = 0; i < 16; i++) {
    char m[32];
    snprintf(m, sizeof m, "req %d\n", i);
    CHECK_OK(ot_session_send(s, (const uint8_t *)m, strlen(m), &ids[i]));
  }
  CHECK(ot_session_in_flight(s) == 16);
  for (k = 0; k < 16; k++) {
    uint64_t id = 0;
    ot_result status = OT_ERR_INTERNAL;
    ot_buffer *reply = NULL;
    CHECK_OK(ot_session_receive(s, 10000, &id, &status, &reply));
    for (i = 0; i < 16; i++) {
      if (ids[i] != id) continue;
      seen[i]++;
      if (i == 3) {
        /* the unsealed reply is a valid legacy MESSAGE signed by the notary: accepted */
        CHECK_RC(status, OT_OK);
      } else {
        char want[32];
        snprintf(want, sizeof want, "req %d\n", i);
        CHECK_RC(status, OT_OK);
        CHECK(reply && strcmp(BUF_STR(reply), want) == 0);
      }
      if (status == OT_OK) ok++;
    }
    ot_buffer_free(reply);
  }
  for (i = 0; i < 16; i++) CHECK(seen[i] == 1);
  CHECK(ok == 16);
  {
    uint64_t id = 7;
    ot_result status = OT_ERR_INTERNAL;
    ot_buffer *reply = NULL;
    CHECK_RC(ot_session_receive(s, 0, &id, &status, &reply), OT_ERR_TIMEOUT);
    CHECK(id == 7 && status == OT_ERR_INTERNAL && reply == NULL); /* nothing written */
  }
  pthread_join(t, NULL);
  ot_session_free(s);
  ot_session_options_free(o);
  ot_notary_free(n);
  printf("  16 pipelined requests answered in reverse order: each id once\n");
}

typedef struct {
  ot_notary *n;
  int subscribers;
} sub_job;

static void *register_subscribers(void *arg) {
  sub_job *j = arg;
  int i;
  for (i = 0; i < j->subscribers; i++) {
    ot_request *r = NULL;
    if (ot_notary_receive(j->n, 10000, &r) != OT_OK) continue;
    CHECK_OK(ot_request_verify(r, c_auth, NULL));
    CHECK_OK(ot_notary_register_push(j->n, r, "nym-push", c_enc));
    CHECK_OK(ot_notary_reply(j->n, r, (const uint8_t *)"subscribed", 10, c_enc));
    ot_request_free(r);
  }
  return NULL;
}

static void pushes_and_two_endpoints(void) {
  ot_notary *n = NULL;
  ot_buffer *b = NULL, *pub = NULL, *sec = NULL, *cpub = NULL, *csec = NULL;
  char plain_ep[128], curve_ep[128];
  int i, k;
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  ot_test_notary_endpoint(n, plain_ep, sizeof plain_ep);
  /* a second endpoint with CURVE, on the same notary */
  CHECK_OK(ot_curve_keypair(&pub, &sec));
  CHECK_OK(ot_curve_keypair(&cpub, &csec));
  ot_session_options *server = NULL;
  CHECK_OK(ot_session_options_new(&server));
  CHECK_OK(ot_session_options_set_curve_server(server, BUF_STR(sec)));
  CHECK_OK(ot_notary_bind(n, "tcp://127.0.0.1:*", server, &b));
  snprintf(curve_ep, sizeof curve_ep, "%s", BUF_STR(b));
  ot_buffer_free(b);
  CHECK(strcmp(plain_ep, curve_ep) != 0);

  ot_session_options *o = v2_options();
  ot_session_options *oc = v2_options();
  CHECK_OK(ot_session_options_set_curve_client(oc, BUF_STR(pub), BUF_STR(cpub), BUF_STR(csec)));
  ot_session *s[2];
  s[0] = session_to(plain_ep, o);
  s[1] = session_to(curve_ep, oc);
  sub_job j = {n, 2};
  pthread_t t;
  pthread_create(&t, NULL, register_subscribers, &j);
  for (i = 0; i < 2; i++) {
    ot_buffer *r = NULL;
    CHECK_OK(ot_session_subscribe(s[i], (const uint8_t *)"<subscribe/>\n", 13, &r));
    CHECK(r && strcmp(BUF_STR(r), "subscribed\n") == 0);
    ot_buffer_free(r);
  }
  pthread_join(t, NULL);
  for (k = 1; k <= 100; k++) {
    char m[32];
    size_t delivered = 0;
    snprintf(m, sizeof m, "update %d\n", k);
    CHECK_OK(ot_notary_push(n, "nym-push", (const uint8_t *)m, strlen(m), &delivered));
    CHECK(delivered == 2);
  }
  for (i = 0; i < 2; i++) {
    for (k = 1; k <= 100; k++) {
      uint64_t seq = 0, missed = 9;
      ot_buffer *c = NULL;
      char want[32];
      CHECK_OK(ot_session_next_push(s[i], 10000, &seq, &missed, &c));
      snprintf(want, sizeof want, "update %d\n", k);
      CHECK(seq == (uint64_t)k && missed == 0);
      CHECK(c && strcmp(BUF_STR(c), want) == 0);
      ot_buffer_free(c);
    }
    {
      uint64_t seq = 0, missed = 0;
      ot_buffer *c = NULL;
      CHECK_RC(ot_session_next_push(s[i], 0, &seq, &missed, &c), OT_ERR_TIMEOUT);
      CHECK(c == NULL);
    }
  }
  {
    size_t d = 5;
    CHECK_OK(ot_notary_push(n, "nobody", (const uint8_t *)"x", 1, &d));
    CHECK(d == 0);
  }
  for (i = 0; i < 2; i++) ot_session_free(s[i]);
  ot_session_options_free(o);
  ot_session_options_free(oc);
  ot_session_options_free(server);
  ot_buffer_free(pub); ot_buffer_free(sec); ot_buffer_free(cpub); ot_buffer_free(csec);
  ot_notary_free(n);
  printf("  pushes: 2 subscribers (plain and CURVE endpoints of one notary) x 100, in order, none missed\n");
}

static void *echo_four(void *arg) {
  ot_notary *n = arg;
  int i;
  for (i = 0; i < 4; i++) {
    ot_request *r = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(n, 10000, &r) != OT_OK) return NULL;
    if (ot_request_verify(r, c_auth, &c) == OT_OK) {
      ot_notary_reply(n, r, ot_buffer_data(c), ot_buffer_len(c), c_enc);
      ot_buffer_free(c);
    }
    ot_request_free(r);
  }
  return NULL;
}

/* CURVE with no configuration: the notary publishes its transport key (signed by its identity)
 * and a v2 session with the notary's keys verifies it and moves to the CURVE endpoint. */
static void curve_without_configuration(void) {
  ot_notary *n = NULL;
  ot_buffer *b = NULL, *key = NULL, *pub = NULL, *sec = NULL;
  char ep[128];
  uint64_t v = 0;
  int i;
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  ot_test_notary_endpoint(n, ep, sizeof ep);
  CHECK_RC(ot_notary_transport_key(n, &key), OT_ERR_STATE);
  CHECK(key == NULL);
  CHECK_OK(ot_notary_bind_curve(n, "tcp://127.0.0.1:*", NULL, &b));
  CHECK(b && strcmp(BUF_STR(b), ep) != 0);
  CHECK_OK(ot_notary_transport_key(n, &key));
  CHECK(key && strlen(BUF_STR(key)) == 40);
  CHECK_OK(ot_curve_keypair(&pub, &sec));
  CHECK_RC(ot_notary_set_transport_key(n, BUF_STR(sec), 1000), OT_ERR_INVALID_ARGUMENT); /* past */
  pthread_t t;
  pthread_create(&t, NULL, echo_four, n);
  ot_session_options *o = v2_options();
  ot_session *s = session_to(ep, o); /* the plain endpoint: nothing about CURVE configured */
  for (i = 0; i < 3; i++) {
    ot_buffer *r = NULL;
    CHECK_OK(ot_session_request(s, (const uint8_t *)"over curve\n", 11, &r));
    CHECK(r && strcmp(BUF_STR(r), "over curve\n") == 0);
    ot_buffer_free(r);
  }
  CHECK_OK(ot_session_counter(s, "curve", &v));
  CHECK(v == 1);
  CHECK_OK(ot_session_counter(s, "transport_keys_refused", &v));
  CHECK(v == 0);
  CHECK_OK(ot_notary_counter(n, "requests_curve", &v));
  CHECK(v == 3);
  { /* rotation: the notary's CURVE endpoint is bound again under a new key; the session's next
     * handshake is refused, it asks again and follows */
    ot_buffer *r = NULL, *now_key = NULL;
    ot_test_sleep_ms(1100); /* a session asks again at most once a second */
    CHECK_OK(ot_notary_set_transport_key(n, BUF_STR(sec), (uint64_t)time(NULL) + 3600));
    CHECK_OK(ot_notary_transport_key(n, &now_key));
    CHECK(now_key && strcmp(BUF_STR(now_key), BUF_STR(pub)) == 0);
    CHECK_OK(ot_session_request(s, (const uint8_t *)"rotated\n", 8, &r));
    CHECK(r && strcmp(BUF_STR(r), "rotated\n") == 0);
    CHECK_OK(ot_session_counter(s, "transport_key_changes", &v));
    CHECK(v == 1);
    ot_buffer_free(r);
    ot_buffer_free(now_key);
  }
  pthread_join(t, NULL);
  printf("  a v2 session with default options verified the notary's transport key and sent 3 of 3 "
         "requests over CURVE (%s), and followed a key rotation\n", BUF_STR(b));
  ot_session_free(s);
  ot_session_options_free(o);
  ot_notary_free(n);
  ot_buffer_free(b);
  ot_buffer_free(key);
  ot_buffer_free(pub);
  ot_buffer_free(sec);
}

/* Answers 4 readable requests; an unreadable one is the notary's own business (its receive
 * reports it and answers the client with ERR), so it does not end the loop. */
static void *answer_four_readable(void *arg) {
  ot_notary *n = arg;
  int answered = 0, rounds;
  for (rounds = 0; answered < 4 && rounds < 200; rounds++) {
    ot_request *r = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(n, 100, &r) != OT_OK) continue;
    if (ot_request_verify(r, c_auth, &c) == OT_OK) {
      ot_notary_reply(n, r, ot_buffer_data(c), ot_buffer_len(c), c_enc);
      ot_buffer_free(c);
      answered++;
    }
    ot_request_free(r);
  }
  return NULL;
}

/* ot_session_send_frame: raw frames pipelined next to signed requests in one session. The
 * notary cannot read a raw frame: that request ends with the notary's one ERR for it
 * (OT_ERR_TRANSPORT); the signed ones come back opened and verified. */
static void raw_frames_next_to_signed_requests(void) {
  ot_notary *n = NULL;
  char ep[128];
  uint64_t id = 0, raw_ids[4], signed_ids[4];
  int i, raw_seen = 0, signed_seen = 0;
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
  ot_test_notary_endpoint(n, ep, sizeof ep);
  pthread_t t;
  pthread_create(&t, NULL, answer_four_readable, n);
  ot_session_options *o = v2_options();
  ot_session *s = session_to(ep, o);
  for (i = 0; i < 4; i++) {
    CHECK_OK(ot_session_send_frame(s, (const uint8_t *)"raw\0frame", 9, &raw_ids[i]));
    CHECK_OK(ot_session_send(s, (const uint8_t *)"signed\n", 7, &signed_ids[i]));
  }
  CHECK_RC(ot_session_send_frame(s, (const uint8_t *)"x", 1, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_send_frame(s, NULL, 1, &id), OT_ERR_NULL_ARGUMENT);
  for (i = 0; i < 8; i++) {
    ot_result status = OT_OK;
    ot_buffer *r = NULL;
    int k, is_raw = 0;
    CHECK_OK(ot_session_receive(s, 10000, &id, &status, &r));
    for (k = 0; k < 4; k++) is_raw |= raw_ids[k] == id;
    if (is_raw) {
      CHECK(status == OT_ERR_TRANSPORT && r == NULL);
      raw_seen++;
    } else {
      CHECK(status == OT_OK && r && strcmp(BUF_STR(r), "signed\n") == 0);
      signed_seen++;
    }
    ot_buffer_free(r);
  }
  CHECK(raw_seen == 4 && signed_seen == 4);
  pthread_join(t, NULL);
  printf("  ot_session_send_frame: 4 raw frames (refused by the notary, OT_ERR_TRANSPORT each) and 4 signed "
         "requests (verified) in one session\n");
  ot_session_free(s);
  ot_session_options_free(o);
  ot_notary_free(n);
}

static void legacy_session_refuses_v2_calls(void) {
  ot_session *s = NULL;
  uint64_t id = 0;
  ot_protocol p = 9;
  CHECK_OK(ot_session_new("tcp://127.0.0.1:9", NULL, &s));
  CHECK_OK(ot_session_protocol(s, &p));
  CHECK(p == OT_PROTOCOL_LEGACY);
  CHECK_OK(ot_session_set_identity(s, c_auth, c_enc));
  CHECK_OK(ot_session_set_notary(s, n_id, n_enc, n_auth));
  CHECK_RC(ot_session_send(s, (const uint8_t *)"x", 1, &id), OT_ERR_STATE);
  CHECK(strstr(ot_last_error(), "v2") != NULL);
  CHECK_RC(ot_session_send(s, (const uint8_t *)"x", 1, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_send_frame(s, (const uint8_t *)"x", 1, &id), OT_ERR_STATE);
  ot_session_free(s);
}

int main(void) {
  ot_buffer *b = NULL;
  CHECK_OK(ot_key_generate(1024, &c_auth));
  CHECK_OK(ot_key_generate(1024, &c_enc));
  CHECK_OK(ot_key_generate(1024, &n_auth));
  CHECK_OK(ot_key_generate(1024, &n_enc));
  CHECK_OK(ot_key_nym_id(n_auth, &b));
  snprintf(n_id, sizeof n_id, "%s", BUF_STR(b));
  ot_buffer_free(b);
  pipelining();
  pushes_and_two_endpoints();
  curve_without_configuration();
  raw_frames_next_to_signed_requests();
  legacy_session_refuses_v2_calls();
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  return ot_test_finish("test_transport_v2");
}
