/* ot-transport demo: what one legacy-compatible OT message goes through.
 *
 *   1. keys are generated for a sender and two recipients;
 *   2. the sender signs a message (RSA-PSS over SAMY) as OT signed text;
 *   3. the signed text is sealed to both recipients (AES-128-CBC + RSA PKCS#1 v1.5 key wrap);
 *   4. the envelope is armored as it would cross the wire;
 *   5. each recipient de-armors it, opens it with their own key and verifies the signature.
 *   6. a client signs, seals and sends a request to a notary over ZeroMQ on loopback; the
 *      notary opens, verifies and answers sealed; the client opens and verifies the reply.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot_transport.h"

static void die(const char *what, ot_result rc) {
  fprintf(stderr, "demo: %s failed: %s (%s)\n", what, ot_result_str(rc), ot_last_error());
  exit(1);
}
#define TRY(what, expr)                   \
  do {                                    \
    ot_result rc_ = (expr);               \
    if (rc_ != OT_OK) die(what, rc_);     \
  } while (0)

static void excerpt(const char *label, const ot_buffer *b, size_t max) {
  size_t n = ot_buffer_len(b);
  printf("---- %s (%zu bytes)%s\n", label, n, n > max ? ", first lines" : "");
  fwrite(ot_buffer_data(b), 1, n > max ? max : n, stdout);
  printf("%s\n", n > max ? "\n[...]" : "");
}

/* ---- step 6: a client-notary round trip on loopback ---- */

typedef struct {
  ot_notary *notary;
  const ot_key *client_auth, *client_enc;
  int rounds;
} notary_job;

static void *notary_thread(void *arg) {
  notary_job *j = arg;
  for (int i = 0; i < j->rounds; i++) {
    ot_request *req = NULL;
    TRY("notary receive", ot_notary_receive(j->notary, 10000, &req));
    ot_buffer *content = NULL;
    TRY("notary verify", ot_request_verify(req, j->client_auth, &content));
    printf("    notary: verified request from the client: %.*s", (int)ot_buffer_len(content),
           (const char *)ot_buffer_data(content));
    const char *reply = "<OTmessage>\n<@checkServerID success=\"true\"/>\n</OTmessage>\n";
    TRY("notary reply", ot_notary_reply(j->notary, req, (const uint8_t *)reply, strlen(reply), j->client_enc));
    ot_buffer_free(content);
    ot_request_free(req);
  }
  return NULL;
}

static void transport_demo(void) {
  printf("\n[6] client <-> notary round trip over ZeroMQ REQ/REP on loopback\n");
  ot_key *c_auth = NULL, *c_enc = NULL, *n_auth = NULL, *n_enc = NULL;
  TRY("key generation", ot_key_generate(2048, &c_auth));
  TRY("key generation", ot_key_generate(2048, &c_enc));
  TRY("key generation", ot_key_generate(2048, &n_auth));
  TRY("key generation", ot_key_generate(2048, &n_enc));
  ot_buffer *n_id = NULL;
  TRY("NymID", ot_key_nym_id(n_auth, &n_id));
  const char *notary_id = (const char *)ot_buffer_data(n_id);

  notary_job job = {NULL, c_auth, c_enc, 2};
  TRY("notary bind", ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, notary_id, NULL, &job.notary));
  ot_buffer *ep = NULL;
  TRY("endpoint", ot_notary_endpoint(job.notary, &ep));
  printf("    notary %s listening on %s\n", notary_id, (const char *)ot_buffer_data(ep));
  pthread_t t;
  pthread_create(&t, NULL, notary_thread, &job);

  ot_session_options *opts = NULL;
  TRY("options", ot_session_options_new(&opts));
  TRY("options", ot_session_options_set(opts, "latency_delay_after", 0));
  ot_session *s = NULL;
  TRY("session", ot_session_new((const char *)ot_buffer_data(ep), opts, &s));
  TRY("identity", ot_session_set_identity(s, c_auth, c_enc));
  TRY("notary", ot_session_set_notary(s, notary_id, n_enc, n_auth));

  /* 6a: by hand, to show the frames: sign, seal to the notary, bare armor out; bookended in. */
  const char *req = "<OTmessage>\n<checkServerID requestNum=\"1\"/>\n</OTmessage>\n";
  ot_buffer *signed_req = NULL, *frame = NULL, *reply = NULL, *plain = NULL, *content = NULL;
  ot_envelope *env = NULL, *renv = NULL;
  TRY("sign", ot_signed_create("MESSAGE", (const uint8_t *)req, strlen(req), c_auth, NULL, &signed_req));
  ot_recipient to = {notary_id, n_enc};
  TRY("seal", ot_envelope_seal(&to, 1, ot_buffer_data(signed_req), ot_buffer_len(signed_req), &env));
  TRY("armor", ot_envelope_to_armor(env, 0, &frame));
  excerpt("request frame sent (bare envelope armor, one ZeroMQ frame)", frame, 200);
  TRY("exchange", ot_session_exchange(s, ot_buffer_data(frame), ot_buffer_len(frame), &reply));
  excerpt("reply frame received", reply, 300);
  TRY("reply envelope", ot_envelope_from_armor(ot_buffer_data(reply), ot_buffer_len(reply), &renv));
  TRY("open reply", ot_envelope_open(renv, NULL, c_enc, &plain));
  TRY("verify reply", ot_signed_verify(ot_buffer_data(plain), ot_buffer_len(plain), n_auth, &content));
  printf("    client: opened the reply and verified the notary's signature: %.*s", (int)ot_buffer_len(content),
         (const char *)ot_buffer_data(content));

  /* 6b: the same in one call. */
  ot_buffer *r2 = NULL;
  TRY("request", ot_session_request(s, (const uint8_t *)req, strlen(req), &r2));
  printf("    ot_session_request did all of that in one call: %.*s", (int)ot_buffer_len(r2), (const char *)ot_buffer_data(r2));
  pthread_join(t, NULL);

  ot_buffer_free(r2);
  ot_buffer_free(content);
  ot_buffer_free(plain);
  ot_envelope_free(renv);
  ot_buffer_free(reply);
  ot_buffer_free(frame);
  ot_envelope_free(env);
  ot_buffer_free(signed_req);
  ot_session_free(s);
  ot_session_options_free(opts);
  ot_buffer_free(ep);
  ot_notary_free(job.notary);
  ot_buffer_free(n_id);
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
}

int main(void) {
  printf("ot-transport %s demo\n\n", ot_version());

  printf("[1] generating RSA-2048 keys for the sender (Alice) and two recipients (Bob, Carol)\n");
  ot_key *alice = NULL, *bob = NULL, *carol = NULL, *alice_pub = NULL;
  TRY("key generation", ot_key_generate(2048, &alice));
  TRY("key generation", ot_key_generate(2048, &bob));
  TRY("key generation", ot_key_generate(2048, &carol));
  TRY("public key", ot_key_public(alice, &alice_pub));
  ot_buffer *id_alice = NULL, *id_bob = NULL, *id_carol = NULL;
  TRY("NymID", ot_key_nym_id(alice, &id_alice));
  TRY("NymID", ot_key_nym_id(bob, &id_bob));
  TRY("NymID", ot_key_nym_id(carol, &id_carol));
  printf("    Alice NymID %s\n    Bob   NymID %s\n    Carol NymID %s\n\n", (const char *)ot_buffer_data(id_alice),
         (const char *)ot_buffer_data(id_bob), (const char *)ot_buffer_data(id_carol));

  char message[512];
  snprintf(message, sizeof message,
           "<?xml version=\"1.0\"?>\n\n<OTmessage\n version=\"2.0\">\n\n<sendUserMessage\n requestNum=\"7\"\n"
           " nymID=\"%s\">\n\nHello Bob and Carol!\n</sendUserMessage>\n\n</OTmessage>\n",
           (const char *)ot_buffer_data(id_alice));

  printf("[2] Alice signs the message (RSA-PSS, MGF1-SHA-256, max salt, over SAMY)\n");
  ot_buffer *signed_text = NULL;
  TRY("signing", ot_signed_create("MESSAGE", (const uint8_t *)message, strlen(message), alice, NULL, &signed_text));
  excerpt("signed text", signed_text, 400);

  printf("\n[3] sealing the signed text to Bob and Carol (legacy v1 envelope)\n");
  ot_recipient to[2] = {{(const char *)ot_buffer_data(id_bob), bob}, {(const char *)ot_buffer_data(id_carol), carol}};
  ot_envelope *env = NULL;
  TRY("sealing", ot_envelope_seal(to, 2, ot_buffer_data(signed_text), ot_buffer_len(signed_text), &env));
  printf("    recipients: %zu\n", ot_envelope_recipient_count(env));

  printf("\n[4] armoring the envelope for the wire\n");
  ot_buffer *armor = NULL;
  TRY("armoring", ot_envelope_to_armor(env, 1, &armor));
  excerpt("armored envelope", armor, 300);

  struct { const char *name; ot_key *key; ot_buffer *id; } who[2] = {{"Bob", bob, id_bob}, {"Carol", carol, id_carol}};
  for (int i = 0; i < 2; i++) {
    printf("\n[5] %s de-armors, opens and verifies\n", who[i].name);
    ot_envelope *received = NULL;
    ot_buffer *plain = NULL, *content = NULL;
    TRY("de-armoring", ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &received));
    TRY("opening", ot_envelope_open(received, (const char *)ot_buffer_data(who[i].id), who[i].key, &plain));
    TRY("verifying", ot_signed_verify(ot_buffer_data(plain), ot_buffer_len(plain), alice_pub, &content));
    printf("    opened %zu bytes; Alice's signature verifies; content matches: %s\n", ot_buffer_len(plain),
           strcmp((const char *)ot_buffer_data(content), message) == 0 ? "yes" : "NO");
    if (strcmp((const char *)ot_buffer_data(content), message) != 0) return 1;
    ot_buffer_free(content);
    ot_buffer_free(plain);
    ot_envelope_free(received);
  }

  printf("\n[5'] Alice cannot open it (she is not a recipient): ");
  ot_envelope *received = NULL;
  ot_buffer *plain = NULL;
  TRY("de-armoring", ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &received));
  ot_result rc = ot_envelope_open(received, NULL, alice, &plain);
  printf("%s (%s)\n", ot_result_str(rc), ot_last_error());
  ot_envelope_free(received);

  ot_buffer_free(armor);
  ot_envelope_free(env);
  ot_buffer_free(signed_text);
  ot_buffer_free(id_alice);
  ot_buffer_free(id_bob);
  ot_buffer_free(id_carol);
  ot_key_free(alice_pub);
  ot_key_free(alice);
  ot_key_free(bob);
  ot_key_free(carol);
  transport_demo();
  printf("\ndemo finished\n");
  return rc == OT_ERR_NO_MATCHING_RECIPIENT ? 0 : 1;
}
