/* Fixture of the generated handle-walk test (c-tests/gen_handle_walk.py): one live object of
 * every handle type, and the checks the generated calls report to. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static ot_buffer *live_ot_buffer;
static ot_key *live_ot_key;
static ot_envelope *live_ot_envelope;
static ot_session_options *live_ot_session_options;
static ot_session *live_ot_session;
static ot_notary *live_ot_notary;
static ot_request *live_ot_request;
static ot_broker *live_ot_broker;
static ot_nym *live_ot_nym;
static ot_contract *live_ot_contract;
static ot_stream_sealer *live_ot_stream_sealer;
static ot_stream_opener *live_ot_stream_opener;
static long calls;

static void walk_result(const char *what, const char *fn, const char *param, ot_result rc, void **outs) {
  int i, written = 0;
  ot_test_checks++;
  for (i = 0; i < 16; i++) written |= outs[i] != NULL;
  if (rc != OT_ERR_INVALID_ARGUMENT || written) {
    ot_test_failures++;
    fprintf(stderr, "%s handle as `%s` of %s: returned %d (%s)%s; detail: %s\n", what, param, fn,
            (int)rc, ot_result_str(rc), written ? ", and wrote an output" : "", ot_last_error());
  }
}

static void walk_value(const char *what, const char *fn, const char *param, int ok) {
  ot_test_checks++;
  if (!ok) {
    ot_test_failures++;
    fprintf(stderr, "%s handle as `%s` of %s: did not return its no-object value\n", what, param, fn);
  }
}
