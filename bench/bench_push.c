/* bench_push: push fan-out through the public C API. One notary, N v2 subscriber sessions on
 * tcp 127.0.0.1 (each subscribed with ot_session_subscribe; the notary registers each route with
 * ot_notary_register_push), then ot_notary_push of a 1 KiB MESSAGE to all of them for the timed
 * budget: the notary signs each push once per identity and seals it to each subscriber. Rows for
 * RSA-2048 keys and for suite v3 keys (Ed25519 + X25519), N = 1, 10, 100, 1000.
 *
 * Reported: pushes/s (one push = all N deliveries), deliveries/s, and µs per delivery; beside
 * it, the cost the same deliveries would have with one signature per subscriber (the push
 * rate's time plus (N - 1) signatures per push, the signature's time measured here with
 * ot_signed_create). The subscribers do not read during the timed part (their libzmq queues take
 * the pushes; each round stays under the queue bound), so the figure is the notary's fan-out
 * rate; afterwards every subscriber's first push is opened and verified.
 *
 * The subscribers run in child processes, at most GROUP sessions each: a v2 session holds three
 * libzmq sockets (its DEALER and its monitor's pair) and one process's libzmq context allows 1023
 * sockets (ZMQ_MAX_SOCKETS), so 1000 subscribers do not fit in one process; a notary does not
 * need a socket per subscriber. Children are forked before the row's notary exists and learn its
 * endpoint through a pipe.
 * Output: a table on stdout and BENCH_OUT_DIR/push.tsv.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"

static ot_key *n_auth, *n_enc, *c_auth, *c_enc;
/* Subscriber sessions per child process (3 libzmq sockets each, 1023 per process). */
#define GROUP 250
static const char *n_id = "bench-notary";

typedef struct {
  ot_notary *n;
  int want;
  int served;
} serve_job;

/* Accepts `want` subscriptions: verify, register the route, reply. */
static void *serve_subscriptions(void *arg) {
  serve_job *j = arg;
  while (j->served < j->want) {
    ot_request *req = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(j->n, 30000, &req) != OT_OK) bench_die("no subscription within 30 s");
    OT_TRY(ot_request_verify(req, c_auth, &c));
    OT_TRY(ot_notary_register_push(j->n, req, "fanout", c_enc));
    OT_TRY(ot_notary_reply(j->n, req, (const uint8_t *)"subscribed", 10, c_enc));
    ot_buffer_free(c);
    ot_request_free(req);
    j->served++;
  }
  return NULL;
}

static double sign_rate(const char *content) {
  double t0 = now_s();
  long n = 0;
  do {
    ot_buffer *t = NULL;
    OT_TRY(ot_signed_create("MESSAGE", (const uint8_t *)content, strlen(content), n_auth, NULL, &t));
    ot_buffer_free(t);
    n++;
  } while (now_s() - t0 < 0.3);
  return (double)n / (now_s() - t0);
}

/* A child process holding `count` subscribers: reads the endpoint from `in`, subscribes them all,
 * writes one byte to `out`, waits for one byte on `in` (the pushes were sent), then opens and
 * verifies each subscriber's first push and exits with 0 when every one had `content`. */
static void subscriber_child(int in, int out, int count, const char *content) {
  char ep[128] = {0};
  size_t got = 0;
  while (got < sizeof ep - 1) {
    ssize_t r = read(in, ep + got, 1);
    if (r <= 0) _exit(2);
    if (ep[got] == '\n') break;
    got++;
  }
  ep[got] = 0;
  ot_session_options *o = NULL;
  if (ot_session_options_new(&o) || ot_session_options_set(o, "protocol", 1) ||
      ot_session_options_set(o, "latency_delay_after", 0) || ot_session_options_set(o, "latency_receive_ms", 30000))
    _exit(3);
  ot_session **subs = calloc((size_t)count, sizeof *subs);
  if (!subs) _exit(3);
  for (int i = 0; i < count; i++) {
    ot_buffer *r = NULL;
    if (ot_session_new(ep, o, &subs[i]) || ot_session_set_identity(subs[i], c_auth, c_enc) ||
        ot_session_set_notary(subs[i], n_id, n_enc, n_auth) ||
        ot_session_subscribe(subs[i], (const uint8_t *)"subscribe fanout", 16, &r)) {
      fprintf(stderr, "bench_push: subscriber %d: %s\n", i, ot_last_error());
      _exit(4);
    }
    ot_buffer_free(r);
  }
  char c = 1;
  if (write(out, &c, 1) != 1 || read(in, &c, 1) != 1) _exit(5);
  int bad = 0;
  for (int i = 0; i < count; i++) {
    uint64_t seq = 0, missed = 0;
    ot_buffer *b = NULL;
    if (ot_session_next_push(subs[i], 30000, &seq, &missed, &b) != OT_OK || ot_buffer_len(b) != strlen(content) ||
        memcmp(ot_buffer_data(b), content, strlen(content)) != 0)
      bad++;
    ot_buffer_free(b);
  }
  for (int i = 0; i < count; i++) ot_session_free(subs[i]);
  free(subs);
  ot_session_options_free(o);
  _exit(bad ? 6 : 0);
}

static void rows(FILE *tsv, const char *suite, const int *ns, int nn) {
  char *content = make_text(1024);
  double sig = sign_rate(content);
  for (int k = 0; k < nn; k++) {
    int N = ns[k];
    /* the subscribers' processes first, while this process runs no notary thread */
    int groups = (N + GROUP - 1) / GROUP;
    pid_t pids[8];
    int to_child[8], from_child[8];
    for (int g = 0; g < groups; g++) {
      int a[2], b2[2];
      if (pipe(a) != 0 || pipe(b2) != 0) bench_die("pipe: %s", strerror(errno));
      fflush(NULL);
      pid_t pid = fork();
      if (pid < 0) bench_die("fork: %s", strerror(errno));
      if (pid == 0) {
        close(a[1]);
        close(b2[0]);
        subscriber_child(a[0], b2[1], g + 1 < groups ? GROUP : N - g * GROUP, content);
      }
      close(a[0]);
      close(b2[1]);
      pids[g] = pid;
      to_child[g] = a[1];
      from_child[g] = b2[0];
    }
    ot_notary *n = NULL;
    ot_buffer *b = NULL;
    char ep[128];
    OT_TRY(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &n));
    OT_TRY(ot_notary_endpoint(n, &b));
    snprintf(ep, sizeof ep, "%s", (const char *)ot_buffer_data(b));
    ot_buffer_free(b);
    serve_job job = {n, N, 0};
    pthread_t t;
    pthread_create(&t, NULL, serve_subscriptions, &job);
    double s0 = now_s();
    char line[160];
    snprintf(line, sizeof line, "%s\n", ep);
    for (int g = 0; g < groups; g++)
      if (write(to_child[g], line, strlen(line)) != (ssize_t)strlen(line)) bench_die("write to a subscriber process");
    for (int g = 0; g < groups; g++) {
      char c;
      if (read(from_child[g], &c, 1) != 1) bench_die("a subscriber process failed before subscribing");
    }
    pthread_join(t, NULL);
    double setup = now_s() - s0;
    /* Timed: pushes until the budget is spent, at most 800 per subscriber queue (libzmq's
     * default high-water mark is 1000 messages per pipe). */
    double budget = bench_seconds() * 2;
    long pushes = 0;
    size_t delivered_total = 0;
    double t0 = now_s(), el = 0;
    do {
      size_t delivered = 0;
      OT_TRY(ot_notary_push(n, "fanout", (const uint8_t *)content, strlen(content), &delivered));
      if (delivered != (size_t)N) bench_die("push reached %zu of %d subscribers", delivered, N);
      delivered_total += delivered;
      pushes++;
      el = now_s() - t0;
    } while (el < budget && pushes < 800);
    double push_rate = (double)pushes / el, deliv_rate = (double)delivered_total / el;
    /* one signature per subscriber instead: the same time plus N-1 more signatures per push */
    double per_sub_rate = 1.0 / (1.0 / push_rate + (double)(N - 1) / sig);
    /* every subscriber got a valid push (opened and verified by its session, in its process) */
    for (int g = 0; g < groups; g++) {
      char c = 1;
      if (write(to_child[g], &c, 1) != 1) bench_die("write to a subscriber process");
    }
    for (int g = 0; g < groups; g++) {
      int status = 0;
      waitpid(pids[g], &status, 0);
      CHECK_OR_DIE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "every subscriber's push opens, verifies and has the content");
      close(to_child[g]);
      close(from_child[g]);
    }
    printf("%-8s %5d %10.1f %12.0f %10.2f %14.1f %10.2f  (subscribe %.2f s)\n", suite, N, push_rate, deliv_rate,
           1e6 / deliv_rate, per_sub_rate, push_rate / per_sub_rate, setup);
    fprintf(tsv, "%s\t%d\t%.6g\t%.6g\t%.6g\t%.6g\t%.6g\t%ld\n", suite, N, push_rate, deliv_rate, 1e6 / deliv_rate,
            per_sub_rate, push_rate / per_sub_rate, pushes);
    fflush(stdout);
    fflush(tsv);
    ot_notary_free(n);
  }
  free(content);
}

int main(void) {
  /* 1000 subscribers take ~2 descriptors each plus libzmq's: raise the soft limit if allowed. */
  struct rlimit rl;
  int big = 0;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < 8192 && rl.rlim_max >= 8192) rl.rlim_cur = 8192;
    setrlimit(RLIMIT_NOFILE, &rl);
    big = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= 8192;
  }
  FILE *tsv = tsv_open("push.tsv", "suite\tsubscribers\tpushes_per_s\tdeliveries_per_s\tus_per_delivery\t"
                                   "one_sig_per_subscriber_pushes_per_s\tgain\tpushes");
  printf("%-8s %5s %10s %12s %10s %14s %10s\n", "suite", "subs", "pushes/s", "deliveries/s", "us/deliv",
         "1-sig-per-sub/s", "gain");
  int quick = bench_quick();
  int ns_full[4] = {1, 10, 100, 1000}, ns_quick[2] = {1, 10};
  const int *ns = quick ? ns_quick : ns_full;
  int nn = quick ? 2 : (big ? 4 : 3);
  OT_TRY(ot_key_generate(2048, &n_auth));
  OT_TRY(ot_key_generate(2048, &n_enc));
  OT_TRY(ot_key_generate(2048, &c_auth));
  OT_TRY(ot_key_generate(2048, &c_enc));
  rows(tsv, "rsa2048", ns, nn);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  OT_TRY(ot_key_generate_ed25519(&n_auth));
  OT_TRY(ot_key_generate_x25519(&n_enc));
  OT_TRY(ot_key_generate_ed25519(&c_auth));
  OT_TRY(ot_key_generate_x25519(&c_enc));
  rows(tsv, "v3", ns, nn);
  fclose(tsv);
  return 0;
}
