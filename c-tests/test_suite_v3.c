/* Suite v3 (Ed25519 / X25519 / SHA256D / envelope type 3) through the C API: the shared vectors
 * made by an independent implementation, round trips, and hostile rows. */
#include <pthread.h>

#include "harness.h"

#define V "vectors/suite-v3/"

/* Standard base64 (no line breaks); "-" is empty. Returns a heap buffer, length in *n. */
static uint8_t *b64(const char *s, size_t *n) {
  static const char *al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t len = strlen(s);
  uint8_t *out = malloc(len + 1);
  *n = 0;
  if (strcmp(s, "-") == 0) return out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len && s[i] != '='; i++) {
    const char *p = strchr(al, s[i]);
    if (!p) continue;
    acc = (acc << 6) | (uint32_t)(p - al);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[(*n)++] = (uint8_t)(acc >> bits);
    }
  }
  return out;
}

static size_t unhex(const char *s, uint8_t *out) {
  size_t n = 0;
  if (strcmp(s, "-") == 0) return 0;
  for (; s[0] && s[1]; s += 2) {
    unsigned v;
    sscanf(s, "%2x", &v);
    out[n++] = (uint8_t)v;
  }
  return n;
}

/* Splits a TSV file into rows of at most 8 fields (modifies the text). Skips the header. */
typedef struct {
  char *f[8];
  int n;
} row;

static int rows(char *text, row *out, int max) {
  int count = 0;
  char *line = strtok(text, "\n");
  line = strtok(NULL, "\n"); /* header */
  while (line && count < max) {
    row *r = &out[count++];
    r->n = 0;
    char *p = line;
    while (r->n < 8) {
      r->f[r->n++] = p;
      char *t = strchr(p, '\t');
      if (!t) break;
      *t = 0;
      p = t + 1;
    }
    line = strtok(NULL, "\n");
  }
  return count;
}

typedef struct {
  char name[32];
  ot_key *priv;
  ot_key *pub;
  char nym[64];
} vkey;

static vkey keys[16];
static int nkeys;

static ot_key *load_file(const char *rel, const char *pass) {
  char path[256];
  snprintf(path, sizeof path, V "%s", rel);
  size_t len;
  char *d = ot_test_read(path, &len);
  ot_key *k = NULL;
  size_t pl = pass ? strlen(pass) : 0;
  CHECK_OK(ot_key_load((const uint8_t *)d, len, (const uint8_t *)pass, pl, &k));
  free(d);
  return k;
}

static vkey *find(const char *name) {
  for (int i = 0; i < nkeys; i++)
    if (strcmp(keys[i].name, name) == 0) return &keys[i];
  fprintf(stderr, "no key %s\n", name);
  exit(2);
}

static void vector_keys(void) {
  size_t len;
  char *t = ot_test_read(V "keys.tsv", &len);
  row rs[16];
  nkeys = rows(t, rs, 16);
  CHECK(nkeys >= 6);
  for (int i = 0; i < nkeys; i++) {
    row *r = &rs[i];
    vkey *k = &keys[i];
    snprintf(k->name, sizeof k->name, "%s", r->f[0]);
    snprintf(k->nym, sizeof k->nym, "%s", r->f[5]);
    k->priv = load_file(r->f[2], strcmp(r->f[4], "-") ? r->f[4] : NULL);
    k->pub = load_file(r->f[3], NULL);
    ot_algorithm want = strcmp(r->f[1], "ed25519") == 0 ? OT_KEY_ALGORITHM_ED25519 : OT_KEY_ALGORITHM_X25519;
    CHECK(ot_key_algorithm(k->priv) == want);
    CHECK(ot_key_algorithm(k->pub) == want);
    CHECK(ot_key_is_private(k->priv) == 1 && ot_key_is_private(k->pub) == 0);
    CHECK(ot_key_bits(k->priv) == 256);
    ot_buffer *id = NULL;
    CHECK_OK(ot_key_nym_id(k->priv, &id));
    CHECK(id && strcmp(BUF_STR(id), k->nym) == 0);
    ot_buffer_free(id);
    CHECK_OK(ot_key_nym_id(k->pub, &id));
    CHECK(id && strcmp(BUF_STR(id), k->nym) == 0);
    ot_buffer_free(id);
    if (strcmp(r->f[4], "-") != 0) {
      char path[256];
      snprintf(path, sizeof path, V "%s", r->f[2]);
      size_t l;
      char *d = ot_test_read(path, &l);
      ot_key *bad = NULL;
      CHECK_RC(ot_key_load((const uint8_t *)d, l, (const uint8_t *)"wrong", 5, &bad), OT_ERR_BAD_PASSPHRASE);
      CHECK(bad == NULL);
      free(d);
    }
  }
  free(t);
}

static void vector_ids(void) {
  size_t len;
  char *t = ot_test_read(V "ids.tsv", &len);
  row rs[64];
  int n = rows(t, rs, 64);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    uint8_t in[4096], want[32], got[32];
    size_t inl = unhex(rs[i].f[0], in);
    unhex(rs[i].f[1], want);
    CHECK_OK(ot_hash_sha256d(inl ? in : NULL, inl, got));
    CHECK(memcmp(got, want, 32) == 0);
    ot_buffer *id = NULL, *id2 = NULL;
    CHECK_OK(ot_id_encode(got, 32, &id));
    CHECK(id && strcmp(BUF_STR(id), rs[i].f[2]) == 0);
    CHECK_OK(ot_id_of_v3(inl ? in : NULL, inl, &id2));
    CHECK(id2 && strcmp(BUF_STR(id2), rs[i].f[2]) == 0);
    ot_buffer_free(id);
    ot_buffer_free(id2);
  }
  free(t);
}

static void vector_signed(void) {
  size_t len;
  char *t = ot_test_read(V "signed.tsv", &len);
  row rs[64];
  int n = rows(t, rs, 64);
  CHECK(n > 0);
  for (int i = 0; i < n; i++) {
    char path[256];
    snprintf(path, sizeof path, V "%s", rs[i].f[0]);
    size_t tl;
    char *text = ot_test_read(path, &tl);
    vkey *s = find(rs[i].f[2]);
    size_t cl;
    uint8_t *content = b64(rs[i].f[4], &cl);
    ot_buffer *c = NULL;
    CHECK_OK(ot_signed_verify((const uint8_t *)text, tl, s->pub, &c));
    CHECK(c && ot_buffer_len(c) == cl && memcmp(ot_buffer_data(c), content, cl) == 0);
    ot_buffer_free(c);
    /* Deterministic: our signature of the same content is the same text. */
    const char *meta = strstr(text, "Meta:    ") ? strstr(text, "Meta:    ") + 9 : NULL;
    char m[5] = {0};
    if (meta) memcpy(m, meta, 4);
    ot_buffer *ours = NULL;
    CHECK_OK(ot_signed_create(rs[i].f[1], content, cl, s->priv, meta ? m : NULL, &ours));
    size_t trimmed = tl;
    while (trimmed && (text[trimmed - 1] == '\n' || text[trimmed - 1] == '\r')) trimmed--;
    CHECK(ours && ot_buffer_len(ours) == trimmed && memcmp(ot_buffer_data(ours), text, trimmed) == 0);
    ot_buffer_free(ours);
    /* Wrong kinds: an X25519 key is refused; the flipped text does not verify. */
    vkey *x = find("x25519-0");
    CHECK_RC(ot_signed_verify((const uint8_t *)text, tl, x->pub, NULL), OT_ERR_INVALID_ARGUMENT);
    char *sig = strstr(text, "SIGNATURE-----");
    sig = sig ? strstr(sig, "\n\n") : NULL;
    if (sig) {
      sig[2] = sig[2] == 'C' ? 'D' : 'C'; /* first base64 char of the signature armor */
      CHECK(ot_signed_verify((const uint8_t *)text, tl, s->pub, NULL) != OT_OK);
    }
    free(content);
    free(text);
  }
  free(t);
}

static void vector_envelopes(void) {
  size_t len;
  char *t = ot_test_read(V "envelopes.tsv", &len);
  row rs[256];
  int n = rows(t, rs, 256);
  CHECK(n > 20);
  for (int i = 0; i < n; i++) {
    row *r = &rs[i];
    char path[256];
    snprintf(path, sizeof path, V "%s", r->f[0]);
    size_t el;
    char *data = ot_test_read(path, &el);
    ot_envelope *env = NULL;
    if (strcmp(r->f[1], "1") == 0)
      CHECK_OK(ot_envelope_from_armor((const uint8_t *)data, el, &env));
    else
      CHECK_OK(ot_envelope_parse((const uint8_t *)data, el, &env));
    int32_t ty = -1;
    CHECK_OK(ot_envelope_type(env, &ty));
    CHECK(ty == 3);
    CHECK(ot_envelope_recipient_count(env) >= 1);
    vkey *k = find(r->f[2]);
    const char *nym = strcmp(r->f[3], "-") ? r->f[3] : NULL;
    ot_buffer *pt = NULL;
    ot_result rc = ot_envelope_open(env, nym, k->priv, &pt);
    if (strcmp(r->f[4], "plaintext") == 0) {
      size_t wl;
      uint8_t *want = b64(r->f[5], &wl);
      CHECK_RC(rc, OT_OK);
      CHECK(pt && ot_buffer_len(pt) == wl && memcmp(ot_buffer_data(pt), want, wl) == 0);
      free(want);
    } else if (strcmp(r->f[4], "no_matching_recipient") == 0) {
      CHECK_RC(rc, OT_ERR_NO_MATCHING_RECIPIENT);
      CHECK(pt == NULL);
    } else {
      CHECK_RC(rc, OT_ERR_DECRYPT_FAILED);
    }
    ot_buffer_free(pt);
    ot_envelope_free(env);
    free(data);
  }
  free(t);
}

static void round_trips_and_hostile(void) {
  ot_key *a = NULL, *e = NULL, *e2 = NULL, *rsa = NULL, *e_pub = NULL;
  CHECK_OK(ot_key_generate_ed25519(&a));
  CHECK_OK(ot_key_generate_x25519(&e));
  CHECK_OK(ot_key_generate_x25519(&e2));
  CHECK_OK(ot_key_generate(1024, &rsa));
  CHECK_OK(ot_key_public(e, &e_pub));
  CHECK(ot_key_algorithm(a) == OT_KEY_ALGORITHM_ED25519);
  CHECK(ot_key_algorithm(e) == OT_KEY_ALGORITHM_X25519);
  CHECK(ot_key_algorithm(rsa) == OT_KEY_ALGORITHM_RSA);
  CHECK(ot_key_algorithm(NULL) == OT_KEY_ALGORITHM_NONE);
  CHECK(ot_key_algorithm((const ot_key *)"not a key at all, just text") == OT_KEY_ALGORITHM_NONE);
  CHECK_RC(ot_key_generate_ed25519(NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_key_generate_x25519(NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_hash_sha256d(NULL, 3, (uint8_t[32]){0}), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_hash_sha256d((const uint8_t *)"x", 1, NULL), OT_ERR_NULL_ARGUMENT);

  ot_buffer *id = NULL;
  CHECK_OK(ot_key_nym_id(a, &id));

  /* Exports: SPKI and PKCS#8 work; the OT public-key block is RSA-only. */
  ot_buffer *pem = NULL;
  CHECK_RC(ot_key_export(a, OT_KEY_FORMAT_OT_PUBLIC, NULL, 0, &pem), OT_ERR_UNSUPPORTED);
  CHECK(pem == NULL);
  CHECK_RC(ot_key_export(e, OT_KEY_FORMAT_OT_PUBLIC_UNESCAPED, NULL, 0, &pem), OT_ERR_UNSUPPORTED);
  CHECK_OK(ot_key_export(a, OT_KEY_FORMAT_PKCS8_ENCRYPTED, (const uint8_t *)"pw", 2, &pem));
  ot_key *a2 = NULL;
  CHECK_OK(ot_key_load(ot_buffer_data(pem), ot_buffer_len(pem), (const uint8_t *)"pw", 2, &a2));
  ot_buffer *id2 = NULL;
  CHECK_OK(ot_key_nym_id(a2, &id2));
  CHECK(strcmp(BUF_STR(id), BUF_STR(id2)) == 0);
  ot_buffer_free(id2);
  ot_buffer_free(pem);
  CHECK_OK(ot_key_export(e, OT_KEY_FORMAT_SPKI_PEM, NULL, 0, &pem));
  CHECK(strncmp(BUF_STR(pem), "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA", 42) == 0);
  ot_buffer_free(pem);

  /* Signed text with Ed25519. */
  const char *msg = "<OTmessage>v3</OTmessage>\n";
  ot_buffer *text = NULL, *c = NULL;
  CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), a, "ADT9", &text));
  CHECK(strncmp(BUF_STR(text), "-----BEGIN SIGNED MESSAGE-----\nHash: SHA256D\n\n", 46) == 0);
  CHECK_OK(ot_signed_verify(ot_buffer_data(text), ot_buffer_len(text), a2, &c));
  CHECK(c && strcmp(BUF_STR(c), msg) == 0);
  ot_buffer_free(c);
  CHECK_RC(ot_signed_verify(ot_buffer_data(text), ot_buffer_len(text), rsa, NULL), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), e, NULL, &c), OT_ERR_INVALID_ARGUMENT);
  ot_buffer *legacy = NULL;
  CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)msg, strlen(msg), rsa, NULL, &legacy));
  CHECK_RC(ot_signed_verify(ot_buffer_data(legacy), ot_buffer_len(legacy), a, NULL), OT_ERR_INVALID_ARGUMENT);
  ot_buffer_free(legacy);
  /* Swapped type. */
  char *swapped = strdup(BUF_STR(text));
  char *p;
  while ((p = strstr(swapped, "MESSAGE")) != NULL) memcpy(p, "LEDGERS", 7);
  CHECK_RC(ot_signed_verify((const uint8_t *)swapped, strlen(swapped), a, NULL), OT_ERR_BAD_SIGNATURE);
  free(swapped);
  ot_buffer_free(text);

  /* Type-3 envelope with NUL bytes, two recipients + key-only. */
  const uint8_t pt_in[] = {'a', 0, 'b', 0, 0, 'c'};
  ot_recipient rs[2] = {{BUF_STR(id), e_pub}, {"", e2}};
  ot_envelope *env = NULL, *env2 = NULL;
  CHECK_OK(ot_envelope_seal(rs, 2, pt_in, sizeof pt_in, &env));
  int32_t ty = -1;
  CHECK_OK(ot_envelope_type(env, &ty));
  CHECK(ty == 3);
  CHECK(ot_envelope_recipient_count(env) == 2);
  ot_buffer *rid = NULL;
  CHECK_OK(ot_envelope_recipient_id(env, 0, &rid)); /* sorted: the empty NymID first */
  CHECK(rid && strcmp(BUF_STR(rid), "") == 0);
  ot_buffer_free(rid);
  ot_buffer *arm = NULL, *bytes = NULL, *pt = NULL;
  CHECK_OK(ot_envelope_to_armor(env, 0, &arm));
  CHECK_OK(ot_envelope_from_armor(ot_buffer_data(arm), ot_buffer_len(arm), &env2));
  CHECK_OK(ot_envelope_open(env2, BUF_STR(id), e, &pt));
  CHECK(pt && ot_buffer_len(pt) == sizeof pt_in && memcmp(ot_buffer_data(pt), pt_in, sizeof pt_in) == 0);
  ot_buffer_free(pt);
  pt = NULL;
  CHECK_OK(ot_envelope_open(env2, "someone else", e2, &pt)); /* key-only entry */
  ot_buffer_free(pt);
  pt = NULL;
  CHECK_OK(ot_envelope_open(env2, NULL, e2, &pt));
  ot_buffer_free(pt);
  pt = NULL;
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id), e2, &pt), OT_ERR_DECRYPT_FAILED);
  CHECK(pt == NULL);
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id), rsa, &pt), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id), a, &pt), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id), e_pub, &pt), OT_ERR_INVALID_ARGUMENT);
  /* Wrong-type handles. */
  CHECK_RC(ot_envelope_open(env2, BUF_STR(id), (const ot_key *)env2, &pt), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_envelope_open((const ot_envelope *)e, BUF_STR(id), e, &pt), OT_ERR_INVALID_ARGUMENT);
  ty = -1;
  CHECK_RC(ot_envelope_type(NULL, &ty), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_envelope_type((const ot_envelope *)e, &ty), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_envelope_type(env, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK(ty == -1);

  /* Every byte flipped: never opens, and failures are uniform. */
  CHECK_OK(ot_envelope_to_bytes(env, &bytes));
  size_t bl = ot_buffer_len(bytes);
  uint8_t *b = malloc(bl);
  const char *first = NULL;
  char uniform[256] = {0};
  for (size_t i = 0; i < bl; i++) {
    memcpy(b, ot_buffer_data(bytes), bl);
    b[i] ^= 0x01;
    ot_envelope *t = NULL;
    if (ot_envelope_parse(b, bl, &t) != OT_OK) continue;
    ot_buffer *o = NULL;
    ot_result rc = ot_envelope_open(t, BUF_STR(id), e, &o);
    CHECK(rc == OT_ERR_DECRYPT_FAILED || rc == OT_ERR_NO_MATCHING_RECIPIENT);
    CHECK(o == NULL);
    if (rc == OT_ERR_DECRYPT_FAILED) {
      if (!first) {
        snprintf(uniform, sizeof uniform, "%s", ot_last_error());
        first = uniform;
      } else {
        CHECK(strcmp(uniform, ot_last_error()) == 0);
      }
    }
    ot_envelope_free(t);
  }
  /* Truncations and an absurd count. */
  for (size_t n = 0; n < bl; n++) {
    ot_envelope *t = NULL;
    if (ot_envelope_parse(ot_buffer_data(bytes), n, &t) != OT_OK) continue;
    ot_buffer *o = NULL;
    CHECK(ot_envelope_open(t, BUF_STR(id), e, &o) != OT_OK);
    ot_envelope_free(t);
  }
  memcpy(b, ot_buffer_data(bytes), bl);
  b[4] = 0xff;
  ot_envelope *t = NULL;
  CHECK_RC(ot_envelope_parse(b, bl, &t), OT_ERR_MALFORMED);
  CHECK(t == NULL);
  free(b);

  /* A mix of RSA and X25519 recipients is refused. */
  ot_recipient mix[2] = {{"a", rsa}, {"b", e}};
  ot_envelope *m = NULL;
  CHECK_RC(ot_envelope_seal(mix, 2, (const uint8_t *)"x", 1, &m), OT_ERR_INVALID_ARGUMENT);
  CHECK(m == NULL);
  ot_recipient to_ed[1] = {{"a", a}};
  CHECK_RC(ot_envelope_seal(to_ed, 1, (const uint8_t *)"x", 1, &m), OT_ERR_INVALID_ARGUMENT);

  ot_buffer_free(bytes);
  ot_buffer_free(arm);
  ot_buffer_free(id);
  ot_envelope_free(env);
  ot_envelope_free(env2);
  ot_key_free(a);
  ot_key_free(a2);
  ot_key_free(e);
  ot_key_free(e2);
  ot_key_free(e_pub);
  ot_key_free(rsa);
}

/* ---- transport: one notary with an RSA and a v3 identity, an RSA and a v3 client ---------- */
static ot_key *rc_auth, *rc_enc, *vc_auth, *vc_enc; /* RSA client, v3 client */

typedef struct {
  ot_notary *notary;
  int serve;
  int served;
  int v3_requests;
} job;

static void *serve(void *arg) {
  job *j = arg;
  for (int i = 0; i < j->serve; i++) {
    ot_request *req = NULL;
    if (ot_notary_receive(j->notary, 10000, &req) != OT_OK) continue;
    ot_buffer *content = NULL;
    const ot_key *reply_to = vc_enc;
    /* The text's hash type pairs with one key kind: the wrong kind is INVALID_ARGUMENT. */
    ot_result rc = ot_request_verify(req, vc_auth, &content);
    if (rc == OT_OK) {
      j->v3_requests++;
    } else if (rc == OT_ERR_INVALID_ARGUMENT) {
      reply_to = rc_enc;
      rc = ot_request_verify(req, rc_auth, &content);
    }
    if (rc == OT_OK) {
      if (ot_test_reply_at(j->notary, req, content, reply_to) == OT_OK) j->served++;
      ot_buffer_free(content);
    }
    ot_request_free(req);
  }
  return NULL;
}

static void transport_dual_identity(void) {
  ot_key *n_rsa_auth = NULL, *n_rsa_enc = NULL, *n_v3_auth = NULL, *n_v3_enc = NULL;
  CHECK_OK(ot_key_generate(1024, &n_rsa_auth));
  CHECK_OK(ot_key_generate(1024, &n_rsa_enc));
  CHECK_OK(ot_key_generate_ed25519(&n_v3_auth));
  CHECK_OK(ot_key_generate_x25519(&n_v3_enc));
  CHECK_OK(ot_key_generate(1024, &rc_auth));
  CHECK_OK(ot_key_generate(1024, &rc_enc));
  CHECK_OK(ot_key_generate_ed25519(&vc_auth));
  CHECK_OK(ot_key_generate_x25519(&vc_enc));
  ot_buffer *rsa_id = NULL, *v3_id = NULL, *ep = NULL;
  CHECK_OK(ot_key_nym_id(n_rsa_auth, &rsa_id));
  CHECK_OK(ot_key_nym_id(n_v3_auth, &v3_id));

  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 200));
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 4));
  job j = {0};
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_rsa_auth, n_rsa_enc, BUF_STR(rsa_id), o, &j.notary));
  CHECK_OK(ot_notary_add_identity(j.notary, n_v3_auth, n_v3_enc, BUF_STR(v3_id)));
  /* Hostile rows. */
  CHECK_RC(ot_notary_add_identity(j.notary, n_v3_auth, n_v3_enc, BUF_STR(v3_id)), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_notary_add_identity(j.notary, n_v3_enc, n_v3_enc, "x"), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_notary_add_identity(j.notary, n_v3_auth, NULL, "x"), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_notary_add_identity(NULL, n_v3_auth, n_v3_enc, "x"), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_notary_add_identity((ot_notary *)n_v3_auth, n_v3_auth, n_v3_enc, "x"), OT_ERR_INVALID_ARGUMENT);
  CHECK_OK(ot_notary_endpoint(j.notary, &ep));
  j.serve = 4;
  pthread_t t;
  pthread_create(&t, NULL, serve, &j);

  ot_session *legacy = NULL, *modern = NULL;
  CHECK_OK(ot_session_new(BUF_STR(ep), o, &legacy));
  CHECK_OK(ot_session_set_identity(legacy, rc_auth, rc_enc));
  CHECK_OK(ot_session_set_notary(legacy, BUF_STR(rsa_id), n_rsa_enc, n_rsa_auth));
  CHECK_OK(ot_session_new(BUF_STR(ep), o, &modern));
  CHECK_OK(ot_session_set_identity(modern, vc_auth, vc_enc));
  CHECK_OK(ot_session_set_notary(modern, BUF_STR(v3_id), n_v3_enc, n_v3_auth));
  for (int i = 0; i < 2; i++) {
    const char *msg = i ? "<OTmessage>second</OTmessage>\n" : "<OTmessage>first</OTmessage>\n";
    ot_buffer *r = NULL;
    CHECK_OK(ot_session_request(legacy, (const uint8_t *)msg, strlen(msg), &r));
    CHECK(r && BUF_STR(r)[0] == '@' && strcmp(BUF_STR(r) + 1, msg) == 0);
    ot_buffer_free(r);
    r = NULL;
    CHECK_OK(ot_session_request(modern, (const uint8_t *)msg, strlen(msg), &r));
    CHECK(r && BUF_STR(r)[0] == '@' && strcmp(BUF_STR(r) + 1, msg) == 0);
    ot_buffer_free(r);
  }
  pthread_join(t, NULL);
  CHECK(j.served == 4 && j.v3_requests == 2);

  /* A v3 identity with an all-RSA (legacy) notary: refused, never sent. */
  ot_buffer *r = NULL;
  CHECK_OK(ot_session_set_notary(modern, BUF_STR(rsa_id), n_rsa_enc, n_rsa_auth));
  CHECK_RC(ot_session_request(modern, (const uint8_t *)"x\n", 2, &r), OT_ERR_INVALID_ARGUMENT);
  CHECK(r == NULL);

  ot_session_free(legacy);
  ot_session_free(modern);
  ot_notary_free(j.notary);
  ot_session_options_free(o);
  ot_buffer_free(ep);
  ot_buffer_free(rsa_id);
  ot_buffer_free(v3_id);
  ot_key *ks[] = {n_rsa_auth, n_rsa_enc, n_v3_auth, n_v3_enc, rc_auth, rc_enc, vc_auth, vc_enc};
  for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) ot_key_free(ks[i]);
}

int main(void) {
  vector_keys();
  vector_ids();
  vector_signed();
  vector_envelopes();
  round_trips_and_hostile();
  transport_dual_identity();
  for (int i = 0; i < nkeys; i++) {
    ot_key_free(keys[i].priv);
    ot_key_free(keys[i].pub);
  }
  return ot_test_finish("test_suite_v3");
}
