// include/ot_transport.hpp in a code base built with -fno-exceptions: only ot::nothrow exists,
// every failure is a returned code with its text, and a client <-> notary exchange works.
#include <ot_transport.hpp>

#include <cstdio>
#include <thread>

#if OT_TRANSPORT_HPP_EXCEPTIONS
#error "this test must be compiled with -fno-exceptions"
#endif

static int checks = 0, failures = 0;
#define CHECK(cond)                                                                        \
  do {                                                                                     \
    ++checks;                                                                              \
    if (!(cond)) {                                                                         \
      ++failures;                                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
    }                                                                                      \
  } while (0)

namespace nt = ot::nothrow;

int main() {
  ot::result<ot::key> a = nt::key_generate(1024), n_auth = nt::key_generate(1024), n_enc = nt::key_generate(1024);
  CHECK(a && n_auth && n_enc);
  if (!a || !n_auth || !n_enc) return 1;

  ot::result<std::string> text = nt::sign("MESSAGE", "hello without exceptions", *a);
  CHECK(text.ok());
  ot::result<ot::envelope> env = nt::envelope_seal({*a}, *text);
  ot::result<std::string> armor = nt::envelope_to_armor(*env);
  ot::result<ot::envelope> back = nt::envelope_from_armor(*armor);
  ot::result<ot::bytes> plain = nt::envelope_open(*back, *a);
  CHECK(plain && nt::verify(*plain, *a).ok());

  ot::result<ot::bytes> wrong = nt::envelope_open(*back, *n_auth);
  CHECK(wrong.code() == OT_ERR_NO_MATCHING_RECIPIENT && !wrong.detail().empty());
  CHECK(nt::key_load("junk").code() == OT_ERR_KEY_FORMAT);
  CHECK(nt::verify(*text, *n_auth).code() == OT_ERR_BAD_SIGNATURE);
  CHECK(nt::armor_decode("!!!").code() == OT_ERR_MALFORMED);

  ot::result<ot::session_options> o = nt::session_options_new();
  CHECK(nt::session_options_set(*o, "latency_delay_after", 0).ok());
  ot::result<std::string> nym = nt::key_nym_id(*n_enc);
  ot::result<ot::notary> notary = nt::notary_new("tcp://127.0.0.1:*", *n_auth, *n_enc, *nym, &*o);
  ot::result<std::string> endpoint = nt::notary_endpoint(*notary);
  CHECK(notary && endpoint);
  std::thread server([&] {
    ot::result<ot::request> req = nt::notary_receive(*notary, 10000);
    if (!req) return;
    ot::result<ot::bytes> content = nt::request_verify(*req, *a);
    if (content) (void)nt::notary_reply(*notary, *req, *content, &*a);
  });
  ot::result<ot::session> s = nt::session_new(*endpoint, &*o);
  CHECK(nt::session_set_identity(*s, *a, *a).ok());
  CHECK(nt::session_set_notary(*s, *nym, *n_enc, *n_auth).ok());
  ot::result<ot::bytes> reply = nt::session_request(*s, "ping");
  server.join();
  CHECK(reply && std::string(reply->begin(), reply->end()) == "ping\n");

  // transport v2 through a broker and a worker, without exceptions: two pipelined requests
  // (worker threads of this process: an inproc backend needs no keys; a tcp one without keys is refused)
  CHECK(!nt::broker_new("tcp://127.0.0.1:*", "tcp://127.0.0.1:*"));
  ot::result<ot::broker> b = nt::broker_new("tcp://127.0.0.1:*", "inproc://cxx-nothrow-backend");
  ot::result<std::string> front = nt::broker_frontend(*b), backend = nt::broker_backend(*b);
  ot::result<ot::notary> worker = nt::notary_connect(*backend, *n_auth, *n_enc, *nym);
  CHECK(b && front && backend && worker);
  std::thread serve([&] {
    for (int i = 0; i < 2; ++i) {
      ot::result<ot::request> req = nt::notary_receive(*worker, 10000);
      if (!req) return;
      ot::result<ot::bytes> content = nt::request_verify(*req, *a);
      if (content) (void)nt::notary_reply(*worker, *req, *content, &*a);
    }
  });
  CHECK(nt::session_options_set(*o, "protocol", OT_PROTOCOL_V2).ok());
  ot::result<ot::session> v2 = nt::session_new(*front, &*o);
  CHECK(nt::session_set_identity(*v2, *a, *a).ok() && nt::session_set_notary(*v2, *nym, *n_enc, *n_auth).ok());
  ot::result<std::uint64_t> id1 = nt::session_send(*v2, "one"), id2 = nt::session_send(*v2, "two");
  CHECK(id1 && id2 && *id1 != *id2 && nt::session_in_flight(*v2) == 2);
  int matched = 0;
  for (int i = 0; i < 2; ++i) {
    ot::result<ot::completion> c = nt::session_receive(*v2, 10000);
    CHECK(c && c->ok());
    if (!c) continue;
    std::string got(c->reply.begin(), c->reply.end());
    if ((c->id == *id1 && got == "one\n") || (c->id == *id2 && got == "two\n")) ++matched;
  }
  serve.join();
  CHECK(matched == 2);
  CHECK(nt::session_receive(*v2, 0).code() == OT_ERR_TIMEOUT);
  CHECK(nt::session_next_push(*v2, 0).code() == OT_ERR_TIMEOUT);
  ot::result<ot_session_stats> ss = nt::session_get_stats(*v2);
  ot::result<ot_broker_stats> bs = nt::broker_get_stats(*b);
  CHECK(ss && ss->replies == 2 && bs && bs->workers == 1 && bs->requests >= 2);
  // From the legacy files, without exceptions: a contract's notary, a Nym identity, one request.
  {
    const std::string d13 = std::string(OT_TEST_DATA) + "/fixtures/legacy-0.89-2013/";
    ot::result<ot::nym> srv = nt::nym_load_dir(d13 + "server_data/credentials", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk");
    ot::result<ot::nym> client = nt::nym_load_dir(d13 + "server_data/pubcred", "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n");
    CHECK(srv && client && !srv->is_private());
    // Public Nyms cannot serve or identify; a wrong passphrase says so.
    CHECK(nt::notary_new_from_nym("tcp://127.0.0.1:*", *srv).code() == OT_ERR_INVALID_ARGUMENT);
    CHECK(nt::nym_load_dir(d13 + "server_data/credentials", "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk", ot::bytes_view("test")).code() == OT_ERR_BAD_PASSPHRASE);
    CHECK(nt::wallet_master_key("<wallet/>", "test").code() == OT_ERR_UNSUPPORTED);
    ot::result<ot::key> e = nt::nym_key(*client, ot::key_role::encryption);
    ot::result<std::string> id = nt::nym_id(*client);
    CHECK(e && !e->is_private() && id && *id == "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n");
    CHECK(nt::nym_load("junk", {}).code() == OT_ERR_MALFORMED);
    CHECK(nt::contract_load("junk").code() == OT_ERR_MALFORMED);
  }
  std::printf("test_cxx_nothrow: %d checks, %d passed, %d failed\n", checks, checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
