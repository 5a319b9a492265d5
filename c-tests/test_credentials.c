/* Credentials, Nyms and contracts through the C API, on the real 2013 and 2011 legacy files:
 * wallets, Nyms from folders and from bytes, contracts, every key role, tampered variants refused
 * with the rule named in ot_last_error(), hostile arguments, and the end-to-end case the issue
 * asks for: a client holding only the legacy files opens a verified session to the notary of the
 * legacy contract, served by a notary configured from the server's own credential files. */
#include <pthread.h>

#include "harness.h"

#define Y13 "fixtures/legacy-0.89-2013/"
#define DIR13 OT_TEST_DATA "/" Y13
#define DYEB "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n"
#define VOEQ "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk"
#define SERVER_CONTRACT "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"

/* Detail text starts with `rule` followed by ':'. */
#define CHECK_RULE(expr, rule)                                                              \
  do {                                                                                     \
    CHECK_RC(expr, OT_ERR_BAD_SIGNATURE);                                                  \
    CHECK(strncmp(ot_last_error(), rule ":", strlen(rule ":")) == 0);                      \
  } while (0)

static ot_buffer *master_key(const char *wallet_rel) {
  size_t n = 0;
  char *w = ot_test_read(wallet_rel, &n);
  ot_buffer *k = NULL;
  CHECK_OK(ot_wallet_master_key((const uint8_t *)w, n, (const uint8_t *)"test", 4, &k));
  free(w);
  return k;
}

static char *key_id(const ot_key *k) {
  ot_buffer *b = NULL;
  char *s;
  CHECK_OK(ot_key_nym_id(k, &b));
  s = malloc(ot_buffer_len(b) + 1);
  memcpy(s, ot_buffer_data(b), ot_buffer_len(b) + 1);
  ot_buffer_free(b);
  return s;
}

/* The same public key in the same role of two objects (NymIDs of the keys compared). */
static int same_role_key(ot_key *a, ot_key *b) {
  char *x = key_id(a), *y = key_id(b);
  int same = strcmp(x, y) == 0;
  free(x);
  free(y);
  ot_key_free(a);
  ot_key_free(b);
  return same;
}

static void wallets(void) {
  size_t n = 0;
  char *w = ot_test_read(Y13 "client_data/wallet.xml", &n);
  ot_buffer *k = NULL;
  CHECK_RC(ot_wallet_master_key((const uint8_t *)w, n, (const uint8_t *)"TEST", 4, &k), OT_ERR_BAD_PASSPHRASE);
  CHECK(k == NULL);
  CHECK_RC(ot_wallet_master_key((const uint8_t *)w, n, NULL, 0, &k), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_wallet_master_key(NULL, 5, (const uint8_t *)"test", 4, &k), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_wallet_master_key((const uint8_t *)w, n, (const uint8_t *)"test", 4, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_wallet_master_key((const uint8_t *)"<wallet/>", 9, (const uint8_t *)"test", 4, &k), OT_ERR_UNSUPPORTED);
  CHECK_RC(ot_wallet_master_key((const uint8_t *)"junk", 4, (const uint8_t *)"test", 4, &k), OT_ERR_MALFORMED);
  free(w);
  ot_buffer *c = master_key(Y13 "client_data/wallet.xml"), *s = master_key(Y13 "server_data/notaryServer.xml");
  CHECK(ot_buffer_len(c) == 16 && ot_buffer_len(s) == 16);
  CHECK(memcmp(ot_buffer_data(c), ot_buffer_data(s), 16) != 0);
  ot_buffer_free(c);
  ot_buffer_free(s);
}

static void nyms(void) {
  ot_buffer *mk = master_key(Y13 "client_data/wallet.xml");
  ot_nym *priv = NULL, *pub = NULL, *nopass = NULL, *bytes_nym = NULL;
  CHECK_OK(ot_nym_load_dir(DIR13 "client_data/credentials", DYEB, ot_buffer_data(mk), ot_buffer_len(mk), &priv));
  CHECK_OK(ot_nym_load_dir(DIR13 "server_data/pubcred", DYEB, NULL, 0, &pub));
  CHECK_OK(ot_nym_load_dir(DIR13 "client_data/credentials", DYEB, NULL, 0, &nopass));
  CHECK(ot_nym_is_private(priv) == 1 && ot_nym_is_private(pub) == 0 && ot_nym_is_private(nopass) == 0);
  CHECK(ot_nym_is_private(NULL) == 0);
  ot_buffer *id = NULL;
  CHECK_OK(ot_nym_id(priv, &id));
  CHECK(strcmp(BUF_STR(id), DYEB) == 0);
  ot_buffer_free(id);
  for (ot_key_role r = OT_KEY_ROLE_AUTH; r <= OT_KEY_ROLE_SIGNING; r++) {
    ot_key *a = NULL, *b = NULL;
    CHECK_OK(ot_nym_key(priv, r, &a));
    CHECK_OK(ot_nym_key(pub, r, &b));
    CHECK(ot_key_is_private(a) == 1 && ot_key_is_private(b) == 0 && ot_key_bits(a) == 1024);
    CHECK(same_role_key(a, b));
  }
  ot_key *k = NULL;
  CHECK_RC(ot_nym_key(priv, 0, &k), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_nym_key(priv, 4, &k), OT_ERR_INVALID_ARGUMENT);
  CHECK(k == NULL);
  /* The wallet's passphrase itself is not the keys' passphrase. */
  CHECK_RC(ot_nym_load_dir(DIR13 "client_data/credentials", DYEB, (const uint8_t *)"test", 4, &bytes_nym),
           OT_ERR_BAD_PASSPHRASE);

  /* From bytes, in any order. */
  size_t ln, mn, kn;
  char *list = ot_test_read(Y13 "server_data/pubcred/" DYEB ".cred", &ln);
  char *master = ot_test_read(Y13 "server_data/pubcred/" DYEB "/T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D", &mn);
  char *keycred = ot_test_read(Y13 "server_data/pubcred/" DYEB "/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ", &kn);
  ot_slice creds[2] = {{(const uint8_t *)keycred, kn}, {(const uint8_t *)master, mn}};
  CHECK_OK(ot_nym_load((const uint8_t *)list, ln, creds, 2, NULL, 0, &bytes_nym));
  CHECK_OK(ot_nym_id(bytes_nym, &id));
  CHECK(strcmp(BUF_STR(id), DYEB) == 0);
  ot_buffer_free(id);
  /* Only the master given: MISSING. Another Nym's key credential instead: CRED_ID. */
  ot_nym *bad = NULL;
  CHECK_RULE(ot_nym_load((const uint8_t *)list, ln, creds + 1, 1, NULL, 0, &bad), "MISSING");
  size_t vn;
  char *voeq_key = ot_test_read(Y13 "server_data/credentials/" VOEQ "/EvcfMaNJ3fiK4lUVhQNhHmX1Qc3mjlA6q0MS96JXNNO", &vn);
  ot_slice swapped[2] = {{(const uint8_t *)voeq_key, vn}, {(const uint8_t *)master, mn}};
  CHECK_RULE(ot_nym_load((const uint8_t *)list, ln, swapped, 2, NULL, 0, &bad), "CRED_ID");
  CHECK(bad == NULL);
  /* Hostile arguments. */
  CHECK_RC(ot_nym_load(NULL, 3, creds, 2, NULL, 0, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load((const uint8_t *)list, ln, NULL, 2, NULL, 0, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load((const uint8_t *)list, ln, creds, 2, NULL, 3, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load((const uint8_t *)list, ln, creds, 2, NULL, 0, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load((const uint8_t *)list, ln, creds, 65, NULL, 0, &bad), OT_ERR_INVALID_ARGUMENT);
  ot_slice hole[1] = {{NULL, 10}};
  CHECK_RC(ot_nym_load((const uint8_t *)list, ln, hole, 1, NULL, 0, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load((const uint8_t *)"x", 1, creds, 2, NULL, 0, &bad), OT_ERR_MALFORMED);
  CHECK_RC(ot_nym_load_dir(NULL, DYEB, NULL, 0, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load_dir(DIR13 "server_data/pubcred", NULL, NULL, 0, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_load_dir(DIR13 "server_data/pubcred", "../pubcred", NULL, 0, &bad), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_nym_load_dir(DIR13 "nowhere", DYEB, NULL, 0, &bad), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_nym_id(NULL, &id), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_id(priv, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_key(NULL, OT_KEY_ROLE_AUTH, &k), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_nym_key(priv, OT_KEY_ROLE_AUTH, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK(bad == NULL);
  /* Every truncation of a credential is refused, none half-read. */
  int refused = 0;
  for (size_t cut = 0; cut < kn; cut += 97) {
    ot_slice t[2] = {{(const uint8_t *)keycred, cut}, {(const uint8_t *)master, mn}};
    if (ot_nym_load((const uint8_t *)list, ln, t, 2, NULL, 0, &bad) != OT_OK) refused++;
  }
  CHECK(refused == (int)((kn + 96) / 97) && bad == NULL);
  free(voeq_key);
  free(list);
  free(master);
  free(keycred);
  ot_nym_free(bytes_nym);
  ot_nym_free(priv);
  ot_nym_free(pub);
  ot_nym_free(nopass);
  ot_nym_free(NULL);
  ot_buffer_free(mk);
}

static void contracts(void) {
  size_t n;
  char *t = ot_test_read(Y13 "client_data/contracts/" SERVER_CONTRACT, &n);
  ot_contract *c = NULL, *bad = NULL;
  CHECK_OK(ot_contract_load((const uint8_t *)t, n, &c));
  ot_buffer *b = NULL;
  CHECK_OK(ot_contract_id(c, &b));
  CHECK(strcmp(BUF_STR(b), SERVER_CONTRACT) == 0);
  ot_buffer_free(b);
  CHECK_OK(ot_contract_signer_id(c, &b));
  CHECK(strcmp(BUF_STR(b), VOEQ) == 0);
  ot_buffer_free(b);
  CHECK_OK(ot_contract_endpoint(c, &b));
  CHECK(strcmp(BUF_STR(b), "tcp://localhost:7085") == 0);
  ot_buffer_free(b);
  ot_nym *server = NULL;
  CHECK_OK(ot_nym_load_dir(DIR13 "server_data/credentials", VOEQ, NULL, 0, &server));
  for (ot_key_role r = OT_KEY_ROLE_AUTH; r <= OT_KEY_ROLE_SIGNING; r++) {
    ot_key *a = NULL, *k = NULL;
    CHECK_OK(ot_contract_key(c, r, &a));
    CHECK_OK(ot_nym_key(server, r, &k));
    CHECK(ot_key_is_private(a) == 0);
    CHECK(same_role_key(a, k));
  }
  ot_nym_free(server);
  /* A changed byte (the port) without the notary's signature. */
  char *moved = malloc(n + 1);
  memcpy(moved, t, n + 1);
  {
    /* The armored text is compressed: change the plain signed text instead. */
    ot_buffer *plain = NULL;
    CHECK_OK(ot_armor_decode((const uint8_t *)t, n, OT_ARMOR_STRING, &plain));
    char *p = malloc(ot_buffer_len(plain) + 1);
    memcpy(p, ot_buffer_data(plain), ot_buffer_len(plain) + 1);
    char *port = strstr(p, "port=\"7085\"");
    CHECK(port != NULL);
    CHECK_OK(ot_contract_load((const uint8_t *)p, strlen(p), &bad));
    ot_contract_free(bad);
    bad = NULL;
    if (port) port[9] = '6';
    CHECK_RULE(ot_contract_load((const uint8_t *)p, strlen(p), &bad), "CONTRACT_SIG");
    CHECK(bad == NULL);
    /* Every truncation and every tenth bit flip of the plain text is refused. */
    size_t pn = ot_buffer_len(plain), refused = 0, tries = 0;
    memcpy(p, ot_buffer_data(plain), pn + 1);
    for (size_t cut = 0; cut < pn; cut += 211, tries++)
      if (ot_contract_load((const uint8_t *)p, cut, &bad) != OT_OK) refused++;
    CHECK(refused == tries && bad == NULL);
    for (size_t i = 0; i < pn; i += 10) {
      p[i] ^= 0x10;
      ot_result rc = ot_contract_load((const uint8_t *)p, pn, &bad);
      /* A flip in the bookends' dashes or in white space may leave the text equivalent. */
      if (rc == OT_OK) ot_contract_free(bad);
      else CHECK(strlen(ot_last_error()) > 0 && rc != OT_ERR_INTERNAL);
      bad = NULL;
      p[i] ^= 0x10;
    }
    free(p);
    ot_buffer_free(plain);
  }
  free(moved);
  /* An asset contract names no notary. */
  size_t an;
  char *asset = ot_test_read(Y13 "client_data/contracts/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF", &an);
  ot_contract *a = NULL;
  CHECK_OK(ot_contract_load((const uint8_t *)asset, an, &a));
  CHECK_RC(ot_contract_endpoint(a, &b), OT_ERR_STATE);
  CHECK_OK(ot_contract_signer_id(a, &b));
  CHECK(strcmp(BUF_STR(b), DYEB) == 0);
  ot_buffer_free(b);
  ot_session *s = NULL;
  CHECK_RC(ot_session_new_from_contract(a, NULL, NULL, &s), OT_ERR_STATE);
  CHECK(s == NULL);
  ot_contract_free(a);
  free(asset);
  /* 2011: the notary contract signed by its contract key. */
  size_t on;
  char *old = ot_test_read("fixtures/legacy-0.72-2011/client_data/contracts/8dlRJnGCjqU5jw7bZaw2AF112UrCZiFfBS9CnJrMWSp", &on);
  CHECK_OK(ot_contract_load((const uint8_t *)old, on, &a));
  CHECK_OK(ot_contract_signer_id(a, &b));
  CHECK(strcmp(BUF_STR(b), "pc23gUqPu9Bk1Vl0K5lz3Jp1MYIfjGIBXVWDp1gba9C") == 0);
  ot_buffer_free(b);
  ot_key *ka = NULL, *ke = NULL;
  CHECK_OK(ot_contract_key(a, OT_KEY_ROLE_AUTH, &ka));
  CHECK_OK(ot_contract_key(a, OT_KEY_ROLE_ENCRYPTION, &ke));
  CHECK(same_role_key(ka, ke)); /* a 2011 Nym has one key for every role */
  ot_contract_free(a);
  free(old);
  /* Hostile arguments. */
  CHECK_RC(ot_contract_load(NULL, 4, &bad), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_load((const uint8_t *)t, n, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_load((const uint8_t *)"", 0, &bad), OT_ERR_MALFORMED);
  CHECK_RC(ot_contract_id(NULL, &b), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_id(c, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_signer_id(c, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_endpoint(c, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_contract_key(c, 9, &ka), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_contract_key(c, OT_KEY_ROLE_AUTH, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_new_from_contract(NULL, NULL, NULL, &s), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_new_from_contract(c, NULL, NULL, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_new_from_contract(c, "bogus://x", NULL, &s), OT_ERR_INVALID_ARGUMENT);
  CHECK(bad == NULL && s == NULL);
  ot_contract_free(c);
  ot_contract_free(NULL);
  free(t);
}

/* ---- end to end: a client with only its legacy files, a notary with only its own -------- */

typedef struct {
  ot_notary *notary;
  ot_nym *client_public; /* the notary's copy of the client's public credentials (pubcred) */
  int served;
} server_job;

static void *serve(void *arg) {
  server_job *job = arg;
  ot_key *auth = NULL, *enc = NULL;
  CHECK_OK(ot_nym_key(job->client_public, OT_KEY_ROLE_AUTH, &auth));
  CHECK_OK(ot_nym_key(job->client_public, OT_KEY_ROLE_ENCRYPTION, &enc));
  for (int i = 0; i < 2; i++) {
    ot_request *req = NULL;
    ot_buffer *content = NULL;
    if (ot_notary_receive(job->notary, 20000, &req) != OT_OK) continue;
    if (ot_request_verify(req, auth, &content) == OT_OK) {
      if (ot_test_reply_at(job->notary, req, content, enc) == OT_OK) job->served++;
      ot_buffer_free(content);
    }
    ot_request_free(req);
  }
  ot_key_free(auth);
  ot_key_free(enc);
  return NULL;
}

static void end_to_end(void) {
  /* Notary side: server_data only. */
  ot_buffer *nk = master_key(Y13 "server_data/notaryServer.xml");
  ot_nym *server = NULL, *server_public = NULL;
  server_job job = {NULL, NULL, 0};
  CHECK_OK(ot_nym_load_dir(DIR13 "server_data/credentials", VOEQ, ot_buffer_data(nk), ot_buffer_len(nk), &server));
  CHECK_OK(ot_nym_load_dir(DIR13 "server_data/pubcred", DYEB, NULL, 0, &job.client_public));
  CHECK_OK(ot_nym_load_dir(DIR13 "server_data/credentials", VOEQ, NULL, 0, &server_public));
  CHECK_RC(ot_notary_new_from_nym("tcp://127.0.0.1:*", server_public, NULL, &job.notary), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_notary_new_from_nym(NULL, server, NULL, &job.notary), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_notary_new_from_nym("tcp://127.0.0.1:*", server, NULL, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_OK(ot_notary_new_from_nym("tcp://127.0.0.1:*", server, NULL, &job.notary));
  ot_buffer *bound = NULL;
  CHECK_OK(ot_notary_endpoint(job.notary, &bound));
  pthread_t th;
  CHECK(pthread_create(&th, NULL, serve, &job) == 0);

  /* Client side: client_data only (wallet, credentials, the notary's contract). */
  ot_buffer *ck = master_key(Y13 "client_data/wallet.xml");
  ot_nym *me = NULL, *me_public = NULL;
  CHECK_OK(ot_nym_load_dir(DIR13 "client_data/credentials", DYEB, ot_buffer_data(ck), ot_buffer_len(ck), &me));
  CHECK_OK(ot_nym_load_dir(DIR13 "client_data/credentials", DYEB, NULL, 0, &me_public));
  size_t n;
  char *t = ot_test_read(Y13 "client_data/contracts/" SERVER_CONTRACT, &n);
  ot_contract *c = NULL;
  CHECK_OK(ot_contract_load((const uint8_t *)t, n, &c));
  ot_session_options *o = NULL;
  CHECK_OK(ot_session_options_new(&o));
  CHECK_OK(ot_session_options_set(o, "latency_delay_after", 0));
  CHECK_OK(ot_session_options_set(o, "request_timeout_ms", 20000));
  ot_session *s = NULL;
  /* The contract says tcp://localhost:7085; the test notary listens on a free port. */
  CHECK_OK(ot_session_new_from_contract(c, BUF_STR(bound), o, &s));
  CHECK_RC(ot_session_set_identity_nym(s, me_public), OT_ERR_INVALID_ARGUMENT);
  CHECK_RC(ot_session_set_identity_nym(s, NULL), OT_ERR_NULL_ARGUMENT);
  CHECK_RC(ot_session_set_identity_nym(NULL, me), OT_ERR_NULL_ARGUMENT);
  CHECK_OK(ot_session_set_identity_nym(s, me));
  for (int i = 0; i < 2; i++) {
    ot_buffer *reply = NULL;
    const char *msg = i ? "<OTmessage>\n<checkServerID requestNum=\"2\"/>\n</OTmessage>\n"
                        : "<OTmessage>\n<checkServerID requestNum=\"1\"/>\n</OTmessage>\n";
    CHECK_OK(ot_session_request(s, (const uint8_t *)msg, strlen(msg), &reply));
    CHECK(reply && ot_buffer_len(reply) == strlen(msg) + 1 && BUF_STR(reply)[0] == '@' &&
          strcmp(BUF_STR(reply) + 1, msg) == 0);
    ot_buffer_free(reply);
  }
  pthread_join(th, NULL);
  CHECK(job.served == 2);
  printf("  end to end: DYEB... (client_data only) -> voeq... (server_data only), %d verified replies\n", job.served);

  ot_session_free(s);
  ot_session_options_free(o);
  ot_contract_free(c);
  free(t);
  ot_nym_free(me);
  ot_nym_free(me_public);
  ot_buffer_free(ck);
  ot_buffer_free(bound);
  ot_notary_free(job.notary);
  ot_nym_free(job.client_public);
  ot_nym_free(server);
  ot_nym_free(server_public);
  ot_buffer_free(nk);
}

int main(void) {
  wallets();
  nyms();
  contracts();
  end_to_end();
  return ot_test_finish("test_credentials");
}
