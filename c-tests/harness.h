/* Minimal test harness shared by the C tests. */
#ifndef OT_TEST_HARNESS_H
#define OT_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ot_transport.h"

extern int ot_test_failures;
extern int ot_test_checks;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    ot_test_checks++;                                                                \
    if (!(cond)) {                                                                   \
      ot_test_failures++;                                                            \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__,       \
              __LINE__, #cond, ot_last_error());                                     \
    }                                                                                \
  } while (0)

/* Checks that an expression returns the expected ot_result. */
#define CHECK_RC(expr, want)                                                         \
  do {                                                                               \
    ot_result rc_ = (expr);                                                          \
    ot_test_checks++;                                                                \
    if (rc_ != (want)) {                                                             \
      ot_test_failures++;                                                            \
      fprintf(stderr, "%s:%d: %s returned %d (%s), wanted %d; detail: %s\n",         \
              __FILE__, __LINE__, #expr, (int)rc_, ot_result_str(rc_), (int)(want),  \
              ot_last_error());                                                      \
    }                                                                                \
  } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, OT_OK)

/* Prints the summary line and returns the process exit code. */
int ot_test_finish(const char *name);

/* Reads a file below OT_TEST_DATA into a NUL-terminated heap buffer; exits on failure. */
char *ot_test_read(const char *rel, size_t *len);

/* Copies the text between "<tag ...>\n" and "</tag>" (first element whose opening tag contains
 * attr, when attr is not NULL) into a new heap string; NULL if absent. */
char *ot_test_element(const char *doc, const char *tag, const char *attr);

/* Buffer content as a NUL-terminated string (ot_buffer always has the NUL). */
#define BUF_STR(b) ((const char *)ot_buffer_data(b))

/* ---- time ---------------------------------------------------------------------------------- */

/* Monotonic clock in milliseconds. */
double ot_test_now_ms(void);

/* Sleeps `ms` milliseconds. */
void ot_test_sleep_ms(int ms);

/* Reads one line (without its newline) from a pipe or socket into buf[cap], byte by byte so
 * nothing after it is consumed; returns its length, or -1 at end of input before a newline. */
int ot_test_read_line(int fd, char *buf, size_t cap);

/* ---- transport ----------------------------------------------------------------------------- */

/* The notary's bound endpoint (wildcard port resolved) into ep[cap]; "" (and a failed check)
 * when it cannot be read. Ports always come from the bound socket, never from a probe. */
void ot_test_notary_endpoint(const ot_notary *notary, char *ep, size_t cap);

/* A session to `ep` (options may be NULL) with the client's keys and the notary's NymID,
 * encryption and auth keys set; every step checked. */
ot_session *ot_test_session(const char *ep, const ot_session_options *options, const ot_key *auth,
                            const ot_key *enc, const char *notary_id, const ot_key *notary_enc,
                            const ot_key *notary_auth);

/* Answers `request` with "@" followed by `content` (the verified request content), sealed to
 * `to` (NULL: the legacy unencrypted reply). */
ot_result ot_test_reply_at(ot_notary *notary, const ot_request *request, const ot_buffer *content,
                           const ot_key *to);

/* A legacy client in a child process that sends one request ("<walk/>") each time it is asked,
 * so a notary in this process receives requests on demand. Fork it before this process starts
 * threads of its own (a broker, say): a fork while another thread holds an allocator lock could
 * hang the child. `strict`: the child fails (exit status 1) when a request does not succeed. */
typedef struct {
  int cmd;  /* pipe to the child: one byte per request, 'q' to stop */
  long pid; /* the child's process ID */
} ot_test_client;

void ot_test_client_start(ot_test_client *client, const char *notary_ep, const char *notary_id,
                          const ot_key *notary_key, const ot_key *auth, const ot_key *enc, int strict);
void ot_test_client_ask(ot_test_client *client, int requests);
/* Stops the child and returns its exit status (0: every request went as asked). */
int ot_test_client_stop(ot_test_client *client);

#endif
