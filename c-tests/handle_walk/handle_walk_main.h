/* Main part of the generated handle-walk test: see c-tests/gen_handle_walk.py. */
#define N_TYPES (sizeof handle_types / sizeof handle_types[0])
#define SLOT(h) (((uintptr_t)(h)) & 0xFFFFFFFu) /* registry slot bits (src/ffi/registry.rs) */

static ot_key *client_auth, *client_enc, *walk_x25519;
static char notary_ep[128], notary_id[128];
static uint8_t *env_bytes;
static char walk_id[64]; /* what make("ot_buffer") holds */
static size_t env_len;
/* The 2013 sample data: the notary's contract and the client Nym's public credential files. */
#define Y13 OT_TEST_DATA "/fixtures/legacy-0.89-2013"
#define DYEB "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"
static char *contract_text;
static size_t contract_len;

/* A client in a child process sends requests on demand (the parent's registry sees none of its
 * handles, so the parent creates request handles in a known order): ot_test_client (harness.c),
 * forked once, before the broker's thread exists. */
static ot_test_client client;

static ot_request *serve_one(void) {
  ot_request *req = NULL;
  CHECK_OK(ot_notary_receive(live_ot_notary, 20000, &req));
  if (req) CHECK_OK(ot_notary_reply(live_ot_notary, req, (const uint8_t *)"ok", 2, NULL));
  return req;
}

/* A new object of the named type (requests: served from a client process started earlier). */
static void *make(const char *type) {
  void *h = NULL;
  if (!strcmp(type, "ot_buffer")) CHECK_OK(ot_id_encode((const uint8_t *)"walk", 4, (ot_buffer **)&h));
  else if (!strcmp(type, "ot_key")) CHECK_OK(ot_key_public(live_ot_key, (ot_key **)&h));
  else if (!strcmp(type, "ot_envelope")) CHECK_OK(ot_envelope_parse(env_bytes, env_len, (ot_envelope **)&h));
  else if (!strcmp(type, "ot_session_options")) CHECK_OK(ot_session_options_new((ot_session_options **)&h));
  else if (!strcmp(type, "ot_session")) CHECK_OK(ot_session_new("tcp://127.0.0.1:1", NULL, (ot_session **)&h));
  else if (!strcmp(type, "ot_notary"))
    CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", live_ot_key, live_ot_key, "walk", NULL, (ot_notary **)&h));
  else if (!strcmp(type, "ot_request")) h = serve_one();
  else if (!strcmp(type, "ot_broker")) {
    static int n_brokers;
    char backend[64];
    snprintf(backend, sizeof backend, "inproc://handle-walk-broker-%d", n_brokers++);
    CHECK_OK(ot_broker_new("tcp://127.0.0.1:*", backend, NULL, (ot_broker **)&h));
  }
  else if (!strcmp(type, "ot_nym"))
    CHECK_OK(ot_nym_load_dir(Y13 "/server_data/pubcred", DYEB, NULL, 0, (ot_nym **)&h));
  else if (!strcmp(type, "ot_contract"))
    CHECK_OK(ot_contract_load((const uint8_t *)contract_text, contract_len, (ot_contract **)&h));
  else if (!strcmp(type, "ot_stream_sealer")) {
    ot_recipient r = {"walk", walk_x25519};
    CHECK_OK(ot_stream_seal_init(&r, 1, (ot_stream_sealer **)&h));
  } else if (!strcmp(type, "ot_stream_opener"))
    CHECK_OK(ot_stream_open_init(NULL, walk_x25519, (ot_stream_opener **)&h));
  else { fprintf(stderr, "no maker for %s: add one to handle_walk_main.h\n", type); ot_test_failures++; }
  return h;
}

static void release(const char *type, void *h) {
  if (!strcmp(type, "ot_buffer")) ot_buffer_free(h);
  else if (!strcmp(type, "ot_key")) ot_key_free(h);
  else if (!strcmp(type, "ot_envelope")) ot_envelope_free(h);
  else if (!strcmp(type, "ot_session_options")) ot_session_options_free(h);
  else if (!strcmp(type, "ot_session")) ot_session_free(h);
  else if (!strcmp(type, "ot_notary")) ot_notary_free(h);
  else if (!strcmp(type, "ot_request")) ot_request_free(h);
  else if (!strcmp(type, "ot_broker")) ot_broker_free(h);
  else if (!strcmp(type, "ot_nym")) ot_nym_free(h);
  else if (!strcmp(type, "ot_contract")) ot_contract_free(h);
  else if (!strcmp(type, "ot_stream_sealer")) ot_stream_sealer_free(h);
  else if (!strcmp(type, "ot_stream_opener")) ot_stream_opener_free(h);
}

/* The object still answers as the one it was made as. */
static int intact(const char *type, void *h) {
  if (!strcmp(type, "ot_buffer")) return ot_buffer_data(h) && !strcmp(BUF_STR(h), walk_id);
  if (!strcmp(type, "ot_key")) return ot_key_bits(h) == 1024 && !ot_key_is_private(h);
  if (!strcmp(type, "ot_envelope")) return ot_envelope_recipient_count(h) == 1;
  if (!strcmp(type, "ot_session_options")) {
    int64_t v = -1;
    return ot_session_options_get(h, "latency_send_ms", &v) == OT_OK && v == 200;
  }
  if (!strcmp(type, "ot_session")) return ot_session_set_identity(h, client_auth, client_enc) == OT_OK;
  if (!strcmp(type, "ot_notary")) {
    ot_buffer *b = NULL;
    int ok = ot_notary_endpoint(h, &b) == OT_OK;
    ot_buffer_free(b);
    return ok;
  }
  if (!strcmp(type, "ot_request")) {
    ot_buffer *b = NULL;
    int ok = ot_request_content(h, &b) == OT_OK && strstr(BUF_STR(b), "<walk/>") != NULL;
    ot_buffer_free(b);
    return ok;
  }
  if (!strcmp(type, "ot_broker")) {
    ot_broker_stats st;
    return ot_broker_get_stats(h, &st) == OT_OK;
  }
  if (!strcmp(type, "ot_nym")) {
    ot_buffer *b = NULL;
    int ok = ot_nym_id(h, &b) == OT_OK && !strcmp(BUF_STR(b), DYEB) && !ot_nym_is_private(h);
    ot_buffer_free(b);
    return ok;
  }
  if (!strcmp(type, "ot_contract")) {
    ot_buffer *b = NULL;
    int ok = ot_contract_endpoint(h, &b) == OT_OK && !strcmp(BUF_STR(b), "tcp://localhost:7085");
    ot_buffer_free(b);
    return ok;
  }
  /* a sealer always has its last chunk's tag to write; an opener's bound is at least its input */
  if (!strcmp(type, "ot_stream_sealer")) return ot_stream_seal_output_max(h, 0) >= 16;
  if (!strcmp(type, "ot_stream_opener")) return ot_stream_open_output_max(h, 5) >= 5;
  return 0;
}

static void *live_of(const char *type) {
  if (!strcmp(type, "ot_buffer")) return live_ot_buffer;
  if (!strcmp(type, "ot_key")) return live_ot_key;
  if (!strcmp(type, "ot_envelope")) return live_ot_envelope;
  if (!strcmp(type, "ot_session_options")) return live_ot_session_options;
  if (!strcmp(type, "ot_session")) return live_ot_session;
  if (!strcmp(type, "ot_notary")) return live_ot_notary;
  if (!strcmp(type, "ot_request")) return live_ot_request;
  if (!strcmp(type, "ot_broker")) return live_ot_broker;
  if (!strcmp(type, "ot_nym")) return live_ot_nym;
  if (!strcmp(type, "ot_contract")) return live_ot_contract;
  if (!strcmp(type, "ot_stream_sealer")) return live_ot_stream_sealer;
  if (!strcmp(type, "ot_stream_opener")) return live_ot_stream_opener;
  return NULL;
}

static int objects_for(const char *type) {
  const char *env = getenv("OT_WALK_OBJECTS");
  int n = env ? atoi(env) : 10000;
  /* Sockets are operating-system resources: a few are enough, the slots are shared by all. */
  if (!strcmp(type, "ot_session") || !strcmp(type, "ot_notary") || !strcmp(type, "ot_broker")) return 4;
  if (!strcmp(type, "ot_request")) return 3;
  /* Verifying credentials costs RSA signature checks: a few objects, slots shared as above. */
  if (!strcmp(type, "ot_nym") || !strcmp(type, "ot_contract")) return 4;
  return n;
}

int main(void) {
  size_t t;
  int i;
  ot_buffer *b = NULL;
  alarm(600);
  CHECK_OK(ot_key_generate(1024, &live_ot_key));
  CHECK_OK(ot_key_generate(1024, &client_auth));
  CHECK_OK(ot_key_generate(1024, &client_enc));
  CHECK_OK(ot_id_encode((const uint8_t *)"walk", 4, &live_ot_buffer));
  snprintf(walk_id, sizeof walk_id, "%s", BUF_STR(live_ot_buffer));
  {
    ot_recipient r;
    r.nym_id = "walk";
    r.key = live_ot_key;
    CHECK_OK(ot_envelope_seal(&r, 1, (const uint8_t *)"hello", 5, &live_ot_envelope));
    CHECK_OK(ot_envelope_to_bytes(live_ot_envelope, &b));
    env_len = ot_buffer_len(b);
    env_bytes = malloc(env_len);
    memcpy(env_bytes, ot_buffer_data(b), env_len);
    ot_buffer_free(b);
  }
  contract_text = ot_test_read("fixtures/legacy-0.89-2013/client_data/contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG",
                               &contract_len);
  live_ot_nym = make("ot_nym");
  live_ot_contract = make("ot_contract");
  CHECK_OK(ot_key_generate_x25519(&walk_x25519));
  live_ot_stream_sealer = make("ot_stream_sealer");
  live_ot_stream_opener = make("ot_stream_opener");
  CHECK_OK(ot_session_options_new(&live_ot_session_options));
  CHECK_OK(ot_session_new("tcp://127.0.0.1:1", NULL, &live_ot_session));
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", live_ot_key, live_ot_key, "walk", NULL, &live_ot_notary));
  ot_test_notary_endpoint(live_ot_notary, notary_ep, sizeof notary_ep);
  snprintf(notary_id, sizeof notary_id, "walk");
  ot_test_client_start(&client, notary_ep, notary_id, live_ot_key, client_auth, client_enc, 1);
  CHECK_OK(ot_broker_new("tcp://127.0.0.1:*", "inproc://handle-walk-live-broker", NULL, &live_ot_broker));
  ot_test_client_ask(&client, 1);
  live_ot_request = serve_one();

  /* (c) a live handle of every type where another type is wanted */
  for (t = 0; t < N_TYPES; t++) walk("wrong-type", live_of(handle_types[t]), handle_types[t], 0);

  for (t = 0; t < N_TYPES; t++) {
    const char *type = handle_types[t];
    int n = objects_for(type), reused = 0;
    void *stale, **fresh;
    ot_buffer **filler;
    int nfill;
    if (!strcmp(type, "ot_request")) ot_test_client_ask(&client, 1 + n);
    /* (a) freed */
    {
      /* A pool freed right after the stale handle queues 4200 slots behind it, so the registry
       * (which reuses a slot once more than 4096 wait behind it) reaches the stale slot. */
      ot_buffer **pool = calloc(4200, sizeof *pool);
      for (i = 0; i < 4200; i++) CHECK_OK(ot_id_encode((const uint8_t *)"x", 1, &pool[i]));
      stale = make(type);
      release(type, stale);
      for (i = 0; i < 4200; i++) ot_buffer_free(pool[i]);
      free(pool);
    }
    walk("freed", stale, type, 1);
    release(type, stale); /* double free: a no-op */
    /* (b) stale after its slot is reused by a new live object */
    if (n >= 1000) {
      /* cheap objects: make them until one takes the stale handle's slot, and at least n */
      fresh = calloc(60000, sizeof *fresh);
      for (i = 0; i < 60000 && (i < n || !reused); i++) {
        fresh[i] = make(type);
        reused |= SLOT(fresh[i]) == SLOT(stale);
      }
      n = i;
      filler = NULL;
      nfill = 0;
    } else {
      /* sockets: a buffer takes the slot (the generation check is the same for every type),
       * then a few objects of this type are made next to it */
      filler = calloc(60000, sizeof *filler);
      for (nfill = 0; nfill < 60000 && !reused; nfill++) {
        CHECK_OK(ot_id_encode((const uint8_t *)"walk", 4, &filler[nfill]));
        reused |= SLOT(filler[nfill]) == SLOT(stale);
      }
      fresh = calloc((size_t)n, sizeof *fresh);
      for (i = 0; i < n; i++) fresh[i] = make(type);
    }
    CHECK(reused); /* the test really exercises reuse */
    walk("stale (slot reused)", stale, type, 1);
    for (i = 0; i < n; i++) {
      if (!intact(type, fresh[i])) {
        fprintf(stderr, "%s #%d was disturbed by calls with a stale handle\n", type, i);
        ot_test_failures++;
        break;
      }
    }
    ot_test_checks++;
    for (i = 0; i < nfill; i++) {
      if (!intact("ot_buffer", filler[i])) {
        fprintf(stderr, "filler buffer #%d was disturbed by calls with a stale handle\n", i);
        ot_test_failures++;
        break;
      }
      ot_buffer_free(filler[i]);
    }
    free(filler);
    for (i = 0; i < n; i++) release(type, fresh[i]);
    free(fresh);
    printf("  %-20s freed, stale-after-reuse (%d new objects) and other-type handles refused\n", type, n);
  }

  for (t = 0; t < N_TYPES; t++) {
    ot_test_checks++;
    if (!intact(handle_types[t], live_of(handle_types[t])) && strcmp(handle_types[t], "ot_key")) {
      ot_test_failures++;
      fprintf(stderr, "fixture %s disturbed\n", handle_types[t]);
    }
  }
  CHECK(ot_key_bits(live_ot_key) == 1024 && ot_key_is_private(live_ot_key));
  printf("  %ld calls over %d functions\n", calls, (int)(sizeof walked_functions / sizeof walked_functions[0]));
  CHECK(ot_test_client_stop(&client) == 0);
  for (t = 0; t < N_TYPES; t++) release(handle_types[t], live_of(handle_types[t]));
  ot_key_free(client_auth);
  ot_key_free(client_enc);
  ot_key_free(walk_x25519);
  free(env_bytes);
  free(contract_text);
  return ot_test_finish("test_handle_walk");
}
