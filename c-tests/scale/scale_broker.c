/* Scale-out with real processes (issue 10): 1 broker + 4 worker processes + 64 client threads
 * x 200 requests (OT_BROKER_REQUESTS to change), mixed legacy and v2 clients; one worker is
 * SIGKILLed in the middle; a push reaches a client through the broker; the broker and the
 * ot-broker program stop within 100 ms with clients and workers connected.
 * Not run under valgrind (too slow for 12 800 RSA requests); run plain and under ASan. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define WORKERS 4
#define CLIENTS 64

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char n_id[128], front[128], back[128];
/* CURVE keys: the broker's backend, and one per worker (WORKERS listed, one more never listed) */
static ot_buffer *backend_pub, *backend_sec, *worker_pub[WORKERS + 1], *worker_sec[WORKERS + 1];

/* Options for worker `n`: a CURVE client of the backend with its own key pair. */
static ot_session_options *worker_options(int n, const char *backend_public) {
  ot_session_options *o = NULL;
  if (ot_session_options_new(&o) != OT_OK) return NULL;
  if (ot_session_options_set_curve_client(o, backend_public, BUF_STR(worker_pub[n]), BUF_STR(worker_sec[n])) !=
      OT_OK) {
    ot_session_options_free(o);
    return NULL;
  }
  return o;
}
static int per_client = 200;
static atomic_long answered, misrouted, failed;

static volatile sig_atomic_t worker_stop;
static void on_term(int sig) {
  (void)sig;
  worker_stop = 1;
}

/* A worker process: answers "<n>@" + content; a subscription gets 3 pushes. It reads the
 * broker's backend endpoint from `fd` (the broker binds after the workers are forked). */
static void worker_main(int n, int fd) {
  signal(SIGTERM, on_term);
  ot_notary *w = NULL;
  if (ot_test_read_line(fd, back, sizeof back) <= 0) _exit(4);
  close(fd);
  ot_session_options *o = worker_options(n, BUF_STR(backend_pub));
  if (!o || ot_notary_connect(back, n_auth, n_enc, n_id, o, &w) != OT_OK) _exit(3);
  ot_session_options_free(o);
  while (!worker_stop) {
    ot_request *req = NULL;
    ot_buffer *c = NULL;
    if (ot_notary_receive(w, 100, &req) != OT_OK) continue;
    if (ot_request_verify(req, c_auth, &c) == OT_OK) {
      if (strncmp(BUF_STR(c), "<subscribe", 10) == 0) {
        size_t d = 0;
        ot_notary_register_push(w, req, "nym-scale", c_enc);
        ot_notary_reply(w, req, (const uint8_t *)"subscribed", 10, c_enc);
        for (int i = 1; i <= 3; i++) {
          char note[32];
          snprintf(note, sizeof note, "note %d\n", i);
          ot_notary_push(w, "nym-scale", (const uint8_t *)note, strlen(note), &d);
        }
      } else {
        size_t len = ot_buffer_len(c);
        char *r = malloc(len + 8);
        int k = snprintf(r, 8, "%d@", n);
        memcpy(r + k, ot_buffer_data(c), len);
        ot_notary_reply(w, req, (const uint8_t *)r, (size_t)k + len, c_enc);
        free(r);
      }
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  ot_notary_free(w);
  _exit(0);
}

static ot_session *client_session(int protocol) {
  ot_session_options *o = NULL;
  ot_session *s = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "protocol", protocol));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 4000));
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 1));
  CHECK_OK(ot_session_options_set(o, "max_resends", 6));
  CHECK_OK(ot_session_new(front, o, &s));
  CHECK_OK(ot_session_set_identity(s, c_auth, c_enc));
  CHECK_OK(ot_session_set_notary(s, n_id, n_enc, n_auth));
  ot_session_options_free(o);
  return s;
}

static void *client_main(void *arg) {
  int c = (int)(intptr_t)arg;
  ot_session *s = client_session(c % 2); /* even: legacy REQ, odd: v2 */
  for (int i = 0; i < per_client; i++) {
    char m[64];
    ot_buffer *r = NULL;
    snprintf(m, sizeof m, "client %d request %d\n", c, i);
    if (ot_session_request(s, (const uint8_t *)m, strlen(m), &r) != OT_OK) {
      atomic_fetch_add(&failed, 1);
      fprintf(stderr, "client %d request %d: %s\n", c, i, ot_last_error());
      continue;
    }
    const char *at = strchr(BUF_STR(r), '@');
    if (!at || strcmp(at + 1, m) != 0) atomic_fetch_add(&misrouted, 1);
    atomic_fetch_add(&answered, 1);
    ot_buffer_free(r);
  }
  ot_session_free(s);
  return NULL;
}

static void cli_exits_promptly(void) {
  /* The ot-broker program with a client and a worker connected: SIGTERM to exit < 100 ms. It
   * binds free ports and prints them: "ot-broker VERSION: clients -> F, workers -> B". */
  char line[512] = "", f[128] = "", b[128] = "", k[64] = "";
  char dir[] = "/tmp/ot-broker-test-XXXXXX", keyfile[128], listfile[128], cmd[512];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(keyfile, sizeof keyfile, "%s/backend.key", dir);
  snprintf(listfile, sizeof listfile, "%s/workers", dir);
  /* ot-broker --new-key writes the key file (mode 600) and prints its public key */
  snprintf(cmd, sizeof cmd, "%s --new-key %s", OT_BROKER_BIN, keyfile);
  FILE *pk = popen(cmd, "r");
  CHECK(pk && fgets(k, sizeof k, pk) != NULL);
  if (pk) CHECK(pclose(pk) == 0);
  k[strcspn(k, "\n")] = 0;
  struct stat ks;
  CHECK(stat(keyfile, &ks) == 0 && (ks.st_mode & 0777) == 0600);
  FILE *lf = fopen(listfile, "w");
  CHECK(lf != NULL);
  if (lf) {
    fprintf(lf, "# the workers\n%s  worker-1\n", BUF_STR(worker_pub[1]));
    fclose(lf);
  }
  int out[2];
  CHECK(pipe(out) == 0);
  fflush(NULL);
  pid_t p = fork();
  if (p == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    execl(OT_BROKER_BIN, "ot-broker", "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "--key", keyfile, "--workers",
          listfile, "--curve-frontend", "tcp://127.0.0.1:*", "--frontend-key", keyfile, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  CHECK(ot_test_read_line(out[0], line, sizeof line) > 0);
  const char *cl = strstr(line, "clients -> "), *wk = strstr(line, ", workers -> "),
             *bk = strstr(line, " (backend key ");
  CHECK(cl && wk && bk);
  if (cl && wk && bk) {
    snprintf(f, sizeof f, "%.*s", (int)(wk - cl - 11), cl + 11);
    snprintf(b, sizeof b, "%.*s", (int)(bk - wk - 13), wk + 13);
    CHECK(strncmp(bk + 14, k, 40) == 0); /* the key --new-key printed */
  }
  printf("  ot-broker bound %s and %s, backend key %s\n", f, b, k);
  { /* and its CURVE frontend, under the key from --frontend-key (here the same file) */
    char second[512] = "";
    CHECK(ot_test_read_line(out[0], second, sizeof second) > 0);
    CHECK(strstr(second, "CURVE clients -> tcp://127.0.0.1:") != NULL);
    char want[80];
    snprintf(want, sizeof want, "(frontend key %s)", k);
    CHECK(strstr(second, want) != NULL);
    printf("  %s\n", second);
  }
  ot_notary *w = NULL;
  ot_session *s = NULL;
  ot_session_options *wo = worker_options(1, k);
  CHECK(wo != NULL);
  CHECK_OK(ot_notary_connect(b, n_auth, n_enc, n_id, wo, &w));
  ot_session_options_free(wo);
  CHECK_OK(ot_session_new(f, NULL, &s));
  ot_test_sleep_ms(200);
  double t0 = ot_test_now_ms();
  kill(p, SIGTERM);
  int status = 0;
  while (waitpid(p, &status, WNOHANG) == 0 && ot_test_now_ms() - t0 < 5000) ot_test_sleep_ms(1);
  double dt = ot_test_now_ms() - t0;
  printf("  ot-broker exited %.1f ms after SIGTERM (status %d)\n", dt, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(dt < 100);
  ot_session_free(s);
  ot_notary_free(w);
  close(out[0]);
  unlink(keyfile);
  unlink(listfile);
  rmdir(dir);
}

int main(void) {
  alarm(900);
  const char *env = getenv("OT_BROKER_REQUESTS");
  if (env && atoi(env) > 0) per_client = atoi(env);
  CHECK_OK(ot_key_generate(1024, &c_auth));
  CHECK_OK(ot_key_generate(1024, &c_enc));
  CHECK_OK(ot_key_generate(1024, &n_auth));
  CHECK_OK(ot_key_generate(1024, &n_enc));
  ot_buffer *b = NULL;
  CHECK_OK(ot_key_nym_id(n_auth, &b));
  snprintf(n_id, sizeof n_id, "%s", BUF_STR(b));
  ot_buffer_free(b);

  CHECK_OK(ot_curve_keypair(&backend_pub, &backend_sec));
  for (int i = 0; i <= WORKERS; i++) CHECK_OK(ot_curve_keypair(&worker_pub[i], &worker_sec[i]));

  /* Workers are forked before the broker's thread exists (a fork while another thread holds
   * an allocator lock, ASan's say, could hang a child); the broker then binds free ports and
   * each worker is told the backend's through its pipe. */
  pid_t workers[WORKERS];
  int tell[WORKERS];
  fflush(NULL);
  for (int i = 0; i < WORKERS; i++) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    workers[i] = fork();
    if (workers[i] == 0) {
      close(fds[1]);
      for (int k = 0; k < i; k++) close(tell[k]);
      worker_main(i, fds[0]);
    }
    close(fds[0]);
    tell[i] = fds[1];
  }
  /* A tcp backend admits only listed workers: ot_broker_new refuses it. The list holds workers
   * 0..WORKERS-2; the last is added while the broker runs. */
  ot_broker *broker = NULL;
  CHECK(ot_broker_new("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL, &broker) == OT_ERR_INVALID_ARGUMENT &&
        broker == NULL);
  char list[(WORKERS + 1) * 64] = "# listed workers\n";
  for (int i = 0; i < WORKERS - 1; i++) {
    strcat(list, BUF_STR(worker_pub[i]));
    strcat(list, "\n");
  }
  CHECK_OK(ot_broker_new_secure("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", NULL, BUF_STR(backend_sec), list, &broker));
  CHECK_OK(ot_broker_allow_worker(broker, BUF_STR(worker_pub[WORKERS - 1])));
  CHECK_OK(ot_broker_backend_public(broker, &b));
  CHECK(strcmp(BUF_STR(b), BUF_STR(backend_pub)) == 0);
  ot_buffer_free(b);
  CHECK_OK(ot_broker_frontend(broker, &b));
  snprintf(front, sizeof front, "%s", BUF_STR(b));
  ot_buffer_free(b);
  CHECK_OK(ot_broker_backend(broker, &b));
  snprintf(back, sizeof back, "%s\n", BUF_STR(b));
  ot_buffer_free(b);
  for (int i = 0; i < WORKERS; i++) {
    CHECK(write(tell[i], back, strlen(back)) == (ssize_t)strlen(back));
    close(tell[i]);
  }
  back[strcspn(back, "\n")] = 0;
  ot_broker_stats st;
  double t0 = ot_test_now_ms();
  do {
    ot_test_sleep_ms(20);
    CHECK_OK(ot_broker_get_stats(broker, &st));
  } while (st.workers < WORKERS && ot_test_now_ms() - t0 < 20000);
  CHECK(st.workers == WORKERS);
  { /* an unlisted key and a plain (NULL mechanism) peer: refused at the handshake, counted */
    ot_notary *rogue = NULL, *plain = NULL;
    ot_session_options *o = worker_options(WORKERS, BUF_STR(backend_pub));
    uint64_t refused = 0;
    CHECK(o != NULL);
    CHECK_OK(ot_notary_connect(back, n_auth, n_enc, n_id, o, &rogue));
    CHECK_OK(ot_notary_connect(back, n_auth, n_enc, n_id, NULL, &plain));
    ot_session_options_free(o);
    t0 = ot_test_now_ms();
    do {
      ot_test_sleep_ms(20);
      CHECK_OK(ot_broker_counter(broker, "workers_refused", &refused));
    } while (refused < 2 && ot_test_now_ms() - t0 < 10000);
    ot_test_sleep_ms(300);
    CHECK_OK(ot_broker_get_stats(broker, &st));
    printf("  an unlisted worker key and a plain peer: %llu handshakes refused, %llu workers in the pool\n",
           (unsigned long long)refused, (unsigned long long)st.workers);
    CHECK(refused >= 2 && st.workers == WORKERS);
    ot_notary_free(rogue);
    ot_notary_free(plain);
  }

  long total = (long)CLIENTS * per_client;
  pthread_t th[CLIENTS];
  t0 = ot_test_now_ms();
  for (int c = 0; c < CLIENTS; c++) pthread_create(&th[c], NULL, client_main, (void *)(intptr_t)c);
  while (atomic_load(&answered) < total / 3 && ot_test_now_ms() - t0 < 600000) ot_test_sleep_ms(10);
  kill(workers[0], SIGKILL); /* a worker dies mid-request */
  waitpid(workers[0], NULL, 0);
  long at_kill = atomic_load(&answered);
  for (int c = 0; c < CLIENTS; c++) pthread_join(th[c], NULL);
  double secs = (ot_test_now_ms() - t0) / 1e3;
  CHECK_OK(ot_broker_get_stats(broker, &st));
  printf("  %d clients x %d requests through 1 broker + %d worker processes: %ld answered, %ld misrouted, %ld failed "
         "in %.1f s (%.0f req/s); worker 0 killed after %ld; broker: %llu live workers, %llu dead noticed\n",
         CLIENTS, per_client, WORKERS, atomic_load(&answered), atomic_load(&misrouted), atomic_load(&failed), secs,
         total / secs, at_kill, (unsigned long long)st.workers, (unsigned long long)st.dead_workers);
  CHECK(atomic_load(&answered) == total);
  CHECK(atomic_load(&misrouted) == 0);
  CHECK(atomic_load(&failed) == 0);
  t0 = ot_test_now_ms();
  while (st.dead_workers < 1 && ot_test_now_ms() - t0 < 10000) {
    ot_test_sleep_ms(20);
    CHECK_OK(ot_broker_get_stats(broker, &st));
  }
  CHECK(st.dead_workers >= 1 && st.workers == WORKERS - 1);

  /* A push through the broker to a client on the frontend. */
  ot_session *sub = client_session(1);
  ot_buffer *r = NULL;
  CHECK_OK(ot_session_subscribe(sub, (const uint8_t *)"<subscribe/>\n", 13, &r));
  CHECK(r && strcmp(BUF_STR(r), "subscribed\n") == 0);
  ot_buffer_free(r);
  for (uint64_t i = 1; i <= 3; i++) {
    uint64_t seq = 0, missed = 1;
    ot_buffer *note = NULL;
    char want[32];
    CHECK_OK(ot_session_next_push(sub, 10000, &seq, &missed, &note));
    snprintf(want, sizeof want, "note %d\n", (int)i);
    CHECK(seq == i && missed == 0 && note && strcmp(BUF_STR(note), want) == 0);
    ot_buffer_free(note);
  }
  printf("  push through the broker: 3 notes in order\n");

  /* Stop the broker with the workers and a client still connected. */
  t0 = ot_test_now_ms();
  ot_broker_free(broker);
  double dt = ot_test_now_ms() - t0;
  printf("  ot_broker_free took %.1f ms with clients and workers connected\n", dt);
  CHECK(dt < 100);
  ot_session_free(sub);
  for (int i = 1; i < WORKERS; i++) kill(workers[i], SIGTERM);
  for (int i = 1; i < WORKERS; i++) {
    int status = 0;
    waitpid(workers[i], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  cli_exits_promptly();
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  ot_buffer_free(backend_pub);
  ot_buffer_free(backend_sec);
  for (int i = 0; i <= WORKERS; i++) {
    ot_buffer_free(worker_pub[i]);
    ot_buffer_free(worker_sec[i]);
  }
  return ot_test_finish("scale_broker");
}
