/* Bounded input handling through the C ABI (issue 12, items 4, 5, 10, 11): a string-armor zlib
 * bomb given as a key is refused with OT_ERR_MALFORMED; error texts quote at most 64 characters
 * of user input; TCP ports outside 1-65535 are refused (an ephemeral `*`/0 only for a bind); a
 * UTF-8 BOM before an INI section is skipped and max_message_size = 0 is refused. Runs under
 * ASan/UBSan and valgrind like every C test. (Peak-memory figures for the bombs are measured by
 * tests/bombs.rs.) */
#include <stdint.h>

#include "harness.h"

#define BIG (10u * 1024u * 1024u)

/* 64 quoted characters plus the fixed text (the longest, the unknown-option error, lists every
 * option name): far below the 10 MB input. */
#define SHORT 600

static void check_short_error(const char *what) {
  size_t n = strlen(ot_last_error());
  CHECK(n > 0 && n < SHORT);
  if (n >= SHORT) fprintf(stderr, "%s: ot_last_error() is %zu bytes\n", what, n);
}

int main(void) {
  /* Item 4: string armor that inflates to 2 MiB, past the 1 MiB key limit. The first byte of
   * the payload is '-', as for an armored PEM key. Before: inflated whole, then
   * OT_ERR_INVALID_ARGUMENT. */
  size_t bomb_len = 2u * 1024u * 1024u;
  uint8_t *payload = malloc(bomb_len);
  CHECK(payload != NULL);
  memset(payload, '-', bomb_len);
  ot_buffer *armored = NULL;
  CHECK_OK(ot_armor_encode(payload, bomb_len, OT_ARMOR_STRING, NULL, &armored));
  CHECK(ot_buffer_len(armored) * 100 < bomb_len); /* ratio over 100:1 */
  ot_key *k = NULL;
  CHECK_RC(ot_key_load(ot_buffer_data(armored), ot_buffer_len(armored), NULL, 0, &k),
           OT_ERR_MALFORMED);
  CHECK(k == NULL);
  CHECK(strstr(ot_last_error(), "limit") != NULL);
  /* The same armor decodes through ot_armor_decode (2 MiB is under its 64 MiB limit). */
  ot_buffer *back = NULL;
  CHECK_OK(ot_armor_decode(ot_buffer_data(armored), ot_buffer_len(armored), OT_ARMOR_STRING, &back));
  CHECK(back != NULL && ot_buffer_len(back) == bomb_len);
  ot_buffer_free(back);
  ot_buffer_free(armored);
  free(payload);

  /* Item 5: a 10 MB bad INI number and a 10 MB option name. */
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  const char *head = "[latency]\nlatency_send_ms = ";
  size_t hl = strlen(head);
  char *ini = malloc(hl + BIG + 2);
  CHECK(ini != NULL);
  memcpy(ini, head, hl);
  memset(ini + hl, '7', BIG);
  ini[hl + BIG / 2] = 'x';
  ini[hl + BIG] = '\n';
  ini[hl + BIG + 1] = '\0';
  CHECK_RC(ot_session_options_load_ini(o, (const uint8_t *)ini, hl + BIG + 1), OT_ERR_MALFORMED);
  check_short_error("INI number");
  CHECK(strstr(ot_last_error(), "line 2") != NULL);
  memset(ini, 'n', BIG);
  ini[BIG] = '\0';
  CHECK_RC(ot_session_options_set(o, ini, 1), OT_ERR_INVALID_ARGUMENT);
  check_short_error("option name");
  free(ini);

  /* Item 11: BOM, and max_message_size = 0. */
  const char *bom = "\xEF\xBB\xBF[latency]\nlatency_send_ms=123\n";
  CHECK_OK(ot_session_options_load_ini(o, (const uint8_t *)bom, strlen(bom)));
  int64_t v = 0;
  CHECK_OK(ot_session_options_get(o, "latency_send_ms", &v));
  CHECK(v == 123);
  CHECK_RC(ot_session_options_set(o, "max_message_size", 0), OT_ERR_INVALID_ARGUMENT);
  CHECK_OK(ot_session_options_get(o, "max_message_size", &v));
  CHECK(v == 67108864);
  CHECK_OK(ot_session_options_set(o, "max_message_size", -1));

  /* Item 10: ports. */
  const char *bad[] = {"tcp://127.0.0.1:99999", "tcp://127.0.0.1:65536", "tcp://127.0.0.1:-1",
                       "tcp://127.0.0.1:0",     "tcp://127.0.0.1:*",     "tcp://127.0.0.1:port",
                       "tcp://[::1]:70000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ot_session *s = NULL;
    CHECK_RC(ot_session_new(bad[i], o, &s), OT_ERR_INVALID_ARGUMENT);
    CHECK(s == NULL && strstr(ot_last_error(), "port") != NULL);
  }
  ot_session *s = NULL;
  CHECK_OK(ot_session_new("tcp://[::1]:7085", o, &s));
  ot_session_free(s);
  s = NULL;
  CHECK_OK(ot_session_new("tcp://127.0.0.1:7085", o, &s));
  ot_session_free(s);

  ot_key *auth = NULL, *enc = NULL;
  ot_buffer *id = NULL;
  CHECK_OK(ot_key_generate(1024, &auth));
  CHECK_OK(ot_key_generate(1024, &enc));
  CHECK_OK(ot_key_nym_id(auth, &id));
  ot_notary *nt = NULL;
  CHECK_RC(ot_notary_new("tcp://127.0.0.1:99999", auth, enc, BUF_STR(id), o, &nt),
           OT_ERR_INVALID_ARGUMENT);
  CHECK(nt == NULL);
  CHECK_RC(ot_notary_new("tcp://127.0.0.1:-1", auth, enc, BUF_STR(id), o, &nt),
           OT_ERR_INVALID_ARGUMENT);
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:0", auth, enc, BUF_STR(id), o, &nt));
  ot_notary_free(nt);

  ot_buffer_free(id);
  ot_key_free(enc);
  ot_key_free(auth);
  ot_session_options_free(o);
  return ot_test_finish("test_bounds");
}
