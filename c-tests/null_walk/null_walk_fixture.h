/* Fixture of the generated NULL-argument walk (c-tests/gen_null_walk.py): a live object of every
 * handle type and valid byte strings for every argument, and the checks the generated calls
 * report to. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* Bytes for a (pointer, length) argument. */
typedef struct {
  const uint8_t *p;
  size_t n;
} blob;

static blob small, armored, contract, env_bytes, env_armor, raw16, key_pem, dyeb_list, ini, signed_text, pass;

static ot_buffer *live_ot_buffer;
static ot_key *live_ot_key; /* RSA, private: signs, opens, and is the notary's key */
static ot_envelope *live_ot_envelope; /* sealed to live_ot_key under key_id */
static ot_session_options *live_ot_session_options;
static ot_session *live_ot_session; /* legacy, to NOWHERE, with a schedule of a few ms */
static ot_notary *live_ot_notary;
static ot_request *live_ot_request; /* unanswered, from the client process */
static ot_broker *live_ot_broker;
static ot_nym *live_ot_nym; /* the 2013 notary's Nym with its private keys */
static ot_contract *live_ot_contract; /* the 2013 notary's contract */
static ot_key *client_auth, *client_enc;
static ot_key *xkey;                               /* X25519, private: streams */
static ot_stream_sealer *live_ot_stream_sealer;    /* to xkey under "x" */
static ot_stream_opener *live_ot_stream_opener;    /* with xkey, no header read */
static ot_buffer *curve_pub, *curve_sec;
static char walk_dir[64], walk_key_file[128], walk_workers_file[128]; /* broker key files */
static char key_id[128];         /* live_ot_key's NymID: the notary's */
static char broker_backend[128]; /* the live broker's bound backend endpoint */
static ot_recipient rcp[8];      /* rcp[0]: key_id sealed to live_ot_key */
static ot_slice creds[8];        /* the public credentials of DYEB */
static size_t n_creds;

/* A port nothing listens on (a connect to it fails fast; 1 is privileged, so never bound here). */
#define NOWHERE "tcp://127.0.0.1:1"
#define Y13 OT_TEST_DATA "/fixtures/legacy-0.89-2013"
#define PUBCRED Y13 "/server_data/pubcred"
#define DYEB "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"

/* Output handles start as this: one still equal to it afterwards was not written. */
static char sentinel_obj;
#define SENTINEL ((void *)&sentinel_obj)

static void fresh_request(void);

static long calls, empty_accepted, empty_refused;
static char canary_text[512];

/* Sets the thread's last error to a known text, so a refusal must write its own. */
static void canary(void) {
  ot_buffer *b = NULL;
  if (ot_id_decode("~canary~", &b) != OT_ERR_MALFORMED) {
    ot_test_failures++;
    fprintf(stderr, "the canary call did not fail\n");
  }
  ot_buffer_free(b);
  snprintf(canary_text, sizeof canary_text, "%s", ot_last_error());
}

/* Every byte still 0xA5: the output was not written. */
static int untouched(const uint64_t *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i] != 0xA5) return 0;
  return 1;
}

static void fail(const char *fn, const char *what, const char *why) {
  ot_test_failures++;
  fprintf(stderr, "%s with `%s` NULL: %s\n", fn, what, why);
}

/* The detail names the parameter `name`; a struct field `p[0].f` may be named with any index
 * (`p[i].f`). */
static int names(const char *detail, const char *name) {
  const char *open = strstr(name, "[0].");
  char head[256];
  if (!open) return strstr(detail, name) != NULL;
  snprintf(head, sizeof head, "%.*s[", (int)(open - name), name);
  return strstr(detail, head) != NULL && strstr(detail, open + 2) != NULL;
}

/* A required pointer: OT_ERR_NULL_ARGUMENT, a new detail naming it (as `needle`), nothing
 * written. */
static void refused(const char *fn, const char *what, const char *needle, ot_result rc, int kept) {
  char why[1024];
  calls++;
  ot_test_checks++;
  if (rc == OT_OK) {
    snprintf(why, sizeof why,
             "accepted. If `%s` may be NULL by contract, document it in the header and list it in "
             "c-tests/abi_model.py OPTIONAL",
             what);
    fail(fn, what, why);
  } else if (rc != OT_ERR_NULL_ARGUMENT) {
    snprintf(why, sizeof why, "returned %d (%s), wanted OT_ERR_NULL_ARGUMENT; detail: %s", (int)rc,
             ot_result_str(rc), ot_last_error());
    fail(fn, what, why);
  } else if (!strcmp(ot_last_error(), canary_text) || !names(ot_last_error(), needle)) {
    snprintf(why, sizeof why, "the detail \"%s\" does not name it", ot_last_error());
    fail(fn, what, why);
  } else if (!kept) {
    fail(fn, what, "refused, but wrote an output");
  }
}

/* NULL with length 0: may be accepted; refused only with a documented code, a detail, and
 * nothing written. */
static void maybe(const char *fn, const char *what, const char *needle, ot_result rc, int kept) {
  char why[1024];
  (void)needle;
  calls++;
  ot_test_checks++;
  if (rc == OT_OK) {
    empty_accepted++;
    return;
  }
  empty_refused++;
  if (getenv("OT_WALK_VERBOSE"))
    printf("  %s: `%s` NULL, length 0: %s (%s)\n", fn, what, ot_result_str(rc), ot_last_error());
  if (rc == OT_ERR_INTERNAL || rc > OT_RESULT_MAX) {
    snprintf(why, sizeof why, "length 0: returned %d (%s); detail: %s", (int)rc, ot_result_str(rc), ot_last_error());
    fail(fn, what, why);
  } else if (!strcmp(ot_last_error(), canary_text) || !ot_last_error()[0]) {
    fail(fn, what, "length 0: refused without a detail of its own");
  } else if (!kept) {
    fail(fn, what, "length 0: refused, but wrote an output");
  }
}

/* Optional by contract: NULL has its documented meaning, and the call succeeds. */
static void accepted(const char *fn, const char *what, const char *needle, ot_result rc, int kept) {
  char why[1024];
  (void)needle;
  (void)kept;
  calls++;
  ot_test_checks++;
  if (rc != OT_OK) {
    snprintf(why, sizeof why,
             "returned %d (%s), but c-tests/abi_model.py lists it as optional; detail: %s",
             (int)rc, ot_result_str(rc), ot_last_error());
    fail(fn, what, why);
  }
}

static void no_object(const char *fn, const char *what, int ok) {
  calls++;
  ot_test_checks++;
  if (!ok) fail(fn, what, "did not return its no-object value");
}

static void done(const char *fn, const char *what) {
  (void)fn;
  (void)what;
  calls++;
  ot_test_checks++; /* reaching the next line is the check: no crash */
}

static void wrote_outputs(const char *fn, const char *what, int written) {
  calls++;
  ot_test_checks++;
  if (!written) fail(fn, what, "the other outputs were not written");
}

/* After each call: a request that was answered is replaced by a fresh one. */
static void after(const char *fn, ot_result rc) {
  if (rc == OT_OK && !strcmp(fn, "ot_notary_reply")) fresh_request();
}
