/* Shared helpers of the ot-transport benchmarks (bench_crypto, bench_transport, bench_scaling).
 *
 * The "OpenSSL side" below re-implements the legacy OT operations directly on libcrypto
 * (EVP_SealInit/EVP_OpenInit, EVP_PKEY_sign with RSA-PSS, EVP_Digest, EVP_Encode*) and zlib's
 * compress2, as the independent reference. libot_transport uses libcrypto only for the raw RSA
 * exponentiation (its default RSA engine, docs/rsa-engine.md); everything else the OpenSSL side
 * does here (paddings, EVP_Seal/Open, hashes, armor) is its own code path.
 *
 * Everything here is header-only (static functions) so each bench program is one gcc call.
 */
#ifndef OT_BENCH_COMMON_H
#define OT_BENCH_COMMON_H

/* Each program uses only some of the helpers below. */
#pragma GCC diagnostic ignored "-Wunused-function"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, strnlen, strdup, clock_gettime: define it before any #include */
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <zlib.h>

#include "ot_transport.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* ------------------------------------------------------------------ errors */

static void bench_die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(2);
}

#define OT_TRY(expr)                                                                       \
  do {                                                                                     \
    ot_result rc_ = (expr);                                                                \
    if (rc_ != OT_OK)                                                                      \
      bench_die("%s:%d: %s -> %s (%s)", __FILE__, __LINE__, #expr, ot_result_str(rc_),   \
                ot_last_error());                                                          \
  } while (0)

#define OSSL_TRY(cond)                                                                     \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      ERR_print_errors_fp(stderr);                                                         \
      bench_die("%s:%d: OpenSSL: %s failed", __FILE__, __LINE__, #cond);                 \
    }                                                                                      \
  } while (0)

#define CHECK_OR_DIE(cond, what)                                                           \
  do {                                                                                     \
    if (!(cond)) bench_die("%s:%d: correctness check failed: %s", __FILE__, __LINE__, what); \
  } while (0)

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) bench_die("out of memory (%zu bytes)", n);
  return p;
}

/* ------------------------------------------------------------------ time, env, output */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int bench_quick(void) {
  const char *q = getenv("BENCH_QUICK");
  return q && *q && strcmp(q, "0") != 0;
}

/* Seconds per operation per side (BENCH_SECONDS; default 1, or 0.12 with BENCH_QUICK=1). */
static double bench_seconds(void) {
  const char *s = getenv("BENCH_SECONDS");
  if (s && *s) {
    double v = atof(s);
    if (v > 0 && v <= 600) return v;
    bench_die("BENCH_SECONDS must be a number in (0, 600], got '%s'", s);
  }
  return bench_quick() ? 0.12 : 1.0;
}

static int bench_rounds(void) { return bench_quick() ? 2 : 5; }

static void mkdir_p(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  size_t n = strlen(tmp);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] == '/' || tmp[i] == 0) {
      char c = tmp[i];
      tmp[i] = 0;
      if (mkdir(tmp, 0755) != 0 && errno != EEXIST) bench_die("mkdir %s: %s", tmp, strerror(errno));
      tmp[i] = c;
    }
  }
}

/* Opens BENCH_OUT_DIR/name (default bench/results/) for writing and writes the header line. */
static FILE *tsv_open(const char *name, const char *header) {
  const char *dir = getenv("BENCH_OUT_DIR");
  if (!dir || !*dir) dir = "bench/results";
  mkdir_p(dir);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) bench_die("cannot write %s: %s", path, strerror(errno));
  fprintf(f, "%s\n", header);
  return f;
}

/* Writes meta_<prog>.tsv: versions of the libraries this process runs with. */
static void write_meta(const char *prog) {
  char name[128];
  snprintf(name, sizeof name, "meta_%s.tsv", prog);
  FILE *f = tsv_open(name, "key\tvalue");
  int ma = 0, mi = 0, pa = 0;
  ot_zmq_version(&ma, &mi, &pa);
  fprintf(f, "ot_transport\t%s\n", ot_version());
  fprintf(f, "openssl\t%s\n", OpenSSL_version(OPENSSL_VERSION));
  fprintf(f, "libzmq\t%d.%d.%d\n", ma, mi, pa);
  fprintf(f, "zlib\t%s\n", zlibVersion());
  fclose(f);
}

/* ------------------------------------------------------------------ test data */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t xrand(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(xrand() >> 32);
}

/* Printable, NUL-free, OT-signable text of exactly n bytes (n >= 1): XML-ish lines of at most
 * 80 characters, each ending in '\n', no line starting with '-'. Compresses roughly 3:1 with
 * zlib, like real OT messages. Caller frees. */
static char *make_text(size_t n) {
  static const char *words[] = {"account", "asset", "nym", "amount", "ledger", "transaction",
                                "balance", "receipt", "notary", "request", "inbox", "outbox",
                                "cheque", "voucher", "market", "offer"};
  char *t = xmalloc(n + 1);
  size_t i = 0;
  while (i < n) {
    char line[128];
    int len = snprintf(line, sizeof line, "<%s id=\"%llu\" %s=\"%llu\" memo=\"%s %s %s\"/>",
                       words[xrand() % 16], (unsigned long long)(xrand() % 1000000),
                       words[xrand() % 16], (unsigned long long)(xrand() % 100000000),
                       words[xrand() % 16], words[xrand() % 16], words[xrand() % 16]);
    if (len > 80) len = 80;
    for (int k = 0; k < len && i < n; k++) t[i++] = line[k];
    if (i < n) t[i++] = '\n';
  }
  t[n - 1] = '\n';
  t[n] = 0;
  return t;
}

/* ------------------------------------------------------------------ OpenSSL side: setup */

static OSSL_PROVIDER *prov_legacy, *prov_default;
static EVP_MD *md_sha256, *md_whirlpool;

static void ossl_init(void) {
  prov_legacy = OSSL_PROVIDER_load(NULL, "legacy");
  prov_default = OSSL_PROVIDER_load(NULL, "default");
  OSSL_TRY(prov_legacy && prov_default);
  md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  md_whirlpool = EVP_MD_fetch(NULL, "WHIRLPOOL", NULL);
  OSSL_TRY(md_sha256 && md_whirlpool);
}

static void ossl_cleanup(void) {
  EVP_MD_free(md_sha256);
  EVP_MD_free(md_whirlpool);
  OSSL_PROVIDER_unload(prov_legacy);
  OSSL_PROVIDER_unload(prov_default);
}

/* The same RSA key on the OpenSSL side: exported by the library as plain PKCS#8 PEM. */
static EVP_PKEY *ossl_key_from_ot(const ot_key *k) {
  ot_buffer *pem = NULL;
  OT_TRY(ot_key_export(k, OT_KEY_FORMAT_PKCS8_PLAIN, NULL, 0, &pem));
  BIO *b = BIO_new_mem_buf(ot_buffer_data(pem), (int)ot_buffer_len(pem));
  EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
  BIO_free(b);
  ot_buffer_free(pem);
  OSSL_TRY(p != NULL);
  return p;
}

static char *ot_nym_id_dup(const ot_key *k) {
  ot_buffer *id = NULL;
  OT_TRY(ot_key_nym_id(k, &id));
  char *s = strdup((const char *)ot_buffer_data(id));
  ot_buffer_free(id);
  if (!s) bench_die("out of memory");
  return s;
}

/* ------------------------------------------------------------------ OpenSSL side: hashes */

static void ossl_samy(const uint8_t *d, size_t n, uint8_t out[32]) {
  uint8_t s[32], w[64];
  unsigned l = 0;
  OSSL_TRY(EVP_Digest(d, n, s, &l, md_sha256, NULL));
  OSSL_TRY(EVP_Digest(d, n, w, &l, md_whirlpool, NULL));
  for (int i = 0; i < 32; i++) out[i] = s[i] ^ w[i];
}

/* ------------------------------------------------------------------ OpenSSL side: armor */

static size_t pb_header(uint8_t *h, size_t len) { /* 0x0A <varint len> */
  size_t n = 0;
  h[n++] = 0x0A;
  do {
    uint8_t b = len & 0x7F;
    len >>= 7;
    h[n++] = b | (len ? 0x80 : 0);
  } while (len);
  return n;
}

/* Parses 0x0A <varint>; returns header size or 0. */
static size_t pb_parse(const uint8_t *p, size_t n, size_t *len) {
  if (n < 2 || p[0] != 0x0A) return 0;
  uint64_t v = 0;
  size_t i = 1;
  for (int shift = 0; i < n && shift < 63; shift += 7) {
    uint8_t b = p[i++];
    v |= (uint64_t)(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      if (v > n - i) return 0;
      *len = (size_t)v;
      return i;
    }
  }
  return 0;
}

/* Base64 in 64-column lines each ending '\n' (what BIO_f_base64 writes) of a||b. */
static char *ossl_b64_lines2(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, size_t *out_len) {
  size_t total = an + bn;
  char *out = xmalloc(EVP_ENCODE_LENGTH(total) + 1);
  EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
  OSSL_TRY(ctx != NULL);
  EVP_EncodeInit(ctx);
  int ol = 0;
  size_t pos = 0;
  if (an > 0) { /* EVP_EncodeUpdate refuses empty input */
    OSSL_TRY(EVP_EncodeUpdate(ctx, (unsigned char *)out, &ol, a, (int)an));
    pos += (size_t)ol;
  }
  /* EVP_EncodeUpdate takes int lengths: feed large inputs in pieces. */
  for (size_t off = 0; off < bn;) {
    size_t chunk = bn - off > (1u << 30) ? (1u << 30) : bn - off;
    OSSL_TRY(EVP_EncodeUpdate(ctx, (unsigned char *)out + pos, &ol, b + off, (int)chunk));
    pos += (size_t)ol;
    off += chunk;
  }
  EVP_EncodeFinal(ctx, (unsigned char *)out + pos, &ol);
  pos += (size_t)ol;
  EVP_ENCODE_CTX_free(ctx);
  out[pos] = 0;
  *out_len = pos;
  return out;
}

/* Decodes base64 lines (newlines allowed) into a new buffer; NULL on garbage. */
static uint8_t *ossl_b64_decode(const char *text, size_t len, size_t *out_len) {
  uint8_t *out = xmalloc(EVP_DECODE_LENGTH(len) + 1);
  EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
  OSSL_TRY(ctx != NULL);
  EVP_DecodeInit(ctx);
  int ol = 0;
  size_t pos = 0;
  for (size_t off = 0; off < len;) {
    size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
    if (EVP_DecodeUpdate(ctx, out + pos, &ol, (const unsigned char *)text + off, (int)chunk) < 0) {
      EVP_ENCODE_CTX_free(ctx);
      free(out);
      return NULL;
    }
    pos += (size_t)ol;
    off += chunk;
  }
  if (EVP_DecodeFinal(ctx, out + pos, &ol) < 0) {
    EVP_ENCODE_CTX_free(ctx);
    free(out);
    return NULL;
  }
  pos += (size_t)ol;
  EVP_ENCODE_CTX_free(ctx);
  *out_len = pos;
  return out;
}

/* Data path: protobuf Blob field 1 + base64 lines. */
static char *ossl_armor_data_encode(const uint8_t *d, size_t n, size_t *out_len) {
  uint8_t h[16];
  size_t hl = pb_header(h, n);
  return ossl_b64_lines2(h, hl, d, n, out_len);
}

/* Data path decode: the payload is moved to the start of the returned buffer. */
static uint8_t *ossl_armor_data_decode(const char *t, size_t n, size_t *out_len) {
  size_t dl = 0, pl = 0;
  uint8_t *d = ossl_b64_decode(t, n, &dl);
  if (!d) return NULL;
  size_t hl = pb_parse(d, dl, &pl);
  if (!hl) {
    free(d);
    return NULL;
  }
  memmove(d, d + hl, pl);
  *out_len = pl;
  return d;
}

/* String path: protobuf String field 1 + zlib level 9 (compress2) + base64 lines. */
static char *ossl_armor_string_encode(const uint8_t *d, size_t n, size_t *out_len) {
  uint8_t h[16];
  size_t hl = pb_header(h, n);
  uint8_t *packed = xmalloc(hl + n);
  memcpy(packed, h, hl);
  memcpy(packed + hl, d, n);
  uLongf zl = compressBound((uLong)(hl + n));
  uint8_t *z = xmalloc(zl);
  if (compress2(z, &zl, packed, (uLong)(hl + n), 9) != Z_OK) bench_die("compress2 failed");
  free(packed);
  char *out = ossl_b64_lines2(NULL, 0, z, zl, out_len);
  free(z);
  return out;
}

/* Inflates a zlib stream into a growing buffer (the output size is not known up front). */
static uint8_t *zlib_inflate_all(const uint8_t *z, size_t zl, size_t *out_len) {
  size_t cap = zl * 4 + 64, pos = 0;
  uint8_t *out = xmalloc(cap);
  z_stream s;
  memset(&s, 0, sizeof s);
  if (inflateInit(&s) != Z_OK) bench_die("inflateInit failed");
  s.next_in = (Bytef *)z;
  s.avail_in = (uInt)zl;
  int rc = Z_OK;
  for (int guard = 0; guard < 64 && rc != Z_STREAM_END; guard++) {
    if (pos == cap) {
      if (cap > ((size_t)256 << 20)) break; /* zlib-bomb guard, as the library has */
      cap *= 2;
      uint8_t *grown = realloc(out, cap);
      if (!grown) bench_die("out of memory");
      out = grown;
    }
    s.next_out = out + pos;
    s.avail_out = (uInt)(cap - pos);
    rc = inflate(&s, Z_NO_FLUSH);
    pos = cap - s.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && s.avail_in == 0) break;
  }
  inflateEnd(&s);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  *out_len = pos;
  return out;
}

static uint8_t *ossl_armor_string_decode(const char *t, size_t n, size_t *out_len) {
  size_t zl = 0, pl = 0, il = 0;
  uint8_t *z = ossl_b64_decode(t, n, &zl);
  if (!z) return NULL;
  uint8_t *inf = zlib_inflate_all(z, zl, &il);
  free(z);
  if (!inf) return NULL;
  size_t hl = pb_parse(inf, il, &pl);
  if (!hl) {
    free(inf);
    return NULL;
  }
  memmove(inf, inf + hl, pl);
  *out_len = pl;
  return inf;
}

/* ------------------------------------------------------------------ OpenSSL side: envelopes */

typedef struct {
  const char *nym_id;
  EVP_PKEY *key;
} ossl_recipient;

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
static uint32_t get_u32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Legacy v1 seal: EVP_SealInit (random AES-128 key + IV, RSA PKCS#1 v1.5 wrap per recipient),
 * AES-128-CBC of plaintext||NUL, entries sorted by NymID (stable), big-endian layout. */
static uint8_t *ossl_seal(const ossl_recipient *r, size_t n, const uint8_t *pt, size_t len, size_t *out_len) {
  size_t *order = xmalloc(n * sizeof *order);
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = 1; i < n; i++) { /* stable insertion sort by NymID */
    size_t v = order[i], j = i;
    while (j > 0 && strcmp(r[order[j - 1]].nym_id, r[v].nym_id) > 0) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = v;
  }
  EVP_PKEY **pubs = xmalloc(n * sizeof *pubs);
  unsigned char **ek = xmalloc(n * sizeof *ek);
  int *ekl = xmalloc(n * sizeof *ekl);
  size_t hdr = 2 + 4 + 4 + 16;
  for (size_t i = 0; i < n; i++) {
    pubs[i] = r[order[i]].key;
    ek[i] = xmalloc((size_t)EVP_PKEY_get_size(pubs[i]));
    hdr += 4 + strlen(r[order[i]].nym_id) + 1 + 4 + (size_t)EVP_PKEY_get_size(pubs[i]);
  }
  uint8_t iv[16];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  OSSL_TRY(ctx != NULL);
  OSSL_TRY(EVP_SealInit(ctx, EVP_aes_128_cbc(), ek, ekl, iv, pubs, (int)n) == (int)n);
  size_t cap = hdr + len + 1 + 16;
  uint8_t *out = xmalloc(cap), *p = out;
  *p++ = 0;
  *p++ = 1; /* env_type 1 */
  put_u32(p, (uint32_t)n);
  p += 4;
  for (size_t i = 0; i < n; i++) {
    const char *id = r[order[i]].nym_id;
    size_t idl = strlen(id) + 1;
    put_u32(p, (uint32_t)idl);
    memcpy(p + 4, id, idl);
    p += 4 + idl;
    put_u32(p, (uint32_t)ekl[i]);
    memcpy(p + 4, ek[i], (size_t)ekl[i]);
    p += 4 + (size_t)ekl[i];
  }
  put_u32(p, 16);
  memcpy(p + 4, iv, 16);
  p += 20;
  int ol = 0;
  for (size_t off = 0; off < len;) { /* int lengths: feed in pieces */
    size_t chunk = len - off > (1u << 30) ? (1u << 30) : len - off;
    OSSL_TRY(EVP_SealUpdate(ctx, p, &ol, pt + off, (int)chunk));
    p += ol;
    off += chunk;
  }
  static const uint8_t nul = 0;
  OSSL_TRY(EVP_SealUpdate(ctx, p, &ol, &nul, 1));
  p += ol;
  OSSL_TRY(EVP_SealFinal(ctx, p, &ol));
  p += ol;
  EVP_CIPHER_CTX_free(ctx);
  for (size_t i = 0; i < n; i++) free(ek[i]);
  free(ek);
  free(ekl);
  free(pubs);
  free(order);
  *out_len = (size_t)(p - out);
  return out;
}

/* Legacy v1 open: first entry whose NymID matches, else the last one if its NymID is empty;
 * EVP_OpenInit + AES-128-CBC; plaintext cut at its first NUL. NULL on any failure. */
static uint8_t *ossl_open(const uint8_t *e, size_t n, const char *my_id, EVP_PKEY *priv, size_t *out_len) {
  if (n < 6 || e[0] != 0 || e[1] != 1) return NULL;
  uint32_t count = get_u32(e + 2);
  size_t pos = 6;
  const uint8_t *ek = NULL;
  uint32_t ekl = 0;
  int found = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (n - pos < 4) return NULL;
    uint32_t idl = get_u32(e + pos);
    pos += 4;
    if (idl == 0 || n - pos < idl) return NULL;
    const char *id = (const char *)e + pos;
    size_t idlen = strnlen(id, idl - 1); /* last byte is forced to NUL */
    pos += idl;
    if (n - pos < 4) return NULL;
    uint32_t kl = get_u32(e + pos);
    pos += 4;
    if (n - pos < kl) return NULL;
    if (!found && idlen == strlen(my_id) && memcmp(id, my_id, idlen) == 0) {
      ek = e + pos;
      ekl = kl;
      found = 1;
    } else if (!found && i + 1 == count && idlen == 0) {
      ek = e + pos;
      ekl = kl;
      found = 1;
    }
    pos += kl;
  }
  if (!found || n - pos < 4) return NULL;
  uint32_t ivl = get_u32(e + pos);
  pos += 4;
  if (ivl > 16 || n - pos < ivl) return NULL;
  uint8_t iv[16] = {0};
  memcpy(iv, e + pos, ivl);
  pos += ivl;
  size_t cl = n - pos;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  OSSL_TRY(ctx != NULL);
  uint8_t *out = NULL;
  int ol = 0;
  size_t total = 0;
  if (EVP_OpenInit(ctx, EVP_aes_128_cbc(), ek, (int)ekl, iv, priv) != 1) goto fail;
  out = xmalloc(cl + 17);
  for (size_t off = 0; off < cl;) {
    size_t chunk = cl - off > (1u << 30) ? (1u << 30) : cl - off;
    if (EVP_OpenUpdate(ctx, out + total, &ol, e + pos + off, (int)chunk) != 1) goto fail;
    total += (size_t)ol;
    off += chunk;
  }
  if (EVP_OpenFinal(ctx, out + total, &ol) != 1) goto fail;
  total += (size_t)ol;
  EVP_CIPHER_CTX_free(ctx);
  if (total == 0) {
    free(out);
    return NULL;
  }
  out[total - 1] = 0;
  *out_len = strnlen((const char *)out, total);
  return out;
fail:
  EVP_CIPHER_CTX_free(ctx);
  free(out);
  ERR_clear_error();
  return NULL;
}

/* ------------------------------------------------------------------ OpenSSL side: signed text */

#define OT_VERSION_LINE "Version: Open Transactions 0.90.b\n"
#define OT_COMMENT_LINE "Comment: http://github.com/FellowTraveler/Open-Transactions/wiki\n"

/* The content rules a legacy reader imposes (as ot_signed_create checks them). */
static int ossl_content_ok(const uint8_t *c, size_t n) {
  if (memchr(c, 0, n)) return 0;
  size_t pos = 0;
  while (pos < n) {
    const uint8_t *nl = memchr(c + pos, '\n', n - pos);
    size_t ll = nl ? (size_t)(nl - (c + pos)) : n - pos;
    if (ll > 2046) return 0; /* a CRLF line's '\r' counts: the legacy reader keeps it */
    if (ll > 0 && c[pos] == '-' && !(ll >= 3 && c[pos + 1] == ' ' && c[pos + 2] == '-')) return 0;
    if (ll >= 6 && memcmp(c + pos, "Hash: ", 6) == 0) return 0;
    pos += ll + 1;
  }
  return 1;
}

/* Signs content (ending '\n') as "-----BEGIN SIGNED MESSAGE-----": RSA-PSS(MGF1-SHA-256, max
 * salt) over SAMY(content), signature armored on the data path. */
static char *ossl_sign_message(const uint8_t *content, size_t n, EVP_PKEY *key, size_t *out_len) {
  if (n == 0 || content[n - 1] != '\n' || !ossl_content_ok(content, n)) return NULL;
  uint8_t dg[32];
  ossl_samy(content, n, dg);
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
  OSSL_TRY(c != NULL);
  OSSL_TRY(EVP_PKEY_sign_init(c) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_MAX) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_signature_md(c, md_sha256) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md_sha256) == 1);
  uint8_t sig[1024];
  size_t sl = sizeof sig;
  OSSL_TRY(EVP_PKEY_sign(c, sig, &sl, dg, sizeof dg) == 1);
  EVP_PKEY_CTX_free(c);
  uint8_t h[16];
  size_t hl = pb_header(h, sl), al = 0;
  char *armor = ossl_b64_lines2(h, hl, sig, sl, &al);
  static const char head[] = "-----BEGIN SIGNED MESSAGE-----\nHash: SAMY\n\n";
  static const char sighead[] = "-----BEGIN MESSAGE SIGNATURE-----\n" OT_VERSION_LINE OT_COMMENT_LINE "\n";
  static const char tail[] = "-----END MESSAGE SIGNATURE-----";
  size_t total = sizeof head - 1 + n + sizeof sighead - 1 + al + sizeof tail - 1;
  char *t = xmalloc(total + 1), *p = t;
  memcpy(p, head, sizeof head - 1);
  p += sizeof head - 1;
  memcpy(p, content, n);
  p += n;
  memcpy(p, sighead, sizeof sighead - 1);
  p += sizeof sighead - 1;
  memcpy(p, armor, al);
  p += al;
  memcpy(p, tail, sizeof tail);
  free(armor);
  *out_len = total;
  return t;
}

static const char *next_line(const char *p, const char *end, size_t *ll) {
  const char *nl = memchr(p, '\n', (size_t)(end - p));
  *ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
  return nl ? nl + 1 : end;
}

/* Parses a signed MESSAGE line by line as the legacy reader does, verifies the RSA-PSS
 * signature (salt length recovered) over SAMY(content); returns a copy of the content, or NULL. */
static uint8_t *ossl_verify_message(const char *text, size_t n, EVP_PKEY *pub, size_t *content_len) {
  const char *p = text, *end = text + n;
  size_t ll = 0;
  const char *line = p;
  p = next_line(p, end, &ll);
  if (ll < 17 || memcmp(line, "-----BEGIN SIGNED", 17) != 0) return NULL;
  line = p;
  p = next_line(p, end, &ll);
  if (ll != 10 || memcmp(line, "Hash: SAMY", 10) != 0) return NULL;
  p = next_line(p, end, &ll); /* the line after Hash: is discarded */
  const char *content = p, *content_end = NULL;
  while (p < end) {
    line = p;
    p = next_line(p, end, &ll);
    if (ll > 0 && line[0] == '-') {
      if (ll >= 3 && line[1] == ' ' && line[2] == '-') continue;
      if (memmem(line, ll, "SIGNATURE", 9)) {
        content_end = line;
        break;
      }
      return NULL;
    }
  }
  if (!content_end) return NULL;
  /* signature section: skip Version:(+next), Meta:(+next), short lines; base64 until a dash. */
  const char *b64 = NULL, *b64_end = NULL;
  while (p < end) {
    line = p;
    p = next_line(p, end, &ll);
    if (ll >= 8 && memcmp(line, "Version:", 8) == 0) {
      p = next_line(p, end, &ll);
      continue;
    }
    if (ll >= 5 && memcmp(line, "Meta:", 5) == 0) {
      p = next_line(p, end, &ll);
      continue;
    }
    if (ll < 2) continue;
    if (line[0] == '-') break;
    if (!b64) b64 = line;
    b64_end = p;
  }
  if (!b64) return NULL;
  size_t dl = 0, sl = 0;
  uint8_t *d = ossl_b64_decode(b64, (size_t)(b64_end - b64), &dl);
  if (!d) return NULL;
  size_t hl = pb_parse(d, dl, &sl);
  uint8_t dg[32];
  size_t cl = (size_t)(content_end - content);
  ossl_samy((const uint8_t *)content, cl, dg);
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
  OSSL_TRY(c != NULL);
  OSSL_TRY(EVP_PKEY_verify_init(c) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_AUTO) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_signature_md(c, md_sha256) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md_sha256) == 1);
  int ok = hl && sl >= (size_t)EVP_PKEY_get_size(pub) && EVP_PKEY_verify(c, d + hl, sl, dg, sizeof dg) == 1;
  EVP_PKEY_CTX_free(c);
  free(d);
  if (!ok) {
    ERR_clear_error();
    return NULL;
  }
  uint8_t *out = xmalloc(cl + 1);
  memcpy(out, content, cl);
  out[cl] = 0;
  *content_len = cl;
  return out;
}

/* ------------------------------------------------------------------ OpenSSL side: keygen */

static EVP_PKEY *ossl_keygen(unsigned bits) {
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
  OSSL_TRY(c != NULL);
  OSSL_TRY(EVP_PKEY_keygen_init(c) == 1);
  OSSL_TRY(EVP_PKEY_CTX_set_rsa_keygen_bits(c, (int)bits) == 1);
  BIGNUM *e = BN_new();
  OSSL_TRY(e && BN_set_word(e, RSA_F4));
  OSSL_TRY(EVP_PKEY_CTX_set1_rsa_keygen_pubexp(c, e) == 1);
  EVP_PKEY *k = NULL;
  OSSL_TRY(EVP_PKEY_generate(c, &k) == 1);
  BN_free(e);
  EVP_PKEY_CTX_free(c);
  return k;
}

#endif /* OT_BENCH_COMMON_H */
