/* bench_v3: suite v3 (issue 9) through libot_transport ("ours") against two independent C
 * implementations in the same process, interleaved in short rounds so machine noise hits every
 * side alike:
 *
 *   OpenSSL EVP   Ed25519 (EVP_DigestSign / EVP_DigestVerify), X25519 (EVP_PKEY_keygen)
 *   libsodium     crypto_sign_ed25519_detached / _verify_detached, crypto_box_seal / _open
 *
 * What each row measures (the references do the same cryptographic work, without our text
 * formatting, so the comparison is conservative for us):
 *   ed25519 sign     ours: ot_signed_create of a 128-byte MESSAGE (SHA256D of TYPE||LF||content,
 *                    Ed25519, base64 armor, the text); refs: SHA256D of the same bytes (OpenSSL
 *                    EVP_Digest) + Ed25519 sign of the 32-byte digest.
 *   ed25519 verify   ours: ot_signed_verify of that text (parse, de-armor, SHA256D, strict
 *                    verify); refs: SHA256D + Ed25519 verify of the digest.
 *   x25519 keygen    ours: ot_key_generate_x25519; refs: EVP_PKEY_keygen(X25519),
 *                    crypto_box_keypair (both a fixed-base scalar multiplication + OS random).
 *   seal 1 KiB       ours: ot_envelope_seal to one X25519 recipient (HPKE wrap + ChaCha20-
 *                    Poly1305 payload, type-3 bytes); ref: libsodium crypto_box_seal.
 *   open 1 KiB       ours: ot_envelope_open; ref: crypto_box_seal_open.
 *   request          full client<->notary round trip on tcp loopback (sign, seal, send, open,
 *                    verify, reply: sign, seal, open, verify): v3 keys vs RSA-2048 keys.
 *
 * ratio = ours / best reference (speed): >= target means the target is met.
 * Output: table on stdout and BENCH_OUT_DIR/v3.tsv.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sodium.h>

#include "bench_common.h"

typedef void (*op_fn)(void *);

static double g_budget;
static int g_rounds;
static FILE *tsv;

/* Runs up to three sides alternately for g_rounds rounds; returns ops/s per side. */
static void run3(int nsides, op_fn fn[], void *ctx[], double out[]) {
  double t_tot[3] = {0, 0, 0};
  long n_tot[3] = {0, 0, 0};
  double slice = g_budget / g_rounds;
  for (int k = 0; k < nsides; k++) fn[k](ctx[k]); /* warm-up */
  for (int r = 0; r < g_rounds; r++) {
    for (int i = 0; i < nsides; i++) {
      int side = (i + r) % nsides;
      long n = 0;
      double t0 = now_s(), t = 0;
      do {
        fn[side](ctx[side]);
        n++;
        t = now_s() - t0;
      } while (t < slice);
      t_tot[side] += t;
      n_tot[side] += n;
    }
  }
  for (int k = 0; k < nsides; k++) out[k] = (double)n_tot[k] / t_tot[k];
}

/* rate[]: ours, OpenSSL, libsodium (0: not measured). The ratio is against the faster reference. */
static void report(const char *name, const double rate[3], double target) {
  static const char *ref_names[] = {"ours", "OpenSSL", "libsodium"};
  int best = rate[1] >= rate[2] ? 1 : 2;
  double ratio = rate[0] / rate[best];
  printf("%-22s %12.0f", name, rate[0]);
  for (int k = 1; k < 3; k++) {
    if (rate[k] > 0)
      printf(" %12.0f", rate[k]);
    else
      printf(" %12s", "-");
  }
  printf("   %7.3f vs %-9s  target %4.2f  %s\n", ratio, ref_names[best], target,
         ratio >= target ? "met" : "NOT MET");
  fprintf(tsv, "%s\t%.6g\t%.6g\t%.6g\t%s\t%.6f\t%.2f\t%s\n", name, rate[0], rate[1], rate[2],
          ref_names[best], ratio, target, ratio >= target ? "met" : "not met");
  fflush(stdout);
  fflush(tsv);
}

/* ------------------------------------------------------------------ shared material */

static uint8_t content[128];
static ot_key *ed, *ed_pub, *x, *x_pub;
static char ed_id[128];
static ot_buffer *signed_text;
static EVP_PKEY *ossl_ed;
static unsigned char sod_pk[crypto_sign_PUBLICKEYBYTES], sod_sk[crypto_sign_SECRETKEYBYTES];
static unsigned char ref_sig[64];
static unsigned char box_pk[crypto_box_PUBLICKEYBYTES], box_sk[crypto_box_SECRETKEYBYTES];
static uint8_t msg1k[1024];
static ot_envelope *sealed;
static unsigned char boxed[1024 + crypto_box_SEALBYTES];

/* SHA256D of "MESSAGE\n" || content, as the v3 signature digests it. */
static void sha256d_ref(unsigned char out[32]) {
  unsigned char buf[8 + sizeof content], h[32];
  memcpy(buf, "MESSAGE\n", 8);
  memcpy(buf + 8, content, sizeof content);
  unsigned int n = 32;
  OSSL_TRY(EVP_Digest(buf, sizeof buf, h, &n, EVP_sha256(), NULL));
  OSSL_TRY(EVP_Digest(h, 32, out, &n, EVP_sha256(), NULL));
}

static void ours_sign(void *p) {
  (void)p;
  ot_buffer *t = NULL;
  OT_TRY(ot_signed_create("MESSAGE", content, sizeof content, ed, NULL, &t));
  ot_buffer_free(t);
}
static void ossl_sign(void *p) {
  (void)p;
  unsigned char d[32], sig[64];
  size_t n = 64;
  sha256d_ref(d);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  OSSL_TRY(EVP_DigestSignInit(c, NULL, NULL, NULL, ossl_ed) == 1);
  OSSL_TRY(EVP_DigestSign(c, sig, &n, d, 32) == 1);
  EVP_MD_CTX_free(c);
}
static void sodium_sign(void *p) {
  (void)p;
  unsigned char d[32], sig[64];
  sha256d_ref(d);
  crypto_sign_ed25519_detached(sig, NULL, d, 32, sod_sk);
}
static void ours_verify(void *p) {
  (void)p;
  OT_TRY(ot_signed_verify(ot_buffer_data(signed_text), ot_buffer_len(signed_text), ed_pub, NULL));
}
static void ossl_verify(void *p) {
  (void)p;
  unsigned char d[32];
  sha256d_ref(d);
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  OSSL_TRY(EVP_DigestVerifyInit(c, NULL, NULL, NULL, ossl_ed) == 1);
  OSSL_TRY(EVP_DigestVerify(c, ref_sig, 64, d, 32) == 1);
  EVP_MD_CTX_free(c);
}
static void sodium_verify(void *p) {
  (void)p;
  unsigned char d[32];
  sha256d_ref(d);
  if (crypto_sign_ed25519_verify_detached(ref_sig, d, 32, sod_pk) != 0) bench_die("sodium verify");
}
static void ours_xkeygen(void *p) {
  (void)p;
  ot_key *k = NULL;
  OT_TRY(ot_key_generate_x25519(&k));
  ot_key_free(k);
}
static void ossl_xkeygen(void *p) {
  (void)p;
  EVP_PKEY *k = NULL;
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
  OSSL_TRY(EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_keygen(c, &k) == 1);
  EVP_PKEY_free(k);
  EVP_PKEY_CTX_free(c);
}
static void sodium_xkeygen(void *p) {
  (void)p;
  unsigned char pk[32], sk[32];
  crypto_box_keypair(pk, sk);
}
static void ours_seal(void *p) {
  (void)p;
  ot_recipient r = {ed_id, x_pub};
  ot_envelope *e = NULL;
  OT_TRY(ot_envelope_seal(&r, 1, msg1k, sizeof msg1k, &e));
  ot_buffer *b = NULL;
  OT_TRY(ot_envelope_to_bytes(e, &b)); /* the wire bytes, as crypto_box_seal gives */
  ot_buffer_free(b);
  ot_envelope_free(e);
}
static void sodium_seal(void *p) {
  (void)p;
  unsigned char out[sizeof msg1k + crypto_box_SEALBYTES];
  crypto_box_seal(out, msg1k, sizeof msg1k, box_pk);
}
static void ours_open(void *p) {
  (void)p;
  ot_buffer *pt = NULL;
  OT_TRY(ot_envelope_open(sealed, ed_id, x, &pt));
  ot_buffer_free(pt);
}
static void sodium_open(void *p) {
  (void)p;
  unsigned char out[sizeof msg1k];
  if (crypto_box_seal_open(out, boxed, sizeof boxed, box_pk, box_sk) != 0) bench_die("sodium open");
}

/* ------------------------------------------------------------------ request round trips */

typedef struct {
  ot_key *c_auth, *c_enc, *n_auth, *n_enc;
  char n_id[128];
  char ep[256];
  ot_notary *notary;
  ot_session *session;
  pthread_t th;
  volatile int stop;
} rt_ctx;

static void *notary_loop(void *arg) {
  rt_ctx *c = arg;
  while (!c->stop) {
    ot_request *req = NULL;
    if (ot_notary_receive(c->notary, 200, &req) != OT_OK) continue;
    ot_buffer *content_b = NULL;
    if (ot_request_verify(req, c->c_auth, &content_b) == OT_OK)
      ot_notary_reply(c->notary, req, ot_buffer_data(content_b), ot_buffer_len(content_b), c->c_enc);
    ot_buffer_free(content_b);
    ot_request_free(req);
  }
  return NULL;
}

static void rt_start(rt_ctx *c, int v3) {
  if (v3) {
    OT_TRY(ot_key_generate_ed25519(&c->c_auth));
    OT_TRY(ot_key_generate_x25519(&c->c_enc));
    OT_TRY(ot_key_generate_ed25519(&c->n_auth));
    OT_TRY(ot_key_generate_x25519(&c->n_enc));
  } else {
    OT_TRY(ot_key_generate(2048, &c->c_auth));
    OT_TRY(ot_key_generate(2048, &c->c_enc));
    OT_TRY(ot_key_generate(2048, &c->n_auth));
    OT_TRY(ot_key_generate(2048, &c->n_enc));
  }
  ot_buffer *id = NULL, *ep = NULL;
  OT_TRY(ot_key_nym_id(c->n_auth, &id));
  snprintf(c->n_id, sizeof c->n_id, "%s", (const char *)ot_buffer_data(id));
  ot_buffer_free(id);
  ot_session_options *o = NULL;
  OT_TRY(ot_session_options_new(&o));
  OT_TRY(ot_session_options_set(o, "latency_delay_after", 0));
  OT_TRY(ot_notary_new("tcp://127.0.0.1:*", c->n_auth, c->n_enc, c->n_id, o, &c->notary));
  OT_TRY(ot_notary_endpoint(c->notary, &ep));
  snprintf(c->ep, sizeof c->ep, "%s", (const char *)ot_buffer_data(ep));
  ot_buffer_free(ep);
  OT_TRY(ot_session_new(c->ep, o, &c->session));
  OT_TRY(ot_session_set_identity(c->session, c->c_auth, c->c_enc));
  OT_TRY(ot_session_set_notary(c->session, c->n_id, c->n_enc, c->n_auth));
  ot_session_options_free(o);
  c->stop = 0;
  pthread_create(&c->th, NULL, notary_loop, c);
}

static void rt_stop(rt_ctx *c) {
  c->stop = 1;
  pthread_join(c->th, NULL);
  ot_session_free(c->session);
  ot_notary_free(c->notary);
  ot_key_free(c->c_auth);
  ot_key_free(c->c_enc);
  ot_key_free(c->n_auth);
  ot_key_free(c->n_enc);
}

static void rt_request(void *p) {
  rt_ctx *c = p;
  ot_buffer *reply = NULL;
  OT_TRY(ot_session_request(c->session, content, sizeof content, &reply));
  if (ot_buffer_len(reply) != sizeof content) bench_die("round trip reply");
  ot_buffer_free(reply);
}

int main(void) {
  if (sodium_init() < 0) bench_die("sodium_init");
  const char *secs = getenv("BENCH_SECONDS");
  g_budget = secs ? atof(secs) : 1.0;
  g_rounds = 8;
  if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0) {
    g_budget = 0.2;
    g_rounds = 4;
  }
  tsv = tsv_open("v3.tsv", "op\tours_ops\topenssl_ops\tlibsodium_ops\tbest_ref\tratio\ttarget\tresult\n");

  for (size_t i = 0; i < sizeof content; i++) content[i] = (uint8_t)('a' + i % 26);
  content[sizeof content - 1] = '\n';
  for (size_t i = 0; i < sizeof msg1k; i++) msg1k[i] = (uint8_t)(i * 7);

  /* One Ed25519 key shared by all three sides: ours exported as PKCS#8 and loaded by OpenSSL;
   * libsodium gets the same 32-byte seed. */
  OT_TRY(ot_key_generate_ed25519(&ed));
  OT_TRY(ot_key_public(ed, &ed_pub));
  ot_buffer *pem = NULL, *id = NULL;
  OT_TRY(ot_key_export(ed, OT_KEY_FORMAT_PKCS8_PLAIN, NULL, 0, &pem));
  BIO *bio = BIO_new_mem_buf(ot_buffer_data(pem), (int)ot_buffer_len(pem));
  ossl_ed = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  OSSL_TRY(ossl_ed != NULL);
  BIO_free(bio);
  ot_buffer_free(pem);
  unsigned char seed[32];
  size_t seedlen = 32;
  OSSL_TRY(EVP_PKEY_get_raw_private_key(ossl_ed, seed, &seedlen) == 1);
  crypto_sign_ed25519_seed_keypair(sod_pk, sod_sk, seed);
  OT_TRY(ot_key_nym_id(ed, &id));
  snprintf(ed_id, sizeof ed_id, "%s", (const char *)ot_buffer_data(id));
  ot_buffer_free(id);

  /* Correctness once: the three implementations produce the same deterministic signature of
   * the v3 digest, and ours embeds it in the signed text. */
  unsigned char d[32], s_ossl[64], s_sod[64];
  size_t n = 64;
  sha256d_ref(d);
  EVP_MD_CTX *mc = EVP_MD_CTX_new();
  OSSL_TRY(EVP_DigestSignInit(mc, NULL, NULL, NULL, ossl_ed) == 1 && EVP_DigestSign(mc, s_ossl, &n, d, 32) == 1);
  EVP_MD_CTX_free(mc);
  crypto_sign_ed25519_detached(s_sod, NULL, d, 32, sod_sk);
  CHECK_OR_DIE(memcmp(s_ossl, s_sod, 64) == 0, "OpenSSL and libsodium Ed25519 agree");
  memcpy(ref_sig, s_ossl, 64);
  OT_TRY(ot_signed_create("MESSAGE", content, sizeof content, ed, NULL, &signed_text));
  ot_buffer *armored = NULL;
  OT_TRY(ot_armor_encode(s_ossl, 64, OT_ARMOR_DATA, NULL, &armored));
  CHECK_OR_DIE(strstr((const char *)ot_buffer_data(signed_text), (const char *)ot_buffer_data(armored)) != NULL,
               "our Ed25519 signature equals OpenSSL's");
  ot_buffer_free(armored);

  OT_TRY(ot_key_generate_x25519(&x));
  OT_TRY(ot_key_public(x, &x_pub));
  ot_recipient r = {ed_id, x_pub};
  OT_TRY(ot_envelope_seal(&r, 1, msg1k, sizeof msg1k, &sealed));
  crypto_box_keypair(box_pk, box_sk);
  crypto_box_seal(boxed, msg1k, sizeof msg1k, box_pk);

  printf("suite v3 vs OpenSSL %s and libsodium %s; %.1f s per op per side, %d rounds\n\n",
         OpenSSL_version(OPENSSL_VERSION), sodium_version_string(), g_budget, g_rounds);
  printf("%-22s %12s %12s %12s   %s\n", "op (ops/s)", "ours", "OpenSSL", "libsodium", "ratio vs best reference");
  double rate[3];
  {
    op_fn f[] = {ours_sign, ossl_sign, sodium_sign};
    void *c[] = {NULL, NULL, NULL};
    run3(3, f, c, rate);
    report("ed25519 sign", rate, 0.9);
  }
  {
    op_fn f[] = {ours_verify, ossl_verify, sodium_verify};
    void *c[] = {NULL, NULL, NULL};
    run3(3, f, c, rate);
    report("ed25519 verify", rate, 0.9);
  }
  {
    op_fn f[] = {ours_xkeygen, ossl_xkeygen, sodium_xkeygen};
    void *c[] = {NULL, NULL, NULL};
    run3(3, f, c, rate);
    report("x25519 keygen", rate, 0.0);
  }
  {
    op_fn f[] = {ours_seal, sodium_seal};
    void *c[] = {NULL, NULL};
    double r2[2];
    run3(2, f, c, r2);
    double rr[3] = {r2[0], 0, r2[1]};
    report("v3 seal 1 KiB", rr, 0.8);
  }
  {
    op_fn f[] = {ours_open, sodium_open};
    void *c[] = {NULL, NULL};
    double r2[2];
    run3(2, f, c, r2);
    double rr[3] = {r2[0], 0, r2[1]};
    report("v3 open 1 KiB", rr, 0.9); /* issue 19 item 4 (0.8 before) */
  }
  {
    rt_ctx v3 = {0}, legacy = {0};
    rt_start(&v3, 1);
    rt_start(&legacy, 0);
    op_fn f[] = {rt_request, rt_request};
    void *c[] = {&v3, &legacy};
    double r2[2];
    run3(2, f, c, r2);
    double ratio = r2[0] / r2[1];
    /* No target any more: the 10x was set when our RSA was slow; suite v3 is measured against its
     * own primitives on libsodium (the rows above), issue 19. */
    printf("%-22s %12.0f %12s %12s   %7.3f vs RSA-2048 legacy requests (%.0f/s)  (no target)\n",
           "v3 request round trip", r2[0], "-", "-", ratio, r2[1]);
    fprintf(tsv, "v3 request round trip\t%.6g\t0\t0\tRSA-2048 request\t%.6f\t0\t-\n", r2[0], ratio);
    rt_stop(&v3);
    rt_stop(&legacy);
  }
  ot_buffer_free(signed_text);
  ot_envelope_free(sealed);
  ot_key_free(ed);
  ot_key_free(ed_pub);
  ot_key_free(x);
  ot_key_free(x_pub);
  EVP_PKEY_free(ossl_ed);
  fclose(tsv);
  return 0;
}
