/* Keys, envelopes and signed text through the C API. */
#include "harness.h"

/* Issue 23: the legacy reader keeps at most 2047 bytes of a line per read and leaves the newline
 * to the next read, so a 2047-byte line reads back with an extra empty line after it. It keeps a
 * CRLF line's '\r', so the '\r' counts: 2046 bytes is the longest LF line, 2045 + '\r' the
 * longest CRLF line. Longer lines are refused when signing (INVALID_ARGUMENT) and when reading
 * (MALFORMED, whatever the signature). */
static void line_boundaries(const ot_key *priv, const ot_key *pub) {
  static const char *eols[2] = {"\n", "\r\n"};
  for (int e = 0; e < 2; e++) {
    size_t eol_len = strlen(eols[e]);
    for (size_t n = 2045; n <= 2048; n++) {
      size_t kept = n + eol_len - 1; /* what the legacy reader keeps of the line */
      size_t len = 4 + n + eol_len + 5;
      char *c = malloc(len + 1);
      memcpy(c, "<a>\n", 4);
      memset(c + 4, 'm', n);
      memcpy(c + 4 + n, eols[e], eol_len);
      memcpy(c + 4 + n + eol_len, "</a>\n", 6);
      ot_buffer *t = NULL, *got = NULL;
      if (kept > 2046) {
        CHECK_RC(ot_signed_create("MESSAGE", (const uint8_t *)c, len, priv, NULL, &t), OT_ERR_INVALID_ARGUMENT);
        free(c);
        continue;
      }
      CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)c, len, priv, NULL, &t));
      CHECK_OK(ot_signed_verify(ot_buffer_data(t), ot_buffer_len(t), pub, &got));
      CHECK(ot_buffer_len(got) == len && memcmp(ot_buffer_data(got), c, len) == 0);
      ot_buffer_free(got);
      /* The same text with 1 or 2 more bytes in that line: while it fits, it parses and the
       * signature fails; past 2046 kept bytes it is MALFORMED, on both reading functions. */
      const char *line = strstr(BUF_STR(t), "<a>\n") + 4;
      size_t at = (size_t)(line - BUF_STR(t)), tlen = ot_buffer_len(t);
      for (size_t more = 1; more <= 2; more++) {
        char *longer = malloc(tlen + more);
        memcpy(longer, BUF_STR(t), at);
        memset(longer + at, 'm', more);
        memcpy(longer + at + more, BUF_STR(t) + at, tlen - at);
        int fits = kept + more <= 2046;
        CHECK_RC(ot_signed_verify((const uint8_t *)longer, tlen + more, pub, NULL),
                 fits ? OT_ERR_BAD_SIGNATURE : OT_ERR_MALFORMED);
        got = NULL;
        CHECK_RC(ot_signed_content((const uint8_t *)longer, tlen + more, &got), fits ? OT_OK : OT_ERR_MALFORMED);
        if (fits) CHECK(got && ot_buffer_len(got) == len + more);
        ot_buffer_free(got);
        free(longer);
      }
      ot_buffer_free(t);
      free(c);
    }
  }
}

int main(void) {
  ot_key *a = NULL, *b = NULL, *c = NULL, *a_pub = NULL;
  CHECK_OK(ot_key_generate(1024, &a));
  CHECK_OK(ot_key_generate(1024, &b));
  CHECK_OK(ot_key_generate(0, &c)); /* default size */
  CHECK(ot_key_bits(a) == 1024 && ot_key_bits(c) == 2048);
  CHECK(ot_key_is_private(a) == 1);
  CHECK_OK(ot_key_public(a, &a_pub));
  CHECK(ot_key_is_private(a_pub) == 0);
  CHECK_RC(ot_key_generate(1000, &c), OT_ERR_INVALID_ARGUMENT);

  ot_buffer *id_a = NULL, *id_b = NULL;
  CHECK_OK(ot_key_nym_id(a, &id_a));
  CHECK_OK(ot_key_nym_id(b, &id_b));
  CHECK(ot_buffer_len(id_a) > 30 && ot_buffer_len(id_a) <= 43);

  /* Export / load round trip, including a binary passphrase. */
  const uint8_t pass[16] = {0, 1, 2, 3, 255, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  ot_buffer *pem = NULL;
  CHECK_OK(ot_key_export(a, OT_KEY_FORMAT_PKCS8_ENCRYPTED_LEGACY, pass, sizeof pass, &pem));
  CHECK(strncmp(BUF_STR(pem), "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38) == 0);
  ot_key *a2 = NULL;
  CHECK_OK(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), pass, sizeof pass, &a2));
  CHECK_RC(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), (const uint8_t *)"no", 2, &c), OT_ERR_BAD_PASSPHRASE);
  CHECK_RC(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), NULL, 0, &c), OT_ERR_BAD_PASSPHRASE);
  ot_buffer_free(pem);
  ot_buffer *id_a2 = NULL;
  CHECK_OK(ot_key_nym_id(a2, &id_a2));
  CHECK(strcmp(BUF_STR(id_a), BUF_STR(id_a2)) == 0);
  ot_buffer_free(id_a2);
  CHECK_OK(ot_key_export(a, OT_KEY_FORMAT_OT_PUBLIC, NULL, 0, &pem));
  CHECK(strncmp(BUF_STR(pem), "- -----BEGIN PUBLIC KEY-----\nCpAC", 33) == 0);
  ot_buffer_free(pem);
  CHECK_RC(ot_key_export(a_pub, OT_KEY_FORMAT_PKCS8_PLAIN, NULL, 0, &pem), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_key_export(a, 99, NULL, 0, &pem), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_key_load((const uint8_t *)"garbage", 7, NULL, 0, &c), OT_ERR_KEY_FORMAT);

  /* Seal to two recipients, armor, parse back, open as each. */
  const char *msg = "<OTmessage>pay 100</OTmessage>\n";
  ot_recipient rs[2] = {{BUF_STR(id_a), a_pub}, {BUF_STR(id_b), b}};
  ot_envelope *env = NULL, *env2 = NULL;
  CHECK_OK(ot_envelope_seal(rs, 2, (const uint8_t *)msg, strlen(msg), &env));
  CHECK(ot_envelope_recipient_count(env) == 2);
  ot_buffer *armor = NULL;
  CHECK_OK(ot_envelope_to_armor(env, 1, &armor));
  CHECK(strncmp(BUF_STR(armor), "-----BEGIN OT ARMORED ENVELOPE-----\n", 36) == 0);
  CHECK_OK(ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &env2));
  ot_buffer_free(armor);
  ot_buffer *pt = NULL;
  CHECK_OK(ot_envelope_open(env2, BUF_STR(id_a), a, &pt));
  CHECK(pt && strcmp(BUF_STR(pt), msg) == 0);
  ot_buffer_free(pt);
  CHECK_OK(ot_envelope_open(env2, NULL, b, &pt)); /* NULL: the key's own NymID */
  CHECK(pt && strcmp(BUF_STR(pt), msg) == 0);
  ot_buffer_free(pt);
  pt = NULL;
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id_a), b, &pt), OT_ERR_DECRYPT_FAILED);
  CHECK(pt == NULL);
  CHECK(strcmp(ot_last_error(), "the envelope could not be opened with this key") == 0);
  CHECK_RC(ot_envelope_open(env2, "nobody", a, &pt), OT_ERR_NO_MATCHING_RECIPIENT);
  CHECK_RC(ot_envelope_open(env2, NULL, a_pub, &pt), OT_ERR_INVALID_ARGUMENT);
  ot_buffer *rid = NULL;
  CHECK_OK(ot_envelope_recipient_id(env2, 0, &rid));
  CHECK(strcmp(BUF_STR(rid), BUF_STR(id_a)) < 0 ? 1 : strcmp(BUF_STR(rid), BUF_STR(id_b)) <= 0);
  ot_buffer_free(rid);
  CHECK_RC(ot_envelope_recipient_id(env2, 2, &rid), OT_ERR_INVALID_ARGUMENT);

  /* Bytes round trip; hostile header; NUL in plaintext. */
  ot_buffer *bytes = NULL;
  CHECK_OK(ot_envelope_to_bytes(env, &bytes));
  ot_envelope *env3 = NULL;
  CHECK_OK(ot_envelope_parse(ot_buffer_data(bytes), ot_buffer_len(bytes), &env3));
  ot_envelope_free(env3);
  ot_buffer_free(bytes);
  uint8_t hostile[40] = {0, 1, 0xff, 0xff, 0xff, 0xff};
  env3 = NULL;
  CHECK_RC(ot_envelope_parse(hostile, sizeof hostile, &env3), OT_ERR_MALFORMED);
  CHECK(env3 == NULL);
  CHECK_RC(ot_envelope_seal(rs, 2, (const uint8_t *)"a\0b", 3, &env3), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_envelope_seal(rs, 0, (const uint8_t *)"a", 1, &env3), OT_ERR_INVALID_ARGUMENT);
  ot_recipient bad[1] = {{NULL, a}};
  CHECK_RC(ot_envelope_seal(bad, 1, (const uint8_t *)"a", 1, &env3), OT_ERR_NULL_ARGUMENT);
  ot_envelope_free(env2);
  ot_envelope_free(env);

  /* Signed text. */
  ot_buffer *signed_text = NULL, *content = NULL;
  CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), a, "ADT9", &signed_text));
  const char *head = "-----BEGIN SIGNED MESSAGE-----\nHash: SAMY\n\n";
  CHECK(strncmp(BUF_STR(signed_text), head, strlen(head)) == 0);
  CHECK_OK(ot_signed_verify(ot_buffer_data(signed_text), ot_buffer_len(signed_text), a_pub, &content));
  CHECK(strcmp(BUF_STR(content), msg) == 0);
  ot_buffer_free(content);
  CHECK_OK(ot_signed_verify(ot_buffer_data(signed_text), ot_buffer_len(signed_text), a_pub, NULL));
  CHECK_RC(ot_signed_verify(ot_buffer_data(signed_text), ot_buffer_len(signed_text), b, &content), OT_ERR_BAD_SIGNATURE);
  CHECK_OK(ot_signed_content(ot_buffer_data(signed_text), ot_buffer_len(signed_text), &content));
  CHECK(strcmp(BUF_STR(content), msg) == 0);
  ot_buffer_free(content);
  /* Flip one content byte: the signature no longer verifies. */
  size_t n = ot_buffer_len(signed_text);
  char *copy = malloc(n);
  memcpy(copy, ot_buffer_data(signed_text), n);
  char *p = strstr(copy, "pay 100");
  p[4] = '9';
  CHECK_RC(ot_signed_verify((const uint8_t *)copy, n, a_pub, NULL), OT_ERR_BAD_SIGNATURE);
  free(copy);
  ot_buffer_free(signed_text);
  CHECK_RC(ot_signed_create("MESSAGE", (const uint8_t *)"-x\n", 3, a, NULL, &signed_text), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_signed_create("MESSAGE", (const uint8_t *)"x\n", 2, a_pub, NULL, &signed_text), OT_ERR_INVALID_ARGUMENT);
  line_boundaries(a, a_pub);

  /* Symmetric envelope with a raw key. */
  const uint8_t raw[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ot_envelope *sym = NULL;
  CHECK_OK(ot_envelope_encrypt_symmetric(raw, 16, (const uint8_t *)"wallet data", 11, &sym));
  CHECK_OK(ot_envelope_decrypt_symmetric(sym, raw, 16, &pt));
  CHECK(strcmp(BUF_STR(pt), "wallet data") == 0);
  ot_buffer_free(pt);
  CHECK_RC(ot_envelope_decrypt_symmetric(sym, raw, 15, &pt), OT_ERR_INVALID_ARGUMENT);
  ot_envelope_free(sym);

  ot_buffer_free(id_a);
  ot_buffer_free(id_b);
  ot_key_free(a);
  ot_key_free(a2);
  ot_key_free(b);
  ot_key_free(c);
  ot_key_free(a_pub);
  return ot_test_finish("test_envelope_signed");
}
