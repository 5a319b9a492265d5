/* Transport interop with the independent Python peer (interop/legacy_peer.py: pyzmq +
 * cryptography, written from the legacy wire-format spec, not from this library):
 *   A. it plays a legacy notary for our C client (sealed ENVELOPE replies, then the legacy
 *      unencrypted MESSAGE fallback);
 *   B. it plays a legacy client for our C notary. */
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static ot_key *c_auth, *c_enc, *n_auth, *n_enc;
static char n_id[64], dir[256];

static void write_key(const ot_key *k, ot_key_format f, const char *name) {
  ot_buffer *b = NULL;
  CHECK_OK(ot_key_export(k, f, NULL, 0, &b));
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "wb");
  fwrite(ot_buffer_data(b), 1, ot_buffer_len(b), fp);
  fclose(fp);
  ot_buffer_free(b);
}

static const char *path_of(const char *name) {
  static char paths[16][512];
  static int next = 0;
  char *p = paths[next++ % 16];
  snprintf(p, 512, "%s/%s", dir, name);
  return p;
}

/* Starts python3 SCRIPT with argv; stdout goes to a pipe (read end in *out_fd). */
static pid_t spawn_script(const char *script, char *const args[], int *out_fd) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    char *argv[40];
    int n = 0;
    argv[n++] = "python3";
    argv[n++] = (char *)script;
    for (int i = 0; args[i] && n < 39; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execvp("python3", argv);
    _exit(127);
  }
  close(fds[1]);
  *out_fd = fds[0];
  return pid;
}

/* Starts the independent legacy peer (interop/legacy_peer.py). */
static pid_t spawn_peer(char *const args[], int *out_fd) {
  return spawn_script(OT_SOURCE_DIR "/interop/legacy_peer.py", args, out_fd);
}

static int finish_peer(pid_t pid, int fd, char *out, size_t cap) {
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read(fd, out + n, cap - 1 - n)) > 0) n += (size_t)r;
  out[n] = 0;
  close(fd);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The endpoint a peer notary bound (its `--bind tcp://127.0.0.1:*` resolved): the first line it
 * prints, "bound ENDPOINT". */
static void read_bound(int fd, char *ep, size_t cap) {
  char line[256] = "";
  CHECK(ot_test_read_line(fd, line, sizeof line) > 0 && strncmp(line, "bound ", 6) == 0);
  snprintf(ep, cap, "%s", strncmp(line, "bound ", 6) == 0 ? line + 6 : "");
}

static void python_notary_c_client(int plain) {
  char ep[128];
  char *args[] = {"notary", "--bind", "tcp://127.0.0.1:*", "--auth-key", (char *)path_of("n_auth.pem"), "--enc-key",
                  (char *)path_of("n_enc.pem"), "--nym-id", n_id, "--client-auth-pub", (char *)path_of("c_auth.pub"),
                  "--client-enc-pub", (char *)path_of("c_enc.pub"), "--count", "2", "--timeout-ms", "20000",
                  plain ? "--plain-reply" : NULL, NULL};
  int fd = -1;
  pid_t pid = spawn_peer(args, &fd);
  CHECK(pid > 0);
  read_bound(fd, ep, sizeof ep);
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 500)); /* python start-up */
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 5)); /* 15.5 s per attempt */
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(ep, o, &s));
  CHECK_OK(ot_session_set_identity(s, c_auth, c_enc));
  CHECK_OK(ot_session_set_notary(s, n_id, n_enc, n_auth));
  const char *msgs[2] = {"<OTmessage>\n<checkServerID requestNum=\"1\"/>\n</OTmessage>\n", "second \xc3\xa9\n"};
  for (int i = 0; i < 2; i++) {
    ot_buffer *reply = NULL;
    CHECK_OK(ot_session_request(s, (const uint8_t *)msgs[i], strlen(msgs[i]), &reply));
    CHECK(reply && BUF_STR(reply)[0] == '@' && strcmp(BUF_STR(reply) + 1, msgs[i]) == 0);
    ot_buffer_free(reply);
  }
  char out[256];
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  ot_session_free(s);
  ot_session_options_free(o);
  printf("python legacy notary (%s replies) <-> C client: ok\n", plain ? "plain MESSAGE" : "sealed ENVELOPE");
}

/* protocol = auto against the Python legacy REP notary: the v2 probe is dropped by its REP
 * socket, the session falls back to legacy REQ and the request works. */
static void python_notary_auto_client(void) {
  char ep[128];
  char *args[] = {"notary", "--bind", "tcp://127.0.0.1:*", "--auth-key", (char *)path_of("n_auth.pem"), "--enc-key",
                  (char *)path_of("n_enc.pem"), "--nym-id", n_id, "--client-auth-pub", (char *)path_of("c_auth.pub"),
                  "--client-enc-pub", (char *)path_of("c_enc.pub"), "--count", "1", "--timeout-ms", "20000", NULL};
  int fd = -1;
  pid_t pid = spawn_peer(args, &fd);
  CHECK(pid > 0);
  read_bound(fd, ep, sizeof ep);
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "protocol", 2));
  CHECK_OK(ot_session_options_set(o, "probe_timeout_ms", 1500));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 500));
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 5));
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(ep, o, &s));
  CHECK_OK(ot_session_set_identity(s, c_auth, c_enc));
  CHECK_OK(ot_session_set_notary(s, n_id, n_enc, n_auth));
  const char *msg = "<OTmessage>\n<auto/>\n</OTmessage>\n";
  ot_buffer *reply = NULL;
  CHECK_OK(ot_session_request(s, (const uint8_t *)msg, strlen(msg), &reply));
  CHECK(reply && BUF_STR(reply)[0] == '@' && strcmp(BUF_STR(reply) + 1, msg) == 0);
  ot_buffer_free(reply);
  ot_protocol p = 9;
  CHECK_OK(ot_session_protocol(s, &p));
  CHECK(p == OT_PROTOCOL_LEGACY);
  char out[256];
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  ot_session_free(s);
  ot_session_options_free(o);
  printf("python legacy notary <-> C client with protocol auto: fell back to legacy, ok\n");
}

typedef struct {
  ot_notary *notary;
  int served;
} job;

static void *serve(void *arg) {
  job *j = arg;
  for (int i = 0; i < 2; i++) {
    ot_request *req = NULL;
    if (ot_notary_receive(j->notary, 20000, &req) != OT_OK) continue;
    ot_buffer *c = NULL;
    if (ot_request_verify(req, c_auth, &c) == OT_OK) {
      if (ot_test_reply_at(j->notary, req, c, c_enc) == OT_OK) j->served++;
      ot_buffer_free(c);
    }
    ot_request_free(req);
  }
  return NULL;
}

static void c_notary_python_client(void) {
  job j = {NULL, 0};
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &j.notary));
  char ep[128];
  ot_test_notary_endpoint(j.notary, ep, sizeof ep);
  pthread_t t;
  pthread_create(&t, NULL, serve, &j);
  char *args[] = {"client", "--connect", ep, "--auth-key", (char *)path_of("c_auth.pem"), "--enc-key",
                  (char *)path_of("c_enc.pem"), "--notary-nym-id", n_id, "--notary-enc-pub", (char *)path_of("n_enc.pub"),
                  "--notary-auth-pub", (char *)path_of("n_auth.pub"), "--message", "hello from a legacy client",
                  "--repeat", "2", "--timeout-ms", "20000", NULL};
  int fd = -1;
  pid_t pid = spawn_peer(args, &fd);
  char out[512];
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  CHECK(strcmp(out, "@hello from a legacy client\n@hello from a legacy client\n") == 0);
  pthread_join(t, NULL);
  CHECK(j.served == 2);
  ot_notary_free(j.notary);
  printf("C notary <-> python legacy client: ok\n");
}

/* Our ROUTER notary against the Python peer's v2 client (written from docs/wire-format.md):
 * 8 requests pipelined on one DEALER, held and answered in reverse order. */
static void *serve_reversed(void *arg) {
  job *j = arg;
  ot_request *held[8];
  int got = 0;
  while (got < 8 && ot_notary_receive(j->notary, 20000, &held[got]) == OT_OK) got++;
  for (int i = got - 1; i >= 0; i--) {
    ot_buffer *c = NULL;
    if (ot_request_verify(held[i], c_auth, &c) == OT_OK) {
      if (ot_notary_reply(j->notary, held[i], ot_buffer_data(c), ot_buffer_len(c), c_enc) == OT_OK) j->served++;
      ot_buffer_free(c);
    }
  }
  for (int i = 0; i < got; i++) ot_request_free(held[i]);
  return NULL;
}

static void c_notary_python_v2_client(void) {
  job j = {NULL, 0};
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &j.notary));
  char ep[128];
  ot_test_notary_endpoint(j.notary, ep, sizeof ep);
  pthread_t t;
  pthread_create(&t, NULL, serve_reversed, &j);
  char *args[] = {"client-v2", "--connect", ep, "--auth-key", (char *)path_of("c_auth.pem"), "--enc-key",
                  (char *)path_of("c_enc.pem"), "--notary-nym-id", n_id, "--notary-enc-pub", (char *)path_of("n_enc.pub"),
                  "--notary-auth-pub", (char *)path_of("n_auth.pub"), "--message", "v2", "--repeat", "8",
                  "--timeout-ms", "20000", NULL};
  int fd = -1;
  pid_t pid = spawn_peer(args, &fd);
  char out[1024];
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  /* replies arrive in reverse order: request #8 (id 1007) first */
  CHECK(strncmp(out, "1007 v2 #8\n", 11) == 0);
  CHECK(strstr(out, "1000 v2 #1\n") != NULL);
  pthread_join(t, NULL);
  CHECK(j.served == 8);
  ot_notary_free(j.notary);
  printf("C notary <-> python v2 client (8 pipelined, answered in reverse): ok\n");
}

/* ZMTP/1.0 (libzmq 2.x, what legacy OT was built on), raw TCP peers from RFC 13
 * (interop/zmtp10.py): their REQ client against our ROUTER notary, our REQ session against
 * their REP notary. */
static void zmtp10_peers(void) {
  job j = {NULL, 0};
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", n_auth, n_enc, n_id, NULL, &j.notary));
  char ep[128];
  ot_test_notary_endpoint(j.notary, ep, sizeof ep);
  pthread_t t;
  pthread_create(&t, NULL, serve, &j);
  char *cargs[] = {"client", "--connect", ep, "--auth-key", (char *)path_of("c_auth.pem"), "--enc-key",
                   (char *)path_of("c_enc.pem"), "--notary-nym-id", n_id, "--notary-enc-pub", (char *)path_of("n_enc.pub"),
                   "--notary-auth-pub", (char *)path_of("n_auth.pub"), "--message", "zmtp10", "--repeat", "2", NULL};
  int fd = -1;
  pid_t pid = spawn_script(OT_SOURCE_DIR "/interop/zmtp10.py", cargs, &fd);
  char out[512];
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  CHECK(strcmp(out, "@zmtp10\n@zmtp10\n") == 0);
  pthread_join(t, NULL);
  CHECK(j.served == 2);
  ot_notary_free(j.notary);
  printf("ZMTP/1.0 raw REQ client -> our ROUTER notary: ok\n");

  char *nargs[] = {"notary", "--bind", "tcp://127.0.0.1:*", "--auth-key", (char *)path_of("n_auth.pem"), "--enc-key",
                   (char *)path_of("n_enc.pem"), "--nym-id", n_id, "--client-auth-pub", (char *)path_of("c_auth.pub"),
                   "--client-enc-pub", (char *)path_of("c_enc.pub"), "--count", "2", NULL};
  pid = spawn_script(OT_SOURCE_DIR "/interop/zmtp10.py", nargs, &fd);
  read_bound(fd, ep, sizeof ep);
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "latency_receive_ms", 500));
  CHECK_OK(ot_session_options_set(o, "latency_receive_no_tries", 5));
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(ep, o, &s));
  CHECK_OK(ot_session_set_identity(s, c_auth, c_enc));
  CHECK_OK(ot_session_set_notary(s, n_id, n_enc, n_auth));
  for (int i = 0; i < 2; i++) {
    ot_buffer *reply = NULL;
    CHECK_OK(ot_session_request(s, (const uint8_t *)"to 2.x\n", 7, &reply));
    CHECK(reply && strcmp(BUF_STR(reply), "@to 2.x\n") == 0);
    ot_buffer_free(reply);
  }
  CHECK(finish_peer(pid, fd, out, sizeof out) == 0);
  ot_session_free(s);
  ot_session_options_free(o);
  printf("our REQ session -> ZMTP/1.0 raw REP notary: ok\n");
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  snprintf(dir, sizeof dir, "/tmp/ot-interop-XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  CHECK_OK(ot_key_generate(1024, &c_auth));
  CHECK_OK(ot_key_generate(1024, &c_enc));
  CHECK_OK(ot_key_generate(2048, &n_auth));
  CHECK_OK(ot_key_generate(2048, &n_enc));
  ot_buffer *id = NULL;
  CHECK_OK(ot_key_nym_id(n_auth, &id));
  snprintf(n_id, sizeof n_id, "%s", BUF_STR(id));
  ot_buffer_free(id);
  write_key(c_auth, OT_KEY_FORMAT_PKCS8_PLAIN, "c_auth.pem");
  write_key(c_enc, OT_KEY_FORMAT_PKCS8_PLAIN, "c_enc.pem");
  write_key(n_auth, OT_KEY_FORMAT_PKCS8_PLAIN, "n_auth.pem");
  write_key(n_enc, OT_KEY_FORMAT_PKCS8_PLAIN, "n_enc.pem");
  write_key(c_auth, OT_KEY_FORMAT_SPKI_PEM, "c_auth.pub");
  write_key(c_enc, OT_KEY_FORMAT_SPKI_PEM, "c_enc.pub");
  write_key(n_auth, OT_KEY_FORMAT_SPKI_PEM, "n_auth.pub");
  write_key(n_enc, OT_KEY_FORMAT_SPKI_PEM, "n_enc.pub");

  python_notary_c_client(0);
  python_notary_c_client(1);
  python_notary_auto_client();
  c_notary_python_client();
  c_notary_python_v2_client();
  zmtp10_peers();

  const char *names[] = {"c_auth.pem", "c_enc.pem", "n_auth.pem", "n_enc.pem", "c_auth.pub", "c_enc.pub", "n_auth.pub", "n_enc.pub"};
  for (int i = 0; i < 8; i++) unlink(path_of(names[i]));
  rmdir(dir);
  ot_key_free(c_auth);
  ot_key_free(c_enc);
  ot_key_free(n_auth);
  ot_key_free(n_enc);
  return ot_test_finish("test_interop_python");
}
