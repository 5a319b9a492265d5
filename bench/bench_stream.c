/* bench_stream: streaming envelopes (type 4) through libot_transport ("ours") against libsodium's
 * crypto_secretstream_xchacha20poly1305 on the same 64 KiB chunks, interleaved in short rounds in
 * one process; and the memory a 4 GiB stream needs, sealed and opened in a child process.
 *
 *   seal   ours: ot_stream_seal_init to one X25519 recipient, then ot_stream_seal_update with
 *          1 MiB pieces and ot_stream_seal_final, into a reused output area;
 *          libsodium: init_push, then crypto_secretstream_xchacha20poly1305_push of 64 KiB
 *          chunks (TAG_FINAL on the last) into an output area of the same size.
 *   open   ours: ot_stream_open_init, ot_stream_open_update with 1 MiB pieces of the sealed
 *          stream, ot_stream_open_final; libsodium: init_pull, then _pull of each chunk.
 *   rss    a child seals a stream of BENCH_STREAM_GIB GiB (default 4; 0.25 with BENCH_QUICK=1)
 *          in 1 MiB pieces and opens it as it goes (the sealed bytes go straight into the
 *          opener, the plaintext is checked and dropped); its peak RSS (ru_maxrss) is reported.
 *
 * ratio = ours / libsodium in MiB/s of plaintext (> 1: ours faster). Target: >= 0.9; RSS < 8 MiB.
 * Output: a table on stdout and BENCH_OUT_DIR/stream.tsv.
 */
#define _GNU_SOURCE
#include <sodium.h>
#include <unistd.h>

#include "bench_common.h"

#define CHUNK 65536
#define PIECE ((size_t)1 << 20)

typedef void (*op_fn)(void *);

static FILE *tsv;

typedef struct {
  const ot_recipient *r;
  const ot_key *key;
  const uint8_t *pt;
  size_t len;
  uint8_t *out; /* reused output area */
  size_t out_cap;
  const uint8_t *sealed; /* for open */
  size_t sealed_len;
} ours_ctx;

typedef struct {
  unsigned char key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  const uint8_t *pt;
  size_t len;
  uint8_t *out;
  uint8_t *sealed;
  size_t sealed_len;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
} sodium_ctx;

static size_t ours_seal_into(ours_ctx *c, uint8_t *dst, size_t cap) {
  ot_stream_sealer *s = NULL;
  OT_TRY(ot_stream_seal_init(c->r, 1, &s));
  size_t total = 0, n = 0;
  for (size_t off = 0; off < c->len; off += PIECE) {
    size_t piece = c->len - off < PIECE ? c->len - off : PIECE;
    uint8_t *o = dst ? dst + total : c->out;
    size_t oc = dst ? cap - total : c->out_cap;
    OT_TRY(ot_stream_seal_update(s, c->pt + off, piece, o, oc, &n));
    total += n;
  }
  OT_TRY(ot_stream_seal_final(s, dst ? dst + total : c->out, dst ? cap - total : c->out_cap, &n));
  total += n;
  ot_stream_sealer_free(s);
  return total;
}

static void ours_seal(void *p) { ours_seal_into(p, NULL, 0); }

static void ours_open(void *p) {
  ours_ctx *c = p;
  ot_stream_opener *o = NULL;
  OT_TRY(ot_stream_open_init(NULL, c->key, &o));
  size_t got = 0, n = 0;
  for (size_t off = 0; off < c->sealed_len; off += PIECE) {
    size_t piece = c->sealed_len - off < PIECE ? c->sealed_len - off : PIECE;
    OT_TRY(ot_stream_open_update(o, c->sealed + off, piece, c->out, c->out_cap, &n));
    got += n;
  }
  OT_TRY(ot_stream_open_final(o, c->out, c->out_cap, &n));
  got += n;
  if (got != c->len) bench_die("ours: opened %zu bytes, not %zu", got, c->len);
  ot_stream_opener_free(o);
}

static size_t sodium_seal_into(sodium_ctx *c, uint8_t *dst) {
  crypto_secretstream_xchacha20poly1305_state st;
  unsigned char scratch[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  /* the header of the stream kept for the open rows; timing runs write a scratch one */
  crypto_secretstream_xchacha20poly1305_init_push(&st, dst ? c->header : scratch, c->key);
  size_t total = 0;
  for (size_t off = 0; off < c->len || off == 0; off += CHUNK) {
    size_t m = c->len - off < CHUNK ? c->len - off : CHUNK;
    int last = off + m >= c->len;
    unsigned long long cl = 0;
    /* into a 1 MiB area used round-robin, like ours (or the whole stream when dst is given) */
    uint8_t *o = dst ? dst + total : c->out + (total % PIECE);
    crypto_secretstream_xchacha20poly1305_push(
        &st, o, &cl, c->pt + off, m, NULL, 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    total += (size_t)cl;
    if (last) break;
  }
  return total;
}

static void sodium_seal(void *p) { sodium_seal_into(p, NULL); }

static void sodium_open(void *p) {
  sodium_ctx *c = p;
  crypto_secretstream_xchacha20poly1305_state st;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&st, c->header, c->key) != 0) bench_die("sodium init_pull");
  size_t got = 0;
  unsigned char tag = 0;
  for (size_t off = 0; off < c->sealed_len;) {
    size_t cl = c->sealed_len - off < CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES
                    ? c->sealed_len - off
                    : CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES;
    unsigned long long ml = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&st, c->out + (got % PIECE), &ml, &tag, c->sealed + off, cl,
                                                   NULL, 0) != 0)
      bench_die("sodium pull failed");
    got += (size_t)ml;
    off += cl;
  }
  if (got != c->len || tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL) bench_die("sodium: bad stream");
}

/* Two sides alternately for `rounds` rounds of `slice` seconds each; MiB/s per side. */
static void run2(op_fn fn[2], void *ctx[2], size_t bytes, double budget, int rounds, double out[2]) {
  double t_tot[2] = {0, 0};
  long n_tot[2] = {0, 0};
  fn[0](ctx[0]);
  fn[1](ctx[1]);
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 2; k++) {
      int side = (r % 2 == 0) ? k : 1 - k;
      long n = 0;
      double t0 = now_s(), t = 0;
      do {
        fn[side](ctx[side]);
        n++;
        t = now_s() - t0;
      } while (t < budget / rounds);
      t_tot[side] += t;
      n_tot[side] += n;
    }
  }
  for (int k = 0; k < 2; k++) out[k] = (double)n_tot[k] * (double)bytes / (double)MiB / t_tot[k];
}

static void report(const char *name, double ours, double ref, const char *unit, double target, int higher_better) {
  double ratio = higher_better ? ours / ref : ref / ours;
  int met = ratio >= target;
  printf("%-34s %12.1f %12.1f %-6s %7.3f  target %4.2f  %s\n", name, ours, ref, unit, ratio, target,
         met ? "met" : "NOT MET");
  fprintf(tsv, "%s\t%.6g\t%.6g\t%s\t%.6f\t%.2f\t%s\n", name, ours, ref, unit, ratio, target,
          met ? "met" : "not met");
  fflush(stdout);
  fflush(tsv);
}

static long status_kb(const char *field) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0) v = atol(line + n);
  fclose(f);
  return v;
}

/* The RSS row's child (this program re-executed with --rss-child BYTES, a fresh process): seal
 * BYTES of plaintext in 256 KiB pieces, feeding the output straight into an opener; check the
 * plaintext pattern; print "peak_kb start_kb" (VmHWM at the end, VmRSS before the stream). */
static int rss_child(uint64_t total) {
  enum { P = 256 * 1024 };
  ot_key *key = NULL;
  OT_TRY(ot_key_generate_x25519(&key));
  ot_recipient r = {"", key};
  static uint8_t pt[P], ct[2 * P], back[3 * P];
  memset(pt, 0, sizeof pt);
  memset(ct, 0, sizeof ct);
  memset(back, 0, sizeof back);
  FILE *f = fopen("/proc/self/clear_refs", "w"); /* 5: reset VmHWM to the current RSS */
  if (f) {
    fputs("5", f);
    fclose(f);
  }
  long start_kb = status_kb("VmRSS:");
  ot_stream_sealer *s = NULL;
  ot_stream_opener *o = NULL;
  OT_TRY(ot_stream_seal_init(&r, 1, &s));
  OT_TRY(ot_stream_open_init(NULL, key, &o));
  uint64_t fed = 0, opened = 0;
  size_t n = 0, m = 0;
  while (fed < total) {
    size_t piece = total - fed < P ? (size_t)(total - fed) : P;
    for (size_t i = 0; i < piece; i += 4096)
      memset(pt + i, (int)((fed + i) >> 12), piece - i < 4096 ? piece - i : 4096);
    OT_TRY(ot_stream_seal_update(s, pt, piece, ct, sizeof ct, &n));
    OT_TRY(ot_stream_open_update(o, ct, n, back, sizeof back, &m));
    for (size_t i = 0; i < m; i += 4096)
      if (back[i] != (uint8_t)((opened + i) >> 12))
        bench_die("rss child: wrong plaintext at %llu", (unsigned long long)(opened + i));
    opened += m;
    fed += piece;
  }
  OT_TRY(ot_stream_seal_final(s, ct, sizeof ct, &n));
  OT_TRY(ot_stream_open_update(o, ct, n, back, sizeof back, &m));
  opened += m;
  OT_TRY(ot_stream_open_final(o, back, sizeof back, &m));
  opened += m;
  if (opened != total)
    bench_die("rss child: opened %llu of %llu bytes", (unsigned long long)opened, (unsigned long long)total);
  ot_stream_sealer_free(s);
  ot_stream_opener_free(o);
  ot_key_free(key);
  printf("%ld %ld %ld\n", status_kb("VmHWM:"), start_kb, status_kb("RssAnon:"));
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--rss-child") == 0) return rss_child(strtoull(argv[2], NULL, 10));

  if (sodium_init() < 0) bench_die("sodium_init failed");
  double budget = bench_seconds();
  int rounds = bench_rounds();
  tsv = tsv_open("stream.tsv", "row\tours\treference\tunit\tratio\ttarget\tverdict");
  FILE *meta = tsv_open("meta_stream.tsv", "key\tvalue");
  fprintf(meta, "libsodium\t%s\n", sodium_version_string());
  fclose(meta);

  ot_key *key = NULL;
  OT_TRY(ot_key_generate_x25519(&key));
  ot_buffer *id = NULL;
  OT_TRY(ot_key_nym_id(key, &id));
  ot_recipient r = {(const char *)ot_buffer_data(id), key};

  size_t len = bench_quick() ? 4 * MiB : 16 * MiB;
  uint8_t *pt = xmalloc(len);
  randombytes_buf(pt, len);
  size_t cap = len + len / 8 + 65536;
  uint8_t *sealed = xmalloc(cap), *ssealed = xmalloc(cap);
  uint8_t *out = xmalloc(2 * PIECE + 65536);

  ours_ctx oc = {&r, key, pt, len, out, 2 * PIECE + 65536, sealed, 0};
  oc.sealed_len = ours_seal_into(&oc, sealed, cap);
  sodium_ctx sc;
  crypto_secretstream_xchacha20poly1305_keygen(sc.key);
  sc.pt = pt;
  sc.len = len;
  sc.out = out;
  sc.sealed = ssealed;
  sc.sealed_len = sodium_seal_into(&sc, ssealed);

  /* correctness, once: ours opens its own stream whole; a cut stream fails */
  {
    ot_stream_opener *o = NULL;
    uint8_t *back = xmalloc(len + 65536);
    size_t n = 0, m = 0;
    OT_TRY(ot_stream_open_init(NULL, key, &o));
    OT_TRY(ot_stream_open_update(o, sealed, oc.sealed_len, back, len + 65536, &n));
    OT_TRY(ot_stream_open_final(o, back + n, len + 65536 - n, &m));
    CHECK_OR_DIE(n + m == len && memcmp(back, pt, len) == 0, "stream round trip");
    ot_stream_opener_free(o);
    OT_TRY(ot_stream_open_init(NULL, key, &o));
    size_t hdr = 0;
    OT_TRY(ot_stream_open_update(o, sealed, oc.sealed_len - 65552, back, len + 65536, &n));
    OT_TRY(ot_stream_opener_header_len(o, &hdr));
    CHECK_OR_DIE(ot_stream_open_final(o, back, len + 65536, &m) == OT_ERR_DECRYPT_FAILED, "a stream cut at a chunk boundary fails");
    ot_stream_opener_free(o);
    free(back);
    printf("correctness: %zu MiB stream round trip, header %zu bytes, truncation detected\n", len / MiB, hdr);
  }

  printf("%-34s %12s %12s %-6s %7s\n", "row", "ours", "libsodium", "unit", "ratio");
  double rate[2];
  op_fn fs[2] = {ours_seal, sodium_seal};
  void *cs[2] = {&oc, &sc};
  run2(fs, cs, len, budget * 2, rounds, rate);
  report("stream seal 64KiB chunks", rate[0], rate[1], "MiB/s", 0.9, 1);
  op_fn fo[2] = {ours_open, sodium_open};
  run2(fo, cs, len, budget * 2, rounds, rate);
  report("stream open 64KiB chunks", rate[0], rate[1], "MiB/s", 0.9, 1);

  /* RSS of a big stream, sealed and opened in a child process */
  double gib = bench_quick() ? 0.25 : 4;
  const char *g = getenv("BENCH_STREAM_GIB");
  if (g && *g) gib = atof(g);
  uint64_t total = (uint64_t)(gib * 1024 * 1024 * 1024);
  fflush(stdout);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "/proc/%d/exe --rss-child %llu", (int)getpid(), (unsigned long long)total);
  double t0 = now_s();
  FILE *child = popen(cmd, "r");
  long peak_kb = -1, start_kb = -1, anon_kb = -1;
  if (!child || fscanf(child, "%ld %ld %ld", &peak_kb, &start_kb, &anon_kb) != 3 || pclose(child) != 0 || peak_kb <= 0)
    bench_die("the RSS child failed");
  double secs = now_s() - t0;
  double rss_mib = (double)peak_kb / 1024.0, grew = (double)(peak_kb - start_kb) / 1024.0;
  char name[96];
  snprintf(name, sizeof name, "stream %.2f GiB seal+open RSS growth", gib);
  /* The target is the memory the stream takes: the peak over what the process held before it
   * (shared libraries' pages included in both). The whole-process peak is printed beside it. */
  printf("%-34s %12.2f %12s %-6s %7s  target < 8 MiB  %s  (peak RSS of the whole process %.2f MiB, %.2f MiB of it "
         "before the stream; anonymous at the end %.2f MiB; %.1f s, %.0f MiB/s each way)\n",
         name, grew, "-", "MiB", "-", grew < 8 ? "met" : "NOT MET", rss_mib, (double)start_kb / 1024.0,
         (double)anon_kb / 1024.0, secs, (double)total / MiB / secs);
  fprintf(tsv, "%s\t%.6g\t%.6g\t%s\t%s\t%s\t%s\n", name, grew, rss_mib, "MiB", "-", "< 8", grew < 8 ? "met" : "not met");
  fclose(tsv);
  ot_key_free(key);
  ot_buffer_free(id);
  return 0;
}
