/* ot-transport demo: what one legacy-compatible OT message goes through.
 *
 *   1. keys are generated for a sender and two recipients;
 *   2. the sender signs a message (RSA-PSS over SAMY) as OT signed text;
 *   3. the signed text is sealed to both recipients (AES-128-CBC + RSA PKCS#1 v1.5 key wrap);
 *   4. the envelope is armored as it would cross the wire;
 *   5. each recipient de-armors it, opens it with their own key and verifies the signature.
 *   (6. with the transport, a client-notary round trip on loopback.)
 */
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
  printf("\ndemo finished\n");
  return rc == OT_ERR_NO_MATCHING_RECIPIENT ? 0 : 1;
}
