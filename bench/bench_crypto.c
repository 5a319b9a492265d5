/* bench_crypto: the legacy OT operations through libot_transport ("ours") and through OpenSSL's
 * libcrypto + zlib ("OpenSSL", the independent reference), interleaved in short rounds in one
 * process so machine noise hits both sides alike.
 *
 * Output: a table on stdout and BENCH_OUT_DIR/crypto.tsv (default bench/results/).
 * ratio = ours / OpenSSL in speed terms (ops/s or MiB/s): > 1 means ours is faster.
 * Env: BENCH_SECONDS (per operation per side, default 1), BENCH_QUICK=1 (short smoke run).
 */
#define _GNU_SOURCE
#include "bench_common.h"

typedef void (*op_fn)(void *);

static FILE *tsv;
static double g_budget;
static int g_rounds;

#define MAX_ROUNDS 16
#define MAX_OPS_PER_SLICE 50000000L

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Runs ours and theirs alternately: g_rounds rounds, each giving each side budget/rounds
 * seconds (at least one operation); the side that goes first alternates between rounds. */
static void run_pair(const char *group, const char *name, size_t bytes, double weight, op_fn ours,
                     void *oc, op_fn theirs, void *tc) {
  double budget = g_budget * weight, slice = budget / g_rounds;
  op_fn fn[2] = {ours, theirs};
  void *ctx[2] = {oc, tc};
  fn[0](ctx[0]); /* warm-up: page in code and data, fill caches */
  fn[1](ctx[1]);
  double t_tot[2] = {0, 0}, rr[MAX_ROUNDS];
  long n_tot[2] = {0, 0};
  for (int r = 0; r < g_rounds; r++) {
    double rate[2];
    for (int k = 0; k < 2; k++) {
      int side = (r % 2 == 0) ? k : 1 - k;
      long n = 0;
      double t0 = now_s(), t = 0;
      do {
        fn[side](ctx[side]);
        n++;
        t = now_s() - t0;
      } while (t < slice && n < MAX_OPS_PER_SLICE);
      t_tot[side] += t;
      n_tot[side] += n;
      rate[side] = (double)n / t;
    }
    rr[r] = rate[0] / rate[1];
  }
  double ours_rate = (double)n_tot[0] / t_tot[0], their_rate = (double)n_tot[1] / t_tot[1];
  double ratio = ours_rate / their_rate;
  qsort(rr, (size_t)g_rounds, sizeof rr[0], cmp_double);
  double med = g_rounds % 2 ? rr[g_rounds / 2] : (rr[g_rounds / 2 - 1] + rr[g_rounds / 2]) / 2;
  const char *unit = bytes ? "MiB/s" : "ops/s";
  double scale = bytes ? (double)bytes / (double)MiB : 1.0;
  char label[96];
  snprintf(label, sizeof label, "%s %s", group, name);
  printf("%-36s %11.2f %11.2f %6s %7.3f   %5.2f-%-5.2f  %6ld/%-6ld\n", label, ours_rate * scale,
         their_rate * scale, unit, ratio, rr[0], rr[g_rounds - 1], n_tot[0], n_tot[1]);
  fflush(stdout);
  fprintf(tsv, "%s\t%s\t%zu\t%s\t%.6g\t%.6g\t%.6f\t%ld\t%ld\t%.6f\t%.6f\t%.6f\n", group, name, bytes,
          unit, ours_rate * scale, their_rate * scale, ratio, n_tot[0], n_tot[1], med, rr[0],
          rr[g_rounds - 1]);
  fflush(tsv);
}

/* ------------------------------------------------------------------ operations */

typedef struct {
  uint32_t bits;
} keygen_ctx;
static void ours_keygen(void *p) {
  ot_key *k = NULL;
  OT_TRY(ot_key_generate(((keygen_ctx *)p)->bits, &k));
  ot_key_free(k);
}
static void ossl_keygen_op(void *p) { EVP_PKEY_free(ossl_keygen(((keygen_ctx *)p)->bits)); }

typedef struct {
  const ot_recipient *r;
  const ossl_recipient *or;
  size_t n;
  const uint8_t *pt;
  size_t len;
} seal_ctx;
static void ours_seal(void *p) {
  seal_ctx *c = p;
  ot_envelope *e = NULL;
  ot_buffer *b = NULL;
  OT_TRY(ot_envelope_seal(c->r, c->n, c->pt, c->len, &e));
  OT_TRY(ot_envelope_to_bytes(e, &b));
  ot_buffer_free(b);
  ot_envelope_free(e);
}
static void ossl_seal_op(void *p) {
  seal_ctx *c = p;
  size_t n = 0;
  free(ossl_seal(c->or, c->n, c->pt, c->len, &n));
}

/* One-shot: seal straight into the envelope's bytes (no envelope object, no copy). */
static void ours_seal_oneshot(void *p) {
  seal_ctx *c = p;
  ot_buffer *b = NULL;
  OT_TRY(ot_envelope_seal_to_bytes(c->r, c->n, c->pt, c->len, &b));
  ot_buffer_free(b);
}

typedef struct {
  const uint8_t *env;
  size_t env_len;
  const char *nym_id;
  const ot_key *key;
  EVP_PKEY *pkey;
  size_t expect;
} open_ctx;
static void ours_open(void *p) {
  open_ctx *c = p;
  ot_envelope *e = NULL;
  ot_buffer *pt = NULL;
  OT_TRY(ot_envelope_parse(c->env, c->env_len, &e));
  OT_TRY(ot_envelope_open(e, c->nym_id, c->key, &pt));
  if (ot_buffer_len(pt) != c->expect) bench_die("ours: open gave %zu bytes", ot_buffer_len(pt));
  ot_buffer_free(pt);
  ot_envelope_free(e);
}
/* One-shot: open straight from the bytes (no envelope object, the ciphertext read in place). */
static void ours_open_oneshot(void *p) {
  open_ctx *c = p;
  ot_buffer *pt = NULL;
  OT_TRY(ot_envelope_open_bytes(c->env, c->env_len, c->nym_id, c->key, &pt));
  if (ot_buffer_len(pt) != c->expect) bench_die("ours: open gave %zu bytes", ot_buffer_len(pt));
  ot_buffer_free(pt);
}
static void ossl_open_op(void *p) {
  open_ctx *c = p;
  size_t n = 0;
  uint8_t *pt = ossl_open(c->env, c->env_len, c->nym_id, c->pkey, &n);
  if (!pt || n != c->expect) bench_die("OpenSSL side: open failed");
  free(pt);
}

typedef struct {
  const uint8_t *content;
  size_t len;
  const ot_key *key;
  EVP_PKEY *pkey;
} sign_ctx;
static void ours_sign(void *p) {
  sign_ctx *c = p;
  ot_buffer *t = NULL;
  OT_TRY(ot_signed_create("MESSAGE", c->content, c->len, c->key, NULL, &t));
  ot_buffer_free(t);
}
static void ossl_sign_op(void *p) {
  sign_ctx *c = p;
  size_t n = 0;
  char *t = ossl_sign_message(c->content, c->len, c->pkey, &n);
  if (!t) bench_die("OpenSSL side: sign failed");
  free(t);
}

typedef struct {
  const char *text;
  size_t len;
  const ot_key *pub;
  EVP_PKEY *pkey;
} verify_ctx;
static void ours_verify(void *p) {
  verify_ctx *c = p;
  ot_buffer *content = NULL;
  OT_TRY(ot_signed_verify((const uint8_t *)c->text, c->len, c->pub, &content));
  ot_buffer_free(content);
}
static void ossl_verify_op(void *p) {
  verify_ctx *c = p;
  size_t n = 0;
  uint8_t *content = ossl_verify_message(c->text, c->len, c->pkey, &n);
  if (!content) bench_die("OpenSSL side: verify failed");
  free(content);
}

typedef struct {
  const uint8_t *d;
  size_t n;
} hash_ctx;
static void ours_samy(void *p) {
  hash_ctx *c = p;
  uint8_t out[32];
  OT_TRY(ot_hash_samy(c->d, c->n, out));
}
static void ossl_samy_op(void *p) {
  hash_ctx *c = p;
  uint8_t out[32];
  ossl_samy(c->d, c->n, out);
}
static void ours_whirlpool(void *p) {
  hash_ctx *c = p;
  uint8_t out[64];
  OT_TRY(ot_hash_whirlpool(c->d, c->n, out));
}
static void ossl_whirlpool_op(void *p) {
  hash_ctx *c = p;
  uint8_t out[64];
  unsigned l = 0;
  OSSL_TRY(EVP_Digest(c->d, c->n, out, &l, md_whirlpool, NULL));
}
static void ours_sha256(void *p) {
  hash_ctx *c = p;
  uint8_t out[32];
  OT_TRY(ot_hash_sha256(c->d, c->n, out));
}
static void ossl_sha256_op(void *p) {
  hash_ctx *c = p;
  uint8_t out[32];
  unsigned l = 0;
  OSSL_TRY(EVP_Digest(c->d, c->n, out, &l, md_sha256, NULL));
}

typedef struct {
  const uint8_t *d; /* payload (encode) or armor text (decode) */
  size_t n;
  ot_armor_kind kind;
  size_t expect; /* decode: payload size */
} armor_ctx;
static void ours_armor_enc(void *p) {
  armor_ctx *c = p;
  ot_buffer *b = NULL;
  OT_TRY(ot_armor_encode(c->d, c->n, c->kind, NULL, &b));
  ot_buffer_free(b);
}
static void ours_armor_dec(void *p) {
  armor_ctx *c = p;
  ot_buffer *b = NULL;
  OT_TRY(ot_armor_decode(c->d, c->n, c->kind, &b));
  if (ot_buffer_len(b) != c->expect) bench_die("ours: armor decode size");
  ot_buffer_free(b);
}
static void ossl_armor_enc(void *p) {
  armor_ctx *c = p;
  size_t n = 0;
  char *t = c->kind == OT_ARMOR_DATA ? ossl_armor_data_encode(c->d, c->n, &n)
                                     : ossl_armor_string_encode(c->d, c->n, &n);
  free(t);
}
static void ossl_armor_dec(void *p) {
  armor_ctx *c = p;
  size_t n = 0;
  uint8_t *d = c->kind == OT_ARMOR_DATA ? ossl_armor_data_decode((const char *)c->d, c->n, &n)
                                        : ossl_armor_string_decode((const char *)c->d, c->n, &n);
  if (!d || n != c->expect) bench_die("OpenSSL side: armor decode");
  free(d);
}

/* ------------------------------------------------------------------ correctness */

static void check_hashes(void) {
  size_t sizes[] = {0, 1, 55, 1000, 65536};
  uint8_t *buf = xmalloc(65536);
  fill_random(buf, 65536);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t a[64], b[64];
    unsigned l = 0;
    OT_TRY(ot_hash_samy(buf, sizes[i], a));
    ossl_samy(buf, sizes[i], b);
    CHECK_OR_DIE(memcmp(a, b, 32) == 0, "SAMY ours == OpenSSL SHA-256 xor Whirlpool[0..32]");
    OT_TRY(ot_hash_whirlpool(buf, sizes[i], a));
    OSSL_TRY(EVP_Digest(buf, sizes[i], b, &l, md_whirlpool, NULL));
    CHECK_OR_DIE(memcmp(a, b, 64) == 0, "Whirlpool ours == OpenSSL legacy provider");
    OT_TRY(ot_hash_sha256(buf, sizes[i], a));
    OSSL_TRY(EVP_Digest(buf, sizes[i], b, &l, md_sha256, NULL));
    CHECK_OR_DIE(memcmp(a, b, 32) == 0, "SHA-256 ours == OpenSSL");
  }
  free(buf);
  printf("  SAMY, Whirlpool, SHA-256: ours == OpenSSL on 5 inputs (0 B .. 64 KiB)\n");
}

static void check_envelopes(const ot_recipient *r, const ossl_recipient *or, const ot_key *keys[],
                            EVP_PKEY *pk[], size_t n) {
  size_t len = 3000;
  char *pt = make_text(len);
  /* ours sealed, OpenSSL-side opened by every recipient */
  ot_envelope *e = NULL;
  ot_buffer *b = NULL;
  OT_TRY(ot_envelope_seal(r, n, (const uint8_t *)pt, len, &e));
  OT_TRY(ot_envelope_to_bytes(e, &b));
  size_t ol = 0;
  uint8_t *theirs = ossl_seal(or, n, (const uint8_t *)pt, len, &ol);
  CHECK_OR_DIE(ol == ot_buffer_len(b), "ours and OpenSSL-side envelopes have the same size");
  for (size_t i = 0; i < n; i++) {
    size_t pl = 0;
    uint8_t *o = ossl_open(ot_buffer_data(b), ot_buffer_len(b), r[i].nym_id, pk[i], &pl);
    CHECK_OR_DIE(o && pl == len && memcmp(o, pt, len) == 0, "OpenSSL side opens our envelope");
    free(o);
    /* the OpenSSL-side envelope opened by ours */
    ot_envelope *te = NULL;
    ot_buffer *tp = NULL;
    OT_TRY(ot_envelope_parse(theirs, ol, &te));
    OT_TRY(ot_envelope_open(te, r[i].nym_id, keys[i], &tp));
    CHECK_OR_DIE(ot_buffer_len(tp) == len && memcmp(ot_buffer_data(tp), pt, len) == 0,
                 "ours opens the OpenSSL-side envelope");
    /* same entry order (sorted by NymID) */
    ot_buffer *id = NULL;
    OT_TRY(ot_envelope_recipient_id(te, i, &id));
    ot_buffer *id2 = NULL;
    OT_TRY(ot_envelope_recipient_id(e, i, &id2));
    CHECK_OR_DIE(strcmp((const char *)ot_buffer_data(id), (const char *)ot_buffer_data(id2)) == 0,
                 "same recipient order");
    ot_buffer_free(id);
    ot_buffer_free(id2);
    ot_buffer_free(tp);
    ot_envelope_free(te);
    /* the one-shot calls: our one-shot envelope opened by the OpenSSL side, theirs by ours */
    ot_buffer *ob = NULL, *op = NULL;
    OT_TRY(ot_envelope_seal_to_bytes(r, n, (const uint8_t *)pt, len, &ob));
    CHECK_OR_DIE(ot_buffer_len(ob) == ol, "one-shot envelope has the same size");
    o = ossl_open(ot_buffer_data(ob), ot_buffer_len(ob), r[i].nym_id, pk[i], &pl);
    CHECK_OR_DIE(o && pl == len && memcmp(o, pt, len) == 0, "OpenSSL side opens our one-shot envelope");
    free(o);
    OT_TRY(ot_envelope_open_bytes(theirs, ol, r[i].nym_id, keys[i], &op));
    CHECK_OR_DIE(ot_buffer_len(op) == len && memcmp(ot_buffer_data(op), pt, len) == 0,
                 "ours opens the OpenSSL-side envelope in one step");
    ot_buffer_free(op);
    ot_buffer_free(ob);
  }
  /* the header bytes (type, count, NymIDs, key lengths) are identical up to the first key */
  size_t hdr = 6 + 4 + get_u32(theirs + 6);
  CHECK_OR_DIE(memcmp(theirs, ot_buffer_data(b), hdr) == 0, "same header bytes up to the first wrapped key");
  free(theirs);
  ot_buffer_free(b);
  ot_envelope_free(e);
  free(pt);
  printf("  envelopes (%zu recipients): ours opened by the OpenSSL side and vice versa, same size and order\n",
         n);
}

static void check_signed(const ot_key *key, const ot_key *pub, EVP_PKEY *pk) {
  size_t len = 1500;
  char *content = make_text(len);
  ot_buffer *t = NULL, *c = NULL;
  OT_TRY(ot_signed_create("MESSAGE", (const uint8_t *)content, len, key, NULL, &t));
  size_t cl = 0, tl = 0;
  uint8_t *oc = ossl_verify_message((const char *)ot_buffer_data(t), ot_buffer_len(t), pk, &cl);
  CHECK_OR_DIE(oc && cl == len && memcmp(oc, content, len) == 0,
               "OpenSSL side verifies our signed MESSAGE (PSS, salt auto) and reads the same content");
  free(oc);
  char *theirs = ossl_sign_message((const uint8_t *)content, len, pk, &tl);
  CHECK_OR_DIE(theirs != NULL, "OpenSSL side signs");
  OT_TRY(ot_signed_verify((const uint8_t *)theirs, tl, pub, &c));
  CHECK_OR_DIE(ot_buffer_len(c) == len && memcmp(ot_buffer_data(c), content, len) == 0,
               "ours verifies the OpenSSL-side signed MESSAGE");
  int same_len = tl == ot_buffer_len(t);
  /* tampering is detected on both sides */
  theirs[50] ^= 1;
  ot_buffer *c2 = NULL;
  CHECK_OR_DIE(ot_signed_verify((const uint8_t *)theirs, tl, pub, &c2) == OT_ERR_BAD_SIGNATURE,
               "ours rejects a tampered text");
  oc = ossl_verify_message(theirs, tl, pk, &cl);
  CHECK_OR_DIE(oc == NULL, "OpenSSL side rejects a tampered text");
  free(theirs);
  ot_buffer_free(c);
  ot_buffer_free(t);
  free(content);
  printf("  signed MESSAGE: each side verifies the other's, tampering rejected; same text length: %s\n",
         same_len ? "yes" : "no");
}

static void check_armor(void) {
  size_t n = 70000;
  uint8_t *bin = xmalloc(n);
  fill_random(bin, n);
  char *txt = make_text(n);
  ot_buffer *a = NULL, *d = NULL;
  size_t tl = 0, dl = 0;
  /* data path: byte-identical text */
  OT_TRY(ot_armor_encode(bin, n, OT_ARMOR_DATA, NULL, &a));
  char *t = ossl_armor_data_encode(bin, n, &tl);
  CHECK_OR_DIE(tl == ot_buffer_len(a) && memcmp(t, ot_buffer_data(a), tl) == 0,
               "data-path armor: ours byte-identical to protobuf + OpenSSL base64 lines");
  uint8_t *od = ossl_armor_data_decode((const char *)ot_buffer_data(a), ot_buffer_len(a), &dl);
  CHECK_OR_DIE(od && dl == n && memcmp(od, bin, n) == 0, "OpenSSL side decodes our data armor");
  free(od);
  free(t);
  ot_buffer_free(a);
  /* string path: cross-decodable; identical when both zlibs deflate alike */
  OT_TRY(ot_armor_encode((const uint8_t *)txt, n, OT_ARMOR_STRING, NULL, &a));
  t = ossl_armor_string_encode((const uint8_t *)txt, n, &tl);
  int identical = tl == ot_buffer_len(a) && memcmp(t, ot_buffer_data(a), tl) == 0;
  od = ossl_armor_string_decode((const char *)ot_buffer_data(a), ot_buffer_len(a), &dl);
  CHECK_OR_DIE(od && dl == n && memcmp(od, txt, n) == 0, "OpenSSL side decodes our string armor");
  free(od);
  OT_TRY(ot_armor_decode((const uint8_t *)t, tl, OT_ARMOR_STRING, &d));
  CHECK_OR_DIE(ot_buffer_len(d) == n && memcmp(ot_buffer_data(d), txt, n) == 0,
               "ours decodes the compress2 string armor");
  printf("  armor: data path byte-identical; string path cross-decodes (text %s, %zu vs %zu chars)\n",
         identical ? "byte-identical" : "differs", ot_buffer_len(a), tl);
  ot_buffer_free(d);
  ot_buffer_free(a);
  free(t);
  free(txt);
  free(bin);
}

/* ------------------------------------------------------------------ main */

#define NKEYS 16

int main(void) {
  g_budget = bench_seconds();
  g_rounds = bench_rounds();
  ossl_init();
  write_meta("crypto");
  printf("bench_crypto: libot_transport %s vs %s (+ zlib %s)\n", ot_version(),
         OpenSSL_version(OPENSSL_VERSION), zlibVersion());
  printf("  %.2f s per operation per side in %d interleaved rounds; RSA-2048 unless stated\n", g_budget,
         g_rounds);

  /* keys: generated by the library, the same keys imported on the OpenSSL side */
  ot_key *keys[NKEYS];
  const ot_key *ckeys[NKEYS];
  EVP_PKEY *pk[NKEYS];
  char *ids[NKEYS];
  ot_recipient r[NKEYS];
  ossl_recipient or[NKEYS];
  for (int i = 0; i < NKEYS; i++) {
    OT_TRY(ot_key_generate(2048, &keys[i]));
    ckeys[i] = keys[i];
    pk[i] = ossl_key_from_ot(keys[i]);
    ids[i] = ot_nym_id_dup(keys[i]);
    r[i].nym_id = ids[i];
    r[i].key = keys[i];
    or[i].nym_id = ids[i];
    or[i].key = pk[i];
  }
  ot_key *pub0 = NULL;
  OT_TRY(ot_key_public(keys[0], &pub0));

  printf("correctness (once, before timing):\n");
  check_hashes();
  check_envelopes(r, or, ckeys, pk, 1);
  check_envelopes(r, or, ckeys, pk, 3);
  check_signed(keys[0], pub0, pk[0]);
  check_armor();

  tsv = tsv_open("crypto.tsv",
                 "group\top\tbytes\tunit\tours\topenssl\tratio\tours_ops\topenssl_ops\tround_ratio_median\t"
                 "round_ratio_min\tround_ratio_max");
  printf("\n%-36s %11s %11s %6s %7s   %-11s  %s\n", "operation", "ours", "OpenSSL", "unit", "ratio",
         "per-round", "ops ours/OpenSSL");

  /* key generation (fewer, slow, very variable operations: 3x the budget) */
  keygen_ctx k1024 = {1024}, k2048 = {2048};
  run_pair("keygen", "RSA-1024", 0, 3, ours_keygen, &k1024, ossl_keygen_op, &k1024);
  run_pair("keygen", "RSA-2048", 0, 3, ours_keygen, &k2048, ossl_keygen_op, &k2048);

  /* seal / open */
  char *pt1k = make_text(1 * KiB), *pt1m = make_text(1 * MiB);
  struct {
    const char *name;
    size_t n;
    const char *pt;
    size_t len;
  } seals[] = {{"1KiB x1", 1, pt1k, 1 * KiB},
               {"1KiB x3", 3, pt1k, 1 * KiB},
               {"1KiB x16", 16, pt1k, 1 * KiB},
               {"1MiB x1", 1, pt1m, 1 * MiB}};
  for (size_t i = 0; i < 4; i++) {
    seal_ctx sc = {r, or, seals[i].n, (const uint8_t *)seals[i].pt, seals[i].len};
    run_pair("seal", seals[i].name, 0, 1, ours_seal, &sc, ossl_seal_op, &sc);
  }
  /* the one-shot calls (ot_envelope_seal_to_bytes / ot_envelope_open_bytes) on 1 KiB and 1 MiB */
  size_t oneshot[2] = {0, 3};
  const char *oneshot_names[2] = {"1KiB x1 one-shot", "1MiB x1 one-shot"};
  for (size_t j = 0; j < 2; j++) {
    size_t i = oneshot[j];
    seal_ctx sc = {r, or, seals[i].n, (const uint8_t *)seals[i].pt, seals[i].len};
    run_pair("seal", oneshot_names[j], 0, 1, ours_seal_oneshot, &sc, ossl_seal_op, &sc);
  }
  for (size_t i = 0; i < 4; i++) {
    /* each side opens an envelope it sealed itself (same layout, same size) */
    ot_envelope *e = NULL;
    ot_buffer *b = NULL;
    OT_TRY(ot_envelope_seal(r, seals[i].n, (const uint8_t *)seals[i].pt, seals[i].len, &e));
    OT_TRY(ot_envelope_to_bytes(e, &b));
    size_t tl = 0;
    uint8_t *theirs = ossl_seal(or, seals[i].n, (const uint8_t *)seals[i].pt, seals[i].len, &tl);
    open_ctx oc = {ot_buffer_data(b), ot_buffer_len(b), ids[0], keys[0], pk[0], seals[i].len};
    open_ctx tc = {theirs, tl, ids[0], keys[0], pk[0], seals[i].len};
    run_pair("open", seals[i].name, 0, 1, ours_open, &oc, ossl_open_op, &tc);
    if (i == 0 || i == 3)
      run_pair("open", i == 0 ? "1KiB x1 one-shot" : "1MiB x1 one-shot", 0, 1, ours_open_oneshot, &oc,
               ossl_open_op, &tc);
    free(theirs);
    ot_buffer_free(b);
    ot_envelope_free(e);
  }

  /* signed MESSAGE: sign and verify */
  size_t sizes[2] = {1 * KiB, 64 * KiB};
  const char *snames[2] = {"MESSAGE 1KiB", "MESSAGE 64KiB"};
  for (int i = 0; i < 2; i++) {
    char *content = make_text(sizes[i]);
    sign_ctx sc = {(const uint8_t *)content, sizes[i], keys[0], pk[0]};
    run_pair("sign", snames[i], 0, 1, ours_sign, &sc, ossl_sign_op, &sc);
    ot_buffer *t = NULL;
    OT_TRY(ot_signed_create("MESSAGE", (const uint8_t *)content, sizes[i], keys[0], NULL, &t));
    size_t tl = 0;
    char *theirs = ossl_sign_message((const uint8_t *)content, sizes[i], pk[0], &tl);
    verify_ctx oc = {(const char *)ot_buffer_data(t), ot_buffer_len(t), pub0, pk[0]};
    verify_ctx tc = {theirs, tl, pub0, pk[0]};
    run_pair("verify", snames[i], 0, 1, ours_verify, &oc, ossl_verify_op, &tc);
    free(theirs);
    ot_buffer_free(t);
    free(content);
  }

  /* hashes */
  uint8_t *bin = xmalloc(64 * KiB);
  fill_random(bin, 64 * KiB);
  hash_ctx h1k = {bin, 1 * KiB}, h64k = {bin, 64 * KiB};
  run_pair("hash", "SAMY 1KiB", 1 * KiB, 1, ours_samy, &h1k, ossl_samy_op, &h1k);
  run_pair("hash", "SAMY 64KiB", 64 * KiB, 1, ours_samy, &h64k, ossl_samy_op, &h64k);
  run_pair("hash", "Whirlpool 64KiB", 64 * KiB, 1, ours_whirlpool, &h64k, ossl_whirlpool_op, &h64k);
  run_pair("hash", "SHA-256 64KiB", 64 * KiB, 1, ours_sha256, &h64k, ossl_sha256_op, &h64k);

  /* armor: data path (binary payload) and string path (text payload, zlib 9) */
  char *txt64k = make_text(64 * KiB);
  for (int kind = 0; kind < 2; kind++) {
    const uint8_t *payload = kind == OT_ARMOR_DATA ? bin : (const uint8_t *)txt64k;
    for (int s = 0; s < 2; s++) {
      size_t n = sizes[s];
      char name[64];
      snprintf(name, sizeof name, "%s %s", kind == OT_ARMOR_DATA ? "data" : "string",
               s == 0 ? "1KiB" : "64KiB");
      armor_ctx ec = {payload, n, (ot_armor_kind)kind, n};
      char gname[32];
      snprintf(gname, sizeof gname, "armor-enc");
      run_pair(gname, name, n, 1, ours_armor_enc, &ec, ossl_armor_enc, &ec);
      ot_buffer *a = NULL;
      OT_TRY(ot_armor_encode(payload, n, (ot_armor_kind)kind, NULL, &a));
      size_t tl = 0;
      char *t = kind == OT_ARMOR_DATA ? ossl_armor_data_encode(payload, n, &tl)
                                      : ossl_armor_string_encode(payload, n, &tl);
      armor_ctx od = {ot_buffer_data(a), ot_buffer_len(a), (ot_armor_kind)kind, n};
      armor_ctx td = {(const uint8_t *)t, tl, (ot_armor_kind)kind, n};
      run_pair("armor-dec", name, n, 1, ours_armor_dec, &od, ossl_armor_dec, &td);
      free(t);
      ot_buffer_free(a);
    }
  }
  printf("(ratio = ours/OpenSSL speed, >1 = ours faster; per-round = min-max of the per-round ratios;\n"
         " throughput rows count payload bytes; armor string path = protobuf + zlib 9 + base64)\n");

  fclose(tsv);
  free(txt64k);
  free(bin);
  free(pt1k);
  free(pt1m);
  ot_key_free(pub0);
  for (int i = 0; i < NKEYS; i++) {
    ot_key_free(keys[i]);
    EVP_PKEY_free(pk[i]);
    free(ids[i]);
  }
  ossl_cleanup();
  return 0;
}
