/* Main part of the generated NULL-argument walk: see c-tests/gen_null_walk.py. */
#include <dirent.h>
#include <sys/stat.h>

static ot_test_client client;

/* live_ot_request: a new unanswered request from the client process. */
static void fresh_request(void) {
  ot_request_free(live_ot_request);
  live_ot_request = NULL;
  ot_test_client_ask(&client, 1);
  CHECK_OK(ot_notary_receive(live_ot_notary, 20000, &live_ot_request));
}

static blob from_buffer(const ot_buffer *b) {
  blob x;
  x.p = ot_buffer_data(b);
  x.n = ot_buffer_len(b);
  return x;
}

static blob from_text(const char *s) {
  blob x;
  x.p = (const uint8_t *)s;
  x.n = strlen(s);
  return x;
}

/* DYEB's public credential list and its credentials, as ot_nym_load takes them. */
static char *cred_files[8];

static void load_dyeb(void) {
  size_t n = 0;
  char *list = ot_test_read("fixtures/legacy-0.89-2013/server_data/pubcred/" DYEB ".cred", &n);
  DIR *d = opendir(PUBCRED "/" DYEB);
  struct dirent *e;
  dyeb_list.p = (const uint8_t *)list;
  dyeb_list.n = n;
  CHECK(d != NULL);
  while (d && (e = readdir(d)) != NULL && n_creds < 8) {
    char rel[512];
    if (e->d_name[0] == '.') continue;
    snprintf(rel, sizeof rel, "fixtures/legacy-0.89-2013/server_data/pubcred/" DYEB "/%s", e->d_name);
    cred_files[n_creds] = ot_test_read(rel, &n);
    creds[n_creds].data = (const uint8_t *)cred_files[n_creds];
    creds[n_creds].len = n;
    n_creds++;
  }
  if (d) closedir(d);
  CHECK(n_creds == 2);
}

int main(void) {
  ot_buffer *id = NULL, *bytes = NULL, *armor = NULL, *arm = NULL, *text = NULL, *pem = NULL, *mk = NULL, *be = NULL;
  char ep[128];
  size_t i, contract_len = 0;
  char *contract_text;
  static const uint8_t raw_key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  int status;
  alarm(600);

  CHECK_OK(ot_key_generate(1024, &live_ot_key));
  CHECK_OK(ot_key_generate(1024, &client_auth));
  CHECK_OK(ot_key_generate(1024, &client_enc));
  CHECK_OK(ot_key_nym_id(live_ot_key, &id));
  snprintf(key_id, sizeof key_id, "%s", BUF_STR(id));
  ot_buffer_free(id);

  small = from_text("abc");
  ini = from_text("[ot_transport]\nmax_resends=0\n");
  pass = from_text("test");
  raw16.p = raw_key;
  raw16.n = sizeof raw_key;
  CHECK_OK(ot_id_encode(small.p, small.n, &live_ot_buffer));
  for (i = 0; i < 8; i++) {
    rcp[i].nym_id = key_id;
    rcp[i].key = live_ot_key;
  }
  CHECK_OK(ot_envelope_seal(rcp, 1, (const uint8_t *)"hello", 5, &live_ot_envelope));
  CHECK_OK(ot_envelope_to_bytes(live_ot_envelope, &bytes));
  env_bytes = from_buffer(bytes);
  CHECK_OK(ot_envelope_to_armor(live_ot_envelope, 1, &armor));
  env_armor = from_buffer(armor);
  CHECK_OK(ot_armor_encode(small.p, small.n, OT_ARMOR_DATA, NULL, &arm));
  armored = from_buffer(arm);
  CHECK_OK(ot_signed_create("MESSAGE", (const uint8_t *)"hello\n", 6, live_ot_key, NULL, &text));
  signed_text = from_buffer(text);
  CHECK_OK(ot_key_export(live_ot_key, OT_KEY_FORMAT_SPKI_PEM, NULL, 0, &pem));
  key_pem = from_buffer(pem);
  contract_text = ot_test_read("fixtures/legacy-0.89-2013/client_data/contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG",
                               &contract_len);
  contract.p = (const uint8_t *)contract_text;
  contract.n = contract_len;
  CHECK_OK(ot_contract_load(contract.p, contract.n, &live_ot_contract));
  load_dyeb();
  {
    size_t n = 0;
    char *w = ot_test_read("fixtures/legacy-0.89-2013/server_data/notaryServer.xml", &n);
    CHECK_OK(ot_wallet_master_key((const uint8_t *)w, n, pass.p, pass.n, &mk));
    CHECK_OK(ot_nym_load_dir(Y13 "/server_data/credentials", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk",
                             ot_buffer_data(mk), ot_buffer_len(mk), &live_ot_nym));
    CHECK(ot_nym_is_private(live_ot_nym) == 1);
    free(w);
  }
  CHECK_OK(ot_curve_keypair(&curve_pub, &curve_sec));
  { /* the broker key files of ot_broker_new_from_files: the secret key (mode 600), a worker list */
    FILE *f;
    snprintf(walk_dir, sizeof walk_dir, "/tmp/ot-null-walk-XXXXXX");
    CHECK(mkdtemp(walk_dir) != NULL);
    snprintf(walk_key_file, sizeof walk_key_file, "%s/backend.key", walk_dir);
    snprintf(walk_workers_file, sizeof walk_workers_file, "%s/workers", walk_dir);
    f = fopen(walk_key_file, "w");
    CHECK(f != NULL && chmod(walk_key_file, 0600) == 0);
    if (f) { fprintf(f, "%s\n", BUF_STR(curve_sec)); fclose(f); }
    f = fopen(walk_workers_file, "w");
    CHECK(f != NULL);
    if (f) { fprintf(f, "# workers\n%s worker-1\n", BUF_STR(curve_pub)); fclose(f); }
  }
  CHECK_OK(ot_key_generate_x25519(&xkey));
  {
    ot_recipient xr;
    xr.nym_id = "x";
    xr.key = xkey;
    CHECK_OK(ot_stream_seal_init(&xr, 1, &live_ot_stream_sealer));
  }
  CHECK_OK(ot_stream_open_init(NULL, xkey, &live_ot_stream_opener));

  /* The session's schedule is a few milliseconds, so a call that does send (a frame of length
   * 0, say) ends in OT_ERR_TIMEOUT at once instead of blocking the walk. */
  CHECK_OK(ot_session_options_new(&live_ot_session_options));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "latency_send_ms", 5));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "latency_send_no_tries", 1));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "latency_receive_ms", 5));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "latency_receive_no_tries", 1));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(live_ot_session_options, "max_resends", 0));
  CHECK_OK(ot_session_new(NOWHERE, live_ot_session_options, &live_ot_session));
  CHECK_OK(ot_notary_new("tcp://127.0.0.1:*", live_ot_key, live_ot_key, key_id, NULL, &live_ot_notary));
  ot_test_notary_endpoint(live_ot_notary, ep, sizeof ep);
  /* forked before the broker's thread exists */
  ot_test_client_start(&client, ep, key_id, live_ot_key, client_auth, client_enc, 1);
  CHECK_OK(ot_broker_new("tcp://127.0.0.1:*", "inproc://null-walk-live-broker", NULL, &live_ot_broker));
  CHECK_OK(ot_broker_backend(live_ot_broker, &be));
  snprintf(broker_backend, sizeof broker_backend, "%s", BUF_STR(be));
  ot_buffer_free(be);
  fresh_request();

  walk();

  printf("  %ld calls over %d of the %d exported functions (the others take no pointer); NULL with "
         "length 0: %ld accepted, %ld refused\n",
         calls, WALKED_FUNCTIONS, EXPORTED_FUNCTIONS, empty_accepted, empty_refused);
  CHECK(calls == WALK_CALLS);
  /* The fixture still works: the request is answered and the client got every answer. */
  CHECK_OK(ot_notary_reply(live_ot_notary, live_ot_request, (const uint8_t *)"bye", 3, client_enc));
  status = ot_test_client_stop(&client);
  CHECK(status == 0);
  CHECK(ot_key_bits(live_ot_key) == 1024 && ot_key_is_private(live_ot_key));
  CHECK(ot_envelope_recipient_count(live_ot_envelope) == 1);

  ot_stream_sealer_free(live_ot_stream_sealer);
  ot_stream_opener_free(live_ot_stream_opener);
  ot_key_free(xkey);
  ot_request_free(live_ot_request);
  ot_broker_free(live_ot_broker);
  ot_notary_free(live_ot_notary);
  ot_session_free(live_ot_session);
  ot_session_options_free(live_ot_session_options);
  ot_nym_free(live_ot_nym);
  ot_contract_free(live_ot_contract);
  ot_envelope_free(live_ot_envelope);
  ot_buffer_free(live_ot_buffer);
  ot_buffer_free(curve_pub);
  ot_buffer_free(curve_sec);
  unlink(walk_key_file);
  unlink(walk_workers_file);
  rmdir(walk_dir);
  ot_buffer_free(bytes);
  ot_buffer_free(armor);
  ot_buffer_free(arm);
  ot_buffer_free(text);
  ot_buffer_free(pem);
  ot_buffer_free(mk);
  ot_key_free(live_ot_key);
  ot_key_free(client_auth);
  ot_key_free(client_enc);
  free(contract_text);
  free((void *)dyeb_list.p);
  for (i = 0; i < n_creds; i++) free(cred_files[i]);
  return ot_test_finish("test_null_walk");
}
