#include "harness.h"

#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int ot_test_failures = 0;
int ot_test_checks = 0;

int ot_test_finish(const char *name) {
  printf("%s: %d checks, %d passed, %d failed\n", name, ot_test_checks,
         ot_test_checks - ot_test_failures, ot_test_failures);
  return ot_test_failures == 0 ? 0 : 1;
}

char *ot_test_read(const char *rel, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", OT_TEST_DATA, rel);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(2);
  }
  fclose(f);
  buf[n] = 0;
  if (len) *len = (size_t)n;
  return buf;
}

char *ot_test_element(const char *doc, const char *tag, const char *attr) {
  char open[256], close[256];
  snprintf(open, sizeof open, "<%s", tag);
  snprintf(close, sizeof close, "</%s>", tag);
  const char *p = doc;
  while ((p = strstr(p, open)) != NULL) {
    const char *gt = strchr(p, '>');
    if (!gt) return NULL;
    int match = 1;
    if (attr) {
      size_t head = (size_t)(gt - p);
      char *h = malloc(head + 1);
      memcpy(h, p, head);
      h[head] = 0;
      match = strstr(h, attr) != NULL;
      free(h);
    }
    const char *body = gt + 1;
    if (*body == '\n') body++;
    const char *end = strstr(body, close);
    if (!end) return NULL;
    if (match) {
      size_t n = (size_t)(end - body);
      char *out = malloc(n + 1);
      memcpy(out, body, n);
      out[n] = 0;
      return out;
    }
    p = end;
  }
  return NULL;
}

double ot_test_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

void ot_test_sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

int ot_test_read_line(int fd, char *buf, size_t cap) {
  size_t n = 0;
  char c;
  while (read(fd, &c, 1) == 1) {
    if (c == '\n') {
      buf[n < cap ? n : cap - 1] = 0;
      return (int)n;
    }
    if (n + 1 < cap) buf[n] = c;
    n++;
  }
  buf[n < cap ? n : cap - 1] = 0;
  return -1;
}

void ot_test_notary_endpoint(const ot_notary *notary, char *ep, size_t cap) {
  ot_buffer *b = NULL;
  CHECK_OK(ot_notary_endpoint(notary, &b));
  snprintf(ep, cap, "%s", b ? BUF_STR(b) : "");
  ot_buffer_free(b);
}

ot_session *ot_test_session(const char *ep, const ot_session_options *options, const ot_key *auth,
                            const ot_key *enc, const char *notary_id, const ot_key *notary_enc,
                            const ot_key *notary_auth) {
  ot_session *s = NULL;
  CHECK_OK(ot_session_new(ep, options, &s));
  CHECK_OK(ot_session_set_identity(s, auth, enc));
  CHECK_OK(ot_session_set_notary(s, notary_id, notary_enc, notary_auth));
  return s;
}

ot_result ot_test_reply_at(ot_notary *notary, const ot_request *request, const ot_buffer *content,
                           const ot_key *to) {
  size_t n = ot_buffer_len(content);
  uint8_t *reply = malloc(n + 1);
  ot_result rc;
  reply[0] = '@';
  if (n) memcpy(reply + 1, ot_buffer_data(content), n);
  rc = ot_notary_reply(notary, request, reply, n + 1, to);
  free(reply);
  return rc;
}

void ot_test_client_start(ot_test_client *client, const char *notary_ep, const char *notary_id,
                          const ot_key *notary_key, const ot_key *auth, const ot_key *enc, int strict) {
  int fds[2];
  pid_t pid;
  CHECK(pipe(fds) == 0);
  fflush(NULL);
  pid = fork();
  if (pid == 0) {
    ot_session *s = NULL;
    ot_session_options *o = NULL;
    int bad = 0;
    char c;
    close(fds[1]);
    if (ot_session_options_new(&o) || ot_session_options_set(o, "latency_delay_after", 0) ||
        ot_session_options_set(o, "request_timeout_ms", 20000) || ot_session_new(notary_ep, o, &s) ||
        ot_session_set_identity(s, auth, enc) || ot_session_set_notary(s, notary_id, notary_key, notary_key))
      _exit(2);
    while (read(fds[0], &c, 1) == 1 && c != 'q') {
      ot_buffer *r = NULL;
      if (ot_session_request(s, (const uint8_t *)"<walk/>", 7, &r) != OT_OK && strict) bad = 1;
      ot_buffer_free(r);
    }
    ot_session_free(s);
    ot_session_options_free(o);
    _exit(bad);
  }
  close(fds[0]);
  client->cmd = fds[1];
  client->pid = (long)pid;
}

void ot_test_client_ask(ot_test_client *client, int requests) {
  for (int i = 0; i < requests; i++) CHECK(write(client->cmd, "r", 1) == 1);
}

int ot_test_client_stop(ot_test_client *client) {
  int status = 0;
  CHECK(write(client->cmd, "q", 1) == 1);
  close(client->cmd);
  waitpid((pid_t)client->pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
