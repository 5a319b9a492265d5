/* Eight v2 sessions driven from one thread with poll(2) (transport v2, issue 13).
 *
 * A notary runs on a second thread (loopback, ephemeral port). The main thread opens 8 sessions
 * with protocol v2, sends ROUNDS requests on each without waiting (pipelined), then waits on the
 * sessions' descriptors with poll(2) and drains each readable session with
 * ot_session_receive(..., 0, ...) until OT_ERR_TIMEOUT, as the edge-triggered ZMQ_FD rules in
 * the header require. It checks every reply matches its request and prints a summary. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot_transport.h"

#define SESSIONS 8
#define ROUNDS 8

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static volatile int stop_notary;

static void *notary_main(void *arg) {
  ot_notary *n = arg;
  while (!stop_notary) {
    ot_request *req = NULL;
    ot_buffer *content = NULL;
    if (ot_notary_receive(n, 50, &req) != OT_OK) continue;
    if (ot_request_verify(req, c_auth, &content) == OT_OK) {
      ot_notary_reply(n, req, ot_buffer_data(content), ot_buffer_len(content), c_enc);
      ot_buffer_free(content);
    }
    ot_request_free(req);
  }
  return NULL;
}

int main(void) {
  ot_notary *notary = NULL;
  ot_session_options *o = NULL;
  ot_session *s[SESSIONS];
  uint64_t ids[SESSIONS][ROUNDS];
  struct pollfd fds[SESSIONS];
  ot_buffer *b = NULL;
  char ep[128], nym[128];
  pthread_t t;
  int i, r, done = 0, bad = 0, polls = 0;

  if (ot_key_generate(1024, &c_auth) || ot_key_generate(1024, &c_enc) || ot_key_generate(1024, &n_auth) ||
      ot_key_generate(1024, &n_enc) || ot_key_nym_id(n_auth, &b))
    goto fail;
  snprintf(nym, sizeof nym, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  if (ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, nym, NULL, &notary) || ot_notary_endpoint(notary, &b))
    goto fail;
  snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
  ot_buffer_free(b);
  /* the sessions move to this CURVE endpoint by themselves, on the same descriptors */
  if (ot_notary_bind_curve(notary, "tcp://127.0.0.1:*", NULL, &b)) goto fail;
  ot_buffer_free(b);
  pthread_create(&t, NULL, notary_main, notary);

  if (ot_session_options_new(&o) || ot_session_options_set(o, "protocol", 1) ||
      ot_session_options_set(o, "latency_delay_after", 0))
    goto fail;
  for (i = 0; i < SESSIONS; i++) {
    if (ot_session_new(ep, o, &s[i]) || ot_session_set_identity(s[i], c_auth, c_enc) ||
        ot_session_set_notary(s[i], nym, n_enc, n_auth))
      goto fail;
    for (r = 0; r < ROUNDS; r++) {
      char msg[64];
      snprintf(msg, sizeof msg, "session %d round %d\n", i, r);
      if (ot_session_send(s[i], (const uint8_t *)msg, strlen(msg), &ids[i][r])) goto fail;
    }
    if (ot_session_fd(s[i], &fds[i].fd)) goto fail;
    fds[i].events = POLLIN;
  }

  while (done < SESSIONS * ROUNDS && polls < 10000) {
    /* Drain first (a call may already have consumed the edge), then sleep in poll(2). */
    for (i = 0; i < SESSIONS; i++) {
      uint64_t id;
      ot_result status;
      ot_buffer *reply = NULL;
      while (ot_session_receive(s[i], 0, &id, &status, &reply) == OT_OK) {
        char want[64];
        int round = -1;
        for (r = 0; r < ROUNDS; r++)
          if (ids[i][r] == id) round = r;
        snprintf(want, sizeof want, "session %d round %d\n", i, round);
        if (status != OT_OK || round < 0 || strcmp((const char *)ot_buffer_data(reply), want) != 0) bad++;
        if (round >= 0) ids[i][round] = 0; /* each id once */
        ot_buffer_free(reply);
        reply = NULL;
        done++;
      }
    }
    if (done < SESSIONS * ROUNDS && poll(fds, SESSIONS, 100) < 0) goto fail;
    polls++;
  }
  uint64_t on_curve = 0, v = 0;
  for (i = 0; i < SESSIONS; i++)
    if (ot_session_counter(s[i], "curve", &v) == OT_OK) on_curve += v;
  printf("poll(2) loop: %d sessions x %d pipelined requests: %d replies, %d wrong, %d polls; %d sessions "
         "over CURVE\n", SESSIONS, ROUNDS, done, bad, polls, (int)on_curve);

  stop_notary = 1;
  pthread_join(t, NULL);
  for (i = 0; i < SESSIONS; i++) ot_session_free(s[i]);
  ot_session_options_free(o);
  ot_notary_free(notary);
  ot_key_free(c_auth); ot_key_free(c_enc); ot_key_free(n_auth); ot_key_free(n_enc);
  return done == SESSIONS * ROUNDS && bad == 0 && on_curve == SESSIONS ? 0 : 1;
fail:
  fprintf(stderr, "error: %s\n", ot_last_error());
  return 1;
}
