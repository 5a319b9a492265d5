/* The real legacy envelopes, opened from C through the real key chains:
 *  2013: passphrase "test" -> wallet <cachedKey> -> master key -> credential's encrypted E key
 *        -> purse <token> (v1 envelope, NymID DYEB...);
 *  2011: cert file + passphrase "test" -> nym file (signed) -> <mailMessage> (signed) ->
 *        <messagePayload> (v0 envelope). */
#include "harness.h"

#define Y13 "fixtures/legacy-0.89-2013/client_data/"
#define Y11 "fixtures/legacy-0.72-2011/client_data/"
#define DYEB "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"

/* String-path armor -> new C string (caller frees with ot_buffer_free). */
static ot_buffer *dearmor(const char *text) {
  ot_buffer *out = NULL;
  CHECK_OK(ot_armor_decode((const uint8_t *)text, strlen(text), OT_ARMOR_STRING, &out));
  return out;
}

static void test_2013_purse_token(void) {
  char *wallet_file = ot_test_read(Y13 "wallet.xml", NULL);
  ot_buffer *wallet = dearmor(wallet_file);
  char *cached = ot_test_element(BUF_STR(wallet), "cachedKey", NULL);
  CHECK(cached != NULL);
  ot_buffer *master = NULL, *nope = NULL;
  CHECK_RC(ot_symkey_unlock((const uint8_t *)cached, strlen(cached), (const uint8_t *)"wrong", 5, &nope), OT_ERR_BAD_PASSPHRASE);
  CHECK(nope == NULL);
  CHECK_OK(ot_symkey_unlock((const uint8_t *)cached, strlen(cached), (const uint8_t *)"test", 4, &master));
  CHECK(ot_buffer_len(master) == 16);

  char *cred_file = ot_test_read(Y13 "credentials/" DYEB "/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ", NULL);
  ot_buffer *cred = dearmor(cred_file);
  char *priv_e = ot_test_element(BUF_STR(cred), "privateInfo", "key=\"E\"");
  CHECK(priv_e != NULL);
  ot_buffer *pem = dearmor(priv_e);
  ot_key *e_key = NULL;
  CHECK_RC(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), (const uint8_t *)"test", 4, &e_key), OT_ERR_BAD_PASSPHRASE);
  CHECK_OK(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), ot_buffer_data(master), ot_buffer_len(master), &e_key));

  char *purse_file = ot_test_read(Y13 "purse/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG/" DYEB "/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF", NULL);
  ot_buffer *purse = dearmor(purse_file);
  char *token = ot_test_element(BUF_STR(purse), "token", NULL);
  CHECK(token != NULL);
  ot_envelope *env = NULL;
  CHECK_OK(ot_envelope_from_armor((const uint8_t *)token, strlen(token), &env));
  CHECK(ot_envelope_recipient_count(env) == 1);
  ot_buffer *pt = NULL;
  CHECK_OK(ot_envelope_open(env, DYEB, e_key, &pt));
  CHECK(pt && ot_buffer_len(pt) == 1444);
  CHECK(pt && strncmp(BUF_STR(pt), "-----BEGIN SIGNED CASH TOKEN-----", 33) == 0);
  /* Re-armoring reproduces the legacy text exactly. */
  ot_buffer *again = NULL;
  CHECK_OK(ot_envelope_to_armor(env, 0, &again));
  CHECK(strcmp(BUF_STR(again), token) == 0);

  ot_buffer_free(again);
  ot_buffer_free(pt);
  ot_envelope_free(env);
  free(token);
  ot_buffer_free(purse);
  free(purse_file);
  ot_key_free(e_key);
  ot_buffer_free(pem);
  free(priv_e);
  ot_buffer_free(cred);
  free(cred_file);
  ot_buffer_free(master);
  free(cached);
  ot_buffer_free(wallet);
  free(wallet_file);
}

static void test_2011_mail_message(void) {
  size_t cert_len = 0, nym_len = 0;
  char *cert = ot_test_read(Y11 "certs/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", &cert_len);
  ot_key *key = NULL;
  CHECK_OK(ot_key_load((const uint8_t *)cert, cert_len, (const uint8_t *)"test", 4, &key));
  ot_buffer *nym = NULL;
  CHECK_OK(ot_key_nym_id(key, &nym));
  CHECK(strcmp(BUF_STR(nym), "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV") == 0);

  char *nymfile = ot_test_read(Y11 "nyms/T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV", &nym_len);
  ot_buffer *outer = NULL;
  CHECK_OK(ot_signed_verify((const uint8_t *)nymfile, nym_len, key, &outer));
  char *payload_armor = ot_test_element(BUF_STR(outer), "filePayload", NULL);
  ot_buffer *payload = dearmor(payload_armor);
  char *mail_armor = ot_test_element(BUF_STR(payload), "mailMessage", NULL);
  ot_buffer *mail = dearmor(mail_armor);
  ot_buffer *inner = NULL;
  CHECK_OK(ot_signed_verify(ot_buffer_data(mail), ot_buffer_len(mail), key, &inner));
  char *env_armor = ot_test_element(BUF_STR(inner), "messagePayload", NULL);
  ot_envelope *env = NULL;
  CHECK_OK(ot_envelope_from_armor((const uint8_t *)env_armor, strlen(env_armor), &env));
  ot_buffer *pt = NULL;
  CHECK_OK(ot_envelope_open(env, NULL, key, &pt));
  CHECK(pt && strcmp(BUF_STR(pt),
                     "Subject:Just testing\nblah blah blah\n\nI can't believe I finally have storage "
                     "working AND I have armored text packing. AND this probably works on Windows now.") == 0);

  ot_buffer_free(pt);
  ot_envelope_free(env);
  free(env_armor);
  ot_buffer_free(inner);
  ot_buffer_free(mail);
  free(mail_armor);
  ot_buffer_free(payload);
  free(payload_armor);
  ot_buffer_free(outer);
  free(nymfile);
  ot_buffer_free(nym);
  ot_key_free(key);
  free(cert);
}

int main(void) {
  test_2013_purse_token();
  test_2011_mail_message();
  return ot_test_finish("test_legacy_fixtures");
}
