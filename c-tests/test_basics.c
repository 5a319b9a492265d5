/* Version, result texts, hashes, IDs, armor, and the NULL/free conventions. */
#include "harness.h"

static int hex_eq(const uint8_t *b, size_t n, const char *hex) {
  char tmp[3];
  for (size_t i = 0; i < n; i++) {
    snprintf(tmp, sizeof tmp, "%02x", b[i]);
    if (hex[2 * i] != tmp[0] || hex[2 * i + 1] != tmp[1]) return 0;
  }
  return hex[2 * n] == 0;
}

int main(void) {
  {
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", OT_TRANSPORT_VERSION_MAJOR, OT_TRANSPORT_VERSION_MINOR,
             OT_TRANSPORT_VERSION_PATCH);
    CHECK(strcmp(ot_version(), want) == 0);
  }
  CHECK(strcmp(ot_result_str(OT_OK), "ok") == 0);
  CHECK(strcmp(ot_result_str(OT_ERR_DECRYPT_FAILED), "decryption failed") == 0);
  CHECK(strcmp(ot_result_str(9999), "unknown result code") == 0);
  CHECK(strcmp(ot_result_str(-1), "unknown result code") == 0);
  CHECK(OT_RESULT_MAX == OT_ERR_UNSUPPORTED);

  /* Hashes: FIPS 180-2 "abc", ISO Whirlpool "abc", and SAMY = SHA-256 ^ Whirlpool[0..32]. */
  uint8_t sha[OT_SHA256_LEN], wp[OT_WHIRLPOOL_LEN], samy[OT_SAMY_LEN];
  CHECK_OK(ot_hash_sha256((const uint8_t *)"abc", 3, sha));
  CHECK(hex_eq(sha, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
  CHECK_OK(ot_hash_whirlpool((const uint8_t *)"abc", 3, wp));
  CHECK(hex_eq(wp, 64,
               "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c"
               "7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5"));
  CHECK_OK(ot_hash_samy((const uint8_t *)"abc", 3, samy));
  int xor_ok = 1;
  for (int i = 0; i < 32; i++) xor_ok &= samy[i] == (uint8_t)(sha[i] ^ wp[i]);
  CHECK(xor_ok);
  CHECK_OK(ot_hash_samy(NULL, 0, samy)); /* empty input may be NULL */
  CHECK_RC(ot_hash_samy(NULL, 1, samy), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_hash_samy((const uint8_t *)"x", 1, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK(strstr(ot_last_error(), "out") != NULL);

  /* IDs: SAMY of the empty string in base62 (derived vector). */
  ot_buffer *id = NULL, *back = NULL;
  CHECK_OK(ot_id_of(NULL, 0, &id));
  CHECK(strcmp(BUF_STR(id), "xLoUQyXpDQqIkb2XC15NdVLRz93swViSnvGM1BoP9da") == 0);
  CHECK_OK(ot_id_decode(BUF_STR(id), &back));
  CHECK(ot_buffer_len(back) == 32);
  ot_buffer_free(back);
  ot_buffer_free(id);
  id = (ot_buffer *)0x1; /* outputs are untouched on failure */
  CHECK_RC(ot_id_decode("not-base62!", &id), OT_ERR_MALFORMED);
  CHECK(id == (ot_buffer *)0x1);
  CHECK_OK(ot_id_encode((const uint8_t *)"\x00\x01\x00", 3, &id));
  CHECK(strcmp(BUF_STR(id), "48") == 0);
  ot_buffer_free(id);

  /* Armor: both paths, bookends, garbage. */
  const char *msg = "<OTmessage>hello</OTmessage>\n";
  ot_buffer *arm = NULL, *dec = NULL;
  CHECK_OK(ot_armor_encode((const uint8_t *)msg, strlen(msg), OT_ARMOR_STRING, "MESSAGE", &arm));
  CHECK(strncmp(BUF_STR(arm), "-----BEGIN OT ARMORED MESSAGE-----\nVersion: Open Transactions ", 62) == 0);
  CHECK_OK(ot_armor_decode(ot_buffer_data(arm), ot_buffer_len(arm), OT_ARMOR_STRING, &dec));
  CHECK(ot_buffer_len(dec) == strlen(msg) && memcmp(ot_buffer_data(dec), msg, strlen(msg)) == 0);
  ot_buffer_free(dec);
  ot_buffer_free(arm);
  CHECK_OK(ot_armor_encode((const uint8_t *)"240", 3, OT_ARMOR_DATA, NULL, &arm));
  CHECK(strcmp(BUF_STR(arm), "CgMyNDA=\n") == 0);
  ot_buffer_free(arm);
  /* A real <ackReplies> value from a legacy message: zlib(protobuf "240"). */
  const char *ack = "eJzjYjYyMQAAAXEApA==";
  CHECK_OK(ot_armor_decode((const uint8_t *)ack, strlen(ack), OT_ARMOR_STRING, &dec));
  CHECK(strcmp(BUF_STR(dec), "240") == 0);
  ot_buffer_free(dec);
  dec = NULL;
  CHECK_RC(ot_armor_decode((const uint8_t *)"%%% garbage %%%", 15, OT_ARMOR_DATA, &dec), OT_ERR_MALFORMED);
  CHECK(dec == NULL);
  CHECK(strlen(ot_last_error()) > 0);
  CHECK_RC(ot_armor_encode((const uint8_t *)"x", 1, 7, NULL, &arm), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_armor_encode((const uint8_t *)"x", 1, OT_ARMOR_DATA, "bad type", &arm), OT_ERR_INVALID_ARGUMENT);

  /* Free functions accept NULL; accessors tolerate NULL. */
  ot_buffer_free(NULL);
  ot_key_free(NULL);
  ot_envelope_free(NULL);
  CHECK(ot_buffer_data(NULL) == NULL);
  CHECK(ot_buffer_len(NULL) == 0);
  CHECK(ot_key_bits(NULL) == 0);
  CHECK(ot_key_is_private(NULL) == 0);
  CHECK(ot_envelope_recipient_count(NULL) == 0);
  return ot_test_finish("test_basics");
}
