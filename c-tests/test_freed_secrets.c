/* Secrets never stay behind in freed memory.
 *
 * This program interposes free() and realloc() (glibc: the library's calls resolve to the
 * program's definitions). While a check runs, freed blocks are kept aside ("quarantined") with
 * their content as the library left it; after the call, the test scans them for the secret the
 * call handled — a Z85 CURVE secret key, a plaintext, a private key, a symmetric key — and then
 * really frees them. A block that still holds the secret when it is freed (for instance the old
 * block of a vector that grew by reallocation) fails the check.
 *
 * Not run under AddressSanitizer (it owns malloc/free) nor valgrind (scripts/check-memory skips
 * it for the same reason): it prints that it was skipped. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>

#include "harness.h"

#if defined(__SANITIZE_ADDRESS__)
#define OT_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OT_NO_INTERPOSE 1
#endif
#endif

#ifndef OT_NO_INTERPOSE
extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t n);

#define QUARANTINE (1 << 20)
static void *held[QUARANTINE];
static size_t n_held;
static int quarantining;
static size_t overflowed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void free(void *p) {
  if (!p) return;
  pthread_mutex_lock(&lock);
  if (quarantining && n_held < QUARANTINE) {
    held[n_held++] = p;
    pthread_mutex_unlock(&lock);
    return;
  }
  if (quarantining) overflowed++;
  pthread_mutex_unlock(&lock);
  __libc_free(p);
}

/* A moving realloc frees the old block: done here as malloc + copy + free, so the old block goes
 * through free() above with the content it had. */
void *realloc(void *p, size_t n) {
  if (!p) return __libc_malloc(n);
  if (n == 0) {
    free(p);
    return NULL;
  }
  size_t old = malloc_usable_size(p);
  if (old >= n && !quarantining) return __libc_realloc(p, n);
  void *q = __libc_malloc(n);
  if (!q) return NULL;
  memcpy(q, p, old < n ? old : n);
  free(p);
  return q;
}

static void quarantine_begin(void) {
  pthread_mutex_lock(&lock);
  quarantining = 1;
  overflowed = 0;
  pthread_mutex_unlock(&lock);
}

/* How many quarantined blocks contain `needle`; then frees them all. */
static size_t quarantine_end(const void *needle, size_t len) {
  pthread_mutex_lock(&lock);
  quarantining = 0;
  size_t found = 0;
  for (size_t i = 0; i < n_held; i++) {
    const unsigned char *b = held[i];
    size_t n = malloc_usable_size(held[i]);
    for (size_t j = 0; len && j + len <= n; j++) {
      if (b[j] == ((const unsigned char *)needle)[0] && memcmp(b + j, needle, len) == 0) {
        found++;
        break;
      }
    }
  }
  for (size_t i = 0; i < n_held; i++) __libc_free(held[i]);
  n_held = 0;
  pthread_mutex_unlock(&lock);
  CHECK(overflowed == 0);
  return found;
}

/* Copies a buffer's bytes into static storage (so that the test itself frees no copy). */
static unsigned char secret[8192];
static size_t secret_len;
static void keep(const ot_buffer *b, size_t off, size_t len) {
  if (off + len > ot_buffer_len(b)) len = ot_buffer_len(b) > off ? ot_buffer_len(b) - off : 0;
  if (len > sizeof secret) len = sizeof secret;
  memcpy(secret, ot_buffer_data(b) + off, len);
  secret_len = len;
}

#define CANARY "CANARY:a81f0e2d5b7c4936-plaintext-that-must-not-survive-in-freed-memory"

static void check_curve_keypair(void) {
  ot_buffer *pub = NULL, *sec = NULL;
  quarantine_begin();
  ot_result rc = ot_curve_keypair(&pub, &sec);
  if (rc == OT_ERR_UNSUPPORTED) {
    quarantine_end("", 0);
    printf("  (libzmq without CURVE: ot_curve_keypair not checked)\n");
    return;
  }
  CHECK_OK(rc);
  keep(sec, 0, ot_buffer_len(sec));
  ot_buffer_free(sec);
  ot_buffer_free(pub);
  size_t found = quarantine_end(secret, secret_len);
  if (found) fprintf(stderr, "ot_curve_keypair: the Z85 secret is in %zu freed block(s)\n", found);
  CHECK(found == 0 && secret_len == 40);
}

/* Seals CANARY (padded to `len` bytes of text) to `key`, opens it, frees everything. */
static void check_open(const char *what, ot_key *key, size_t len) {
  char *text = malloc(len + 1);
  CHECK(text != NULL);
  if (!text) return;
  for (size_t i = 0; i < len; i++) text[i] = (char)('a' + i % 26);
  memcpy(text, CANARY, strlen(CANARY));
  text[len] = 0;
  ot_buffer *id = NULL, *plain = NULL, *armor = NULL;
  ot_envelope *env = NULL, *in = NULL;
  CHECK_OK(ot_key_nym_id(key, &id));
  ot_recipient to = {(const char *)ot_buffer_data(id), key};
  quarantine_begin();
  CHECK_OK(ot_envelope_seal(&to, 1, (const uint8_t *)text, len, &env));
  CHECK_OK(ot_envelope_to_armor(env, 1, &armor));
  CHECK_OK(ot_envelope_from_armor(ot_buffer_data(armor), ot_buffer_len(armor), &in));
  CHECK_OK(ot_envelope_open(in, (const char *)ot_buffer_data(id), key, &plain));
  CHECK(plain && ot_buffer_len(plain) == len && memcmp(ot_buffer_data(plain), CANARY, strlen(CANARY)) == 0);
  ot_buffer_free(plain);
  ot_envelope_free(in);
  ot_buffer_free(armor);
  ot_envelope_free(env);
  /* the one-step calls: sealed straight to bytes and armor, opened straight from them */
  ot_buffer *one = NULL, *one_armor = NULL, *p1 = NULL, *p2 = NULL;
  CHECK_OK(ot_envelope_seal_to_bytes(&to, 1, (const uint8_t *)text, len, &one));
  CHECK_OK(ot_envelope_seal_to_armor(&to, 1, (const uint8_t *)text, len, 1, &one_armor));
  CHECK_OK(ot_envelope_open_bytes(ot_buffer_data(one), ot_buffer_len(one), (const char *)ot_buffer_data(id), key, &p1));
  CHECK_OK(ot_envelope_open_armor(ot_buffer_data(one_armor), ot_buffer_len(one_armor), NULL, key, &p2));
  CHECK(p1 && ot_buffer_len(p1) == len && p2 && ot_buffer_len(p2) == len);
  ot_buffer_free(p1);
  ot_buffer_free(p2);
  ot_buffer_free(one_armor);
  ot_buffer_free(one);
  size_t found = quarantine_end(CANARY, strlen(CANARY));
  /* The test's own copy of the text is still allocated (not freed) while scanning. */
  if (found) fprintf(stderr, "%s (%zu bytes): the plaintext is in %zu freed block(s)\n", what, len, found);
  CHECK(found == 0);
  memset(text, 0, len);
  free(text);
  ot_buffer_free(id);
}

/* Streams: CANARY-led plaintext of `len` bytes sealed in pieces of `piece` bytes and opened in
 * pieces of the sealed size; the sealer's held-back plaintext and the keys of both sides must be
 * wiped when they are freed (the output areas are this test's own static storage). */
static unsigned char stream_in[300000], stream_ct[400000], stream_out[400000];
static void check_stream(ot_key *x25519, size_t len, size_t piece) {
  for (size_t i = 0; i < len; i++) stream_in[i] = (unsigned char)('a' + i % 26);
  /* the canary in the last chunk too: it stays held back in the sealer until final */
  memcpy(stream_in, CANARY, strlen(CANARY));
  if (len > 2 * strlen(CANARY)) memcpy(stream_in + len - strlen(CANARY), CANARY, strlen(CANARY));
  ot_recipient to = {"", x25519};
  ot_stream_sealer *s = NULL;
  ot_stream_opener *o = NULL;
  size_t sealed = 0, n = 0, opened = 0;
  quarantine_begin();
  CHECK_OK(ot_stream_seal_init(&to, 1, &s));
  CHECK_OK(ot_stream_open_init(NULL, x25519, &o));
  for (size_t off = 0; off < len; off += piece) {
    size_t k = len - off < piece ? len - off : piece;
    CHECK_OK(ot_stream_seal_update(s, stream_in + off, k, stream_ct + sealed, sizeof stream_ct - sealed, &n));
    sealed += n;
  }
  CHECK_OK(ot_stream_seal_final(s, stream_ct + sealed, sizeof stream_ct - sealed, &n));
  sealed += n;
  ot_stream_sealer_free(s);
  for (size_t off = 0; off < sealed; off += 70000) {
    size_t k = sealed - off < 70000 ? sealed - off : 70000;
    CHECK_OK(ot_stream_open_update(o, stream_ct + off, k, stream_out + opened, sizeof stream_out - opened, &n));
    opened += n;
  }
  CHECK_OK(ot_stream_open_final(o, stream_out + opened, sizeof stream_out - opened, &n));
  opened += n;
  ot_stream_opener_free(o);
  size_t found = quarantine_end(CANARY, strlen(CANARY));
  if (found) fprintf(stderr, "stream (%zu bytes, pieces of %zu): the plaintext is in %zu freed block(s)\n", len, piece, found);
  CHECK(found == 0);
  CHECK(opened == len && memcmp(stream_out, stream_in, len) == 0);
  memset(stream_out, 0, sizeof stream_out);
}

static void check_private_key_export(ot_key *key) {
  ot_buffer *pem = NULL;
  quarantine_begin();
  CHECK_OK(ot_key_export(key, OT_KEY_FORMAT_PKCS8_PLAIN, NULL, 0, &pem));
  /* A line of the key's base64 body (after the BEGIN line), part of the secret. */
  const char *body = memchr(ot_buffer_data(pem), '\n', ot_buffer_len(pem));
  CHECK(body != NULL);
  if (!body) return;
  keep(pem, (size_t)(body + 1 - (const char *)ot_buffer_data(pem)) + 64, 48);
  ot_buffer_free(pem);
  size_t found = quarantine_end(secret, secret_len);
  if (found) fprintf(stderr, "ot_key_export: the private key is in %zu freed block(s)\n", found);
  CHECK(found == 0);
}
#endif

int main(void) {
#ifdef OT_NO_INTERPOSE
  printf("test_freed_secrets: skipped (AddressSanitizer owns malloc/free)\n");
  return 0;
#else
  ot_key *rsa = NULL, *x25519 = NULL;
  CHECK_OK(ot_key_generate(1024, &rsa));
  CHECK_OK(ot_key_generate_x25519(&x25519));
  check_curve_keypair();
  /* Sizes around allocation boundaries: a vector that grows by one byte (the NUL of an
   * ot_buffer) reallocates when its length equals its capacity. */
  size_t sizes[] = {80, 95, 96, 127, 128, 1000, 4096, 65536};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    check_open("type 1 (RSA)", rsa, sizes[i]);
    check_open("type 3 (X25519)", x25519, sizes[i]);
  }
  size_t stream_sizes[] = {100, 65536, 65537, 200000};
  for (size_t i = 0; i < sizeof stream_sizes / sizeof stream_sizes[0]; i++) {
    check_stream(x25519, stream_sizes[i], 1000);
    check_stream(x25519, stream_sizes[i], 100000);
  }
  check_private_key_export(rsa);
  ot_key_free(x25519);
  ot_key_free(rsa);
  return ot_test_finish("test_freed_secrets");
#endif
}
