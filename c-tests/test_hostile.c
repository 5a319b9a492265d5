/* Hostile C callers: wrong non-NULL values, absurd lengths, truncated and bit-flipped inputs,
 * foreign and already-freed handles. Every call must return an error code (no crash, no abort,
 * no leak — this test also runs under ASan/UBSan and valgrind), and ot_last_error() must say what
 * was wrong. NULL for each pointer argument of every export is the generated test_null_walk
 * (c-tests/gen_null_walk.py); every handle argument with freed, stale and wrong-type handles is
 * the generated test_handle_walk. */
#include <stdint.h>

#include "harness.h"

static int cases = 0;

/* Expect `expr` to fail with `want`, with a non-empty detail text that mentions `needle`. */
#define HOSTILE(expr, want, needle)                                                                \
  do {                                                                                           \
    cases++;                                                                                     \
    CHECK_RC(expr, want);                                                                        \
    if (strlen(ot_last_error()) == 0 || strstr(ot_last_error(), (needle)) == NULL) {             \
      ot_test_failures++;                                                                        \
      fprintf(stderr, "%s:%d: detail \"%s\" does not mention \"%s\"\n", __FILE__, __LINE__,      \
              ot_last_error(), (const char *)(needle));                                          \
    }                                                                                            \
  } while (0)

/* The codes bad input may give: never INTERNAL (a caught panic), STATE, TIMEOUT or TRANSPORT,
 * and always with a detail text. */
static int input_error(ot_result r) {
  switch (r) {
    case OT_ERR_INVALID_ARGUMENT: case OT_ERR_MALFORMED: case OT_ERR_KEY_FORMAT:
    case OT_ERR_BAD_PASSPHRASE: case OT_ERR_DECRYPT_FAILED: case OT_ERR_NO_MATCHING_RECIPIENT:
    case OT_ERR_BAD_SIGNATURE: case OT_ERR_UNSUPPORTED:
      return strlen(ot_last_error()) > 0;
    default:
      return 0;
  }
}

#define NUL OT_ERR_NULL_ARGUMENT
#define INV OT_ERR_INVALID_ARGUMENT

int main(void) {
  ot_key *key = NULL, *pub = NULL;
  CHECK_OK(ot_key_generate(1024, &key));
  CHECK_OK(ot_key_public(key, &pub));
  ot_buffer *idb = NULL, *buf = NULL;
  CHECK_OK(ot_key_nym_id(key, &idb));
  const char *id = BUF_STR(idb);
  ot_recipient rcp = {id, pub};
  ot_envelope *env = NULL;
  CHECK_OK(ot_envelope_seal(&rcp, 1, (const uint8_t *)"secret", 6, &env));
  ot_buffer *env_bytes = NULL, *env_armor = NULL, *signed_text = NULL, *pem = NULL;
  CHECK_OK(ot_envelope_to_bytes(env, &env_bytes));
  CHECK_OK(ot_envelope_to_armor(env, 1, &env_armor));
  CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)"hello\n", 6, key, NULL, &signed_text));
  CHECK_OK(ot_key_export(key, OT_KEY_FORMAT_PKCS8_PLAIN, NULL, 0, &pem));
  ot_session_options *opts = NULL;
  CHECK_OK(ot_session_options_new(&opts));
  uint8_t out32[32];
  const uint8_t *d = (const uint8_t *)"data";
  ot_key *k2 = NULL;
  ot_envelope *e2 = NULL;
  ot_session *sess = NULL;
  ot_notary *nt = NULL;
  ot_request *req = NULL;

  /* 1. NULL arguments: every pointer parameter of every export is walked by the generated
   * test_null_walk (c-tests/gen_null_walk.py). What stays here are wrong values that are not
   * NULL: a public key where a private one is needed, bad Z85 text, a request before the
   * identity is set, a receive with nothing queued. */
  HOSTILE(ot_session_options_set_curve_client(opts, "a", "b", "c"), INV, "Z85");
  CHECK_OK(ot_session_new("tcp://127.0.0.1:9", opts, &sess));
  HOSTILE(ot_session_set_identity(sess, pub, key), INV, "private");
  HOSTILE(ot_session_request(sess, d, 4, &buf), OT_ERR_STATE, "identity");
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", key, key, id, opts, &nt));
  HOSTILE(ot_notary_receive(nt, 0, &req), OT_ERR_TIMEOUT, "no request");

  /* 2. Zero and absurd lengths. */
  HOSTILE(ot_armor_decode(d, 0, OT_ARMOR_DATA, &buf), OT_ERR_MALFORMED, "");
  HOSTILE(ot_armor_decode(d, SIZE_MAX, OT_ARMOR_DATA, &buf), INV, "too large");
  HOSTILE(ot_envelope_parse(d, 0, &e2), OT_ERR_MALFORMED, "");
  HOSTILE(ot_envelope_parse(d, SIZE_MAX, &e2), INV, "too large");
  HOSTILE(ot_key_load(d, 0, NULL, 0, &k2), OT_ERR_KEY_FORMAT, "empty");
  HOSTILE(ot_key_load(d, SIZE_MAX, NULL, 0, &k2), INV, "too large");
  HOSTILE(ot_signed_verify(d, 0, key, NULL), OT_ERR_MALFORMED, "");
  HOSTILE(ot_signed_content(d, SIZE_MAX, &buf), INV, "too large");
  HOSTILE(ot_hash_samy(d, SIZE_MAX, out32), INV, "too large");
  uint8_t *big = calloc(1, 1025);
  HOSTILE(ot_id_encode(big, 1025, &buf), INV, "at most 1024");
  free(big);
  HOSTILE(ot_envelope_seal(&rcp, 0, d, 4, &e2), INV, "recipient count");
  HOSTILE(ot_envelope_seal(&rcp, SIZE_MAX, d, 4, &e2), INV, "recipient count");
  HOSTILE(ot_envelope_recipient_id(env, SIZE_MAX, &buf), INV, "out of range");
  HOSTILE(ot_envelope_encrypt_symmetric(out32, 0, d, 4, &e2), INV, "16 bytes");
  HOSTILE(ot_key_generate(UINT32_MAX, &k2), INV, "key size");
  HOSTILE(ot_key_export(key, UINT32_MAX, NULL, 0, &buf), INV, "format");
  HOSTILE(ot_armor_encode(d, 4, UINT32_MAX, NULL, &buf), INV, "armor kind");
  HOSTILE(ot_session_options_set(opts, "latency_receive_ms", INT64_MAX), INV, "outside");
  HOSTILE(ot_session_options_set(opts, "latency_receive_ms", -1), INV, "outside");
  HOSTILE(ot_session_options_set(opts, "", 1), INV, "unknown option");

  /* 3. Truncated and bit-flipped inputs: errors or (rarely, for a flip that keeps the structure
   * valid) success — never a crash. Every proper prefix of an envelope is refused by the parser
   * (OT_ERR_MALFORMED, with a detail); envelope open stays uniform; a truncated or flipped text
   * never verifies as anything but the signed content. */
  size_t n = ot_buffer_len(env_bytes);
  uint8_t *copy = malloc(n);
  int errors = 0, opened = 0;
  for (size_t cut = 0; cut < n; cut++) {
    ot_result rc = ot_envelope_parse(ot_buffer_data(env_bytes), cut, &e2);
    if (rc == OT_OK) {
      if (ot_envelope_open(e2, id, key, &buf) == OT_OK) { opened++; ot_buffer_free(buf); }
      ot_envelope_free(e2);
    } else {
      CHECK(rc == OT_ERR_MALFORMED && strlen(ot_last_error()) > 0);
      errors++;
    }
    cases++;
  }
  CHECK(opened == 0);
  CHECK(errors == (int)n); /* every truncation is refused, none half-parsed */
  int flips = 0, flip_errors = 0, flip_opened = 0;
  for (size_t i = 0; i < n * 8; i += 7) {
    memcpy(copy, ot_buffer_data(env_bytes), n);
    copy[i / 8] ^= (uint8_t)(1u << (i % 8));
    flips++;
    ot_result rc = ot_envelope_parse(copy, n, &e2);
    if (rc == OT_OK) {
      rc = ot_envelope_open(e2, id, key, &buf);
      if (rc == OT_OK) {
        /* The legacy envelope has no MAC: a flip in the IV or in unused bytes leaves it
         * openable (same length); a flip in the wrapped key very rarely unwraps to another
         * 16-byte key whose garbage plaintext happens to end in valid padding. Either way what
         * comes out is no longer than the ciphertext. */
        flip_opened++;
        CHECK(ot_buffer_len(buf) < n);
        ot_buffer_free(buf);
      } else {
        CHECK(rc == OT_ERR_DECRYPT_FAILED || rc == OT_ERR_NO_MATCHING_RECIPIENT || rc == OT_ERR_MALFORMED);
        CHECK(rc != OT_ERR_DECRYPT_FAILED ||
              strcmp(ot_last_error(), "the envelope could not be opened with this key") == 0);
        flip_errors++;
      }
      ot_envelope_free(e2);
    } else {
      CHECK(rc == OT_ERR_MALFORMED);
      flip_errors++;
    }
    cases++;
  }
  printf("envelope bit flips: %d, refused %d, opened %d (IV or unused bytes)\n", flips, flip_errors,
         flip_opened);
  CHECK(flip_errors + flip_opened == flips);
  free(copy);
  const ot_buffer *texts[3] = {env_armor, signed_text, pem};
  for (int t = 0; t < 3; t++) {
    size_t len = ot_buffer_len(texts[t]);
    char *c = malloc(len);
    int refused = 0, tried = 0;
    for (size_t cut = 0; cut < len; cut += 3) {
      ot_result r1 = ot_envelope_from_armor(ot_buffer_data(texts[t]), cut, &e2);
      if (r1 == OT_OK) ot_envelope_free(e2);
      ot_result r2 = ot_signed_verify(ot_buffer_data(texts[t]), cut, pub, &buf);
      if (r2 == OT_OK) {
        /* only the (nearly) complete signed text verifies, and to its own content */
        CHECK(t == 1 && ot_buffer_len(buf) == 6 && memcmp(ot_buffer_data(buf), "hello\n", 6) == 0);
        ot_buffer_free(buf);
      }
      ot_result r3 = ot_key_load(ot_buffer_data(texts[t]), cut, NULL, 0, &k2);
      if (r3 == OT_OK) ot_key_free(k2);
      ot_result r4 = ot_armor_decode(ot_buffer_data(texts[t]), cut, OT_ARMOR_STRING, &buf);
      if (r4 == OT_OK) ot_buffer_free(buf);
      /* Each failure is a documented code with a detail text. */
      ot_result rs[4] = {r1, r2, r3, r4};
      for (int k = 0; k < 4; k++) {
        CHECK(rs[k] == OT_OK || input_error(rs[k]));
        if (rs[k] != OT_OK) refused++;
      }
      tried += 4;
      cases += 4;
    }
    printf("text %d truncations: %d calls, %d refused\n", t, tried, refused);
    for (size_t i = 0; i < len; i += 5) {
      memcpy(c, ot_buffer_data(texts[t]), len);
      c[i] ^= 0x20;
      ot_result r1 = ot_envelope_from_armor((const uint8_t *)c, len, &e2);
      if (r1 == OT_OK) {
        if (ot_envelope_open(e2, id, key, &buf) == OT_OK) ot_buffer_free(buf);
        ot_envelope_free(e2);
      }
      ot_result r2 = ot_signed_verify((const uint8_t *)c, len, pub, &buf);
      if (r2 == OT_OK) {
        /* a flip outside the signed part may leave it verifiable, never with other content */
        CHECK(t == 1 && ot_buffer_len(buf) == 6 && memcmp(ot_buffer_data(buf), "hello\n", 6) == 0);
        ot_buffer_free(buf);
      }
      ot_result r3 = ot_key_load((const uint8_t *)c, len, NULL, 0, &k2);
      if (r3 == OT_OK) ot_key_free(k2);
      cases += 3;
    }
    free(c);
  }

  /* 4. Foreign handles, and handles already freed. */
  HOSTILE(ot_key_bits((const ot_key *)env) == 0 ? OT_ERR_INVALID_ARGUMENT : OT_OK, INV, "");
  HOSTILE(ot_key_nym_id((const ot_key *)env, &buf), INV, "not a live ot_key");
  HOSTILE(ot_envelope_open((const ot_envelope *)key, id, key, &buf), INV, "not a live ot_envelope");
  HOSTILE(ot_envelope_open(env, id, (const ot_key *)env, &buf), INV, "private_key");
  HOSTILE(ot_session_request((ot_session *)nt, d, 4, &buf), INV, "not a live ot_session");
  HOSTILE(ot_notary_receive((ot_notary *)sess, 0, &req), INV, "not a live ot_notary");
  HOSTILE(ot_session_new("tcp://127.0.0.1:9", (const ot_session_options *)key, &sess), INV, "options");
  ot_key_free((ot_key *)env); /* wrong type: ignored, the envelope stays usable */
  CHECK(ot_envelope_recipient_count(env) == 1);
  ot_key *gone = NULL;
  CHECK_OK(ot_key_generate(1024, &gone));
  ot_key_free(gone);
  HOSTILE(ot_key_nym_id(gone, &buf), INV, "already freed");
  ot_key_free(gone); /* double free: a no-op */
  ot_buffer *gone_buf = NULL;
  CHECK_OK(ot_id_of(d, 4, &gone_buf));
  ot_buffer_free(gone_buf);
  CHECK(ot_buffer_data(gone_buf) == NULL && ot_buffer_len(gone_buf) == 0);
  ot_buffer_free(gone_buf);
  int stack_thing = 0;
  HOSTILE(ot_envelope_to_bytes((const ot_envelope *)&stack_thing, &buf), INV, "not from this library");

  printf("hostile cases tried: %d\n", cases);
  ot_notary_free(nt);
  ot_session_free(sess);
  ot_session_options_free(opts);
  ot_buffer_free(pem);
  ot_buffer_free(signed_text);
  ot_buffer_free(env_armor);
  ot_buffer_free(env_bytes);
  ot_envelope_free(env);
  ot_buffer_free(idb);
  ot_key_free(pub);
  ot_key_free(key);
  return ot_test_finish("test_hostile");
}
