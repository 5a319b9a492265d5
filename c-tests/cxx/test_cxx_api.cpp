// The C++ wrappers (include/ot_transport.hpp), throwing and ot::nothrow flavours: round trips,
// every wrapper's error path carrying code + text, move-only ownership, a legacy fixture chain,
// a client <-> notary exchange on two threads over tcp loopback, transport v2 (pipelining,
// pushes), a broker with a worker notary, and a session from the legacy credential files.
#include <ot_transport.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <type_traits>

static int checks = 0, failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    ++checks;                                                              \
    if (!(cond)) {                                                         \
      ++failures;                                                          \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                      \
  } while (0)

// Runs f, which must throw ot::error with `code`; checks the text came along.
template <class F>
static void expect_error(ot_result code, F &&f, const char *words = "") {
  try {
    f();
    ++checks;
    ++failures;
    std::fprintf(stderr, "expected error %d, nothing thrown\n", static_cast<int>(code));
  } catch (const ot::error &e) {
    CHECK(e.code() == code);
    if (e.code() != code) std::fprintf(stderr, "  got %d: %s\n", static_cast<int>(e.code()), e.what());
    CHECK(!e.detail().empty());
    CHECK(std::string(e.what()).find(e.detail()) != std::string::npos);
    CHECK(e.detail().find(words) != std::string::npos);
  }
}

static std::string str(const ot::bytes &b) { return std::string(b.begin(), b.end()); }

static std::string read_file(const std::string &rel) {
  std::ifstream f(std::string(OT_TEST_DATA) + "/" + rel, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", rel.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Body of the first <tag ...>...</tag> (a leading newline dropped), as the other tests do.
static std::string element(const std::string &doc, const std::string &tag) {
  std::size_t open = doc.find("<" + tag);
  std::size_t gt = doc.find('>', open);
  std::size_t end = doc.find("</" + tag + ">", gt);
  if (open == std::string::npos || gt == std::string::npos || end == std::string::npos) return "";
  std::size_t body = gt + 1 + (doc[gt + 1] == '\n' ? 1 : 0);
  return doc.substr(body, end - body);
}

static_assert(!std::is_copy_constructible_v<ot::key> && std::is_nothrow_move_constructible_v<ot::key>);
static_assert(!std::is_copy_assignable_v<ot::envelope> && std::is_nothrow_move_assignable_v<ot::envelope>);
static_assert(!std::is_copy_constructible_v<ot::session> && !std::is_copy_constructible_v<ot::notary>);
static_assert(!std::is_copy_constructible_v<ot::request> && !std::is_copy_constructible_v<ot::session_options>);
static_assert(!std::is_copy_constructible_v<ot::broker> && std::is_nothrow_move_constructible_v<ot::broker>);
// A recipient points at its key: it cannot be made from a temporary key (it would dangle at the
// end of the full expression), only from one that outlives it.
static_assert(!std::is_constructible_v<ot::recipient, ot::key &&>);
static_assert(!std::is_constructible_v<ot::recipient, std::string_view, ot::key &&>);
static_assert(!std::is_convertible_v<ot::key &&, ot::recipient>);
static_assert(std::is_constructible_v<ot::recipient, const ot::key &>);
static_assert(std::is_constructible_v<ot::recipient, ot::key &>);
static_assert(std::is_constructible_v<ot::recipient, std::string_view, const ot::key &>);

static void test_keys(const ot::key &alice) {
  CHECK(alice.is_private() && alice.bits() == 1024);
  const std::string nym = alice.nym_id();
  CHECK(nym.size() >= 40);
  ot::key pub = alice.public_key();
  CHECK(!pub.is_private() && pub.nym_id() == nym);
  struct {
    ot::key_format f;
    const char *pass;
    bool priv;
  } cases[] = {{ot::key_format::spki_pem, nullptr, false},
               {ot::key_format::ot_public, nullptr, false},
               {ot::key_format::ot_public_unescaped, nullptr, false},
               {ot::key_format::pkcs8_plain, nullptr, true},
               {ot::key_format::pkcs8_encrypted, "pass phrase", true},
               {ot::key_format::pkcs8_encrypted_legacy, "legacy", true}};
  for (const auto &c : cases) {
    std::optional<ot::bytes_view> pass;
    if (c.pass) pass = ot::bytes_view(c.pass);
    std::string text = alice.export_as(c.f, pass);
    ot::key back = ot::key::load(text, pass);
    CHECK(back.is_private() == c.priv && back.nym_id() == nym);
    if (c.pass) expect_error(OT_ERR_BAD_PASSPHRASE, [&] { ot::key::load(text, ot::bytes_view("wrong")); });
  }
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { pub.export_as(ot::key_format::pkcs8_plain); });
  expect_error(OT_ERR_INVALID_ARGUMENT, [] { ot::key::generate(1000); });
  expect_error(OT_ERR_KEY_FORMAT, [] { ot::key::load("not a key"); });
  // Ownership: moved-from owners are empty; the library refuses an empty handle with an error.
  ot::key moved = ot::key::generate(1024);
  ot_key *raw = moved.get();
  ot::key taker = std::move(moved);
  CHECK(!moved && taker.get() == raw);  // NOLINT(bugprone-use-after-move): checking the state
  expect_error(OT_ERR_NULL_ARGUMENT, [&] { moved.nym_id(); });
  taker = ot::key::generate(1024);  // move-assign frees the previous key
  CHECK(ot_key_bits(raw) == 0);     // the freed handle is refused by the library
}

static void test_envelopes(const ot::key &alice, const ot::key &bob) {
  const std::string msg = "<message>\nto alice and bob\n</message>\n";
  const ot::key bob_public = bob.public_key();  // a recipient needs a key that outlives it
  ot::envelope env = ot::envelope::seal({alice, {bob.nym_id(), bob_public}, {"", bob}}, msg);
  CHECK(env.recipient_count() == 3);
  std::vector<std::string> ids = env.recipient_ids();
  CHECK(ids.size() == 3 && ids[0].empty());  // sorted by NymID: "" first
  ot::envelope parsed = ot::envelope::parse(env.to_bytes());
  ot::envelope bare = ot::envelope::from_armor(env.to_armor(false));
  ot::envelope booked = ot::envelope::from_armor(env.to_armor());
  CHECK(env.to_armor().rfind("-----BEGIN OT ARMORED ENVELOPE-----\n", 0) == 0);
  for (const ot::envelope *e : {&env, &parsed, &bare, &booked}) {
    CHECK(str(e->open(alice)) == msg);
    CHECK(str(e->open(bob, bob.nym_id())) == msg);
    CHECK(str(e->open(bob, "")) == msg);
  }
  expect_error(OT_ERR_NO_MATCHING_RECIPIENT, [&] { env.open(bob, "nobody"); }, "no entry");
  ot::envelope only_x = ot::envelope::seal({{"X", alice}}, msg);
  expect_error(OT_ERR_DECRYPT_FAILED, [&] { only_x.open(bob, "X"); });
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { ot::envelope::seal({alice}, std::string("a\0b", 3)); });
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { env.open(alice, std::string_view("a\0b", 3)); }, "NUL");
  expect_error(OT_ERR_MALFORMED, [] { ot::envelope::parse("garbage bytes"); });
  // one step: sealed bytes / armor, opened from bytes / armor
  const ot::bytes one = ot::envelope::seal_to_bytes({alice, {"", bob}}, msg);
  CHECK(str(ot::envelope::parse(one).open(alice)) == msg);
  CHECK(str(ot::envelope::open_bytes(one, alice)) == msg);
  CHECK(str(ot::envelope::open_bytes(one, bob, "")) == msg);
  CHECK(str(ot::envelope::open_armor(ot::envelope::seal_to_armor({alice}, msg, false), alice)) == msg);
  CHECK(str(ot::envelope::open_armor(env.to_armor(), bob, "")) == msg);
  expect_error(OT_ERR_DECRYPT_FAILED, [&] { ot::envelope::open_bytes(only_x.to_bytes(), bob, "X"); });
  expect_error(OT_ERR_MALFORMED, [&] { ot::envelope::open_bytes(std::string("xx"), alice); });

  const std::array<std::uint8_t, 16> raw_key{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  ot::envelope sym = ot::envelope::encrypt_symmetric(raw_key, "symmetric secret");
  CHECK(sym.recipient_count() == 0);
  CHECK(str(ot::envelope::parse(sym.to_bytes()).decrypt_symmetric(raw_key)) == "symmetric secret");
  // No MAC in legacy symmetric envelopes: a wrong key fails on the padding, except about once in
  // 256 keys (garbage with valid padding). Never the plaintext.
  try {
    CHECK(str(sym.decrypt_symmetric(std::array<std::uint8_t, 16>{})) != "symmetric secret");
  } catch (const ot::error &e) {
    CHECK(e.code() == OT_ERR_DECRYPT_FAILED);
  }
}

static void test_signed_armor_hashes(const ot::key &alice, const ot::key &bob) {
  std::string text = ot::sign("MESSAGE", "signed content", alice, "ADT9");
  CHECK(text.rfind("-----BEGIN SIGNED MESSAGE-----\n", 0) == 0);
  CHECK(str(ot::verify(text, alice.public_key())) == "signed content\n");
  CHECK(str(ot::signed_content(text)) == "signed content\n");
  expect_error(OT_ERR_BAD_SIGNATURE, [&] { ot::verify(text, bob); });
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { ot::sign("MESSAGE", "-unescaped dash line", alice); });

  for (ot::armor_kind kind : {ot::armor_kind::data, ot::armor_kind::string}) {
    std::string a = ot::armor_encode("some text to armor\n", kind, "CONTRACT");
    CHECK(a.rfind("-----BEGIN OT ARMORED CONTRACT-----", 0) == 0);
    CHECK(str(ot::armor_decode(a, kind)) == "some text to armor\n");
  }
  expect_error(OT_ERR_MALFORMED, [] { ot::armor_decode("-----BEGIN OT ARMORED X-----\n!!\n-----END OT ARMORED X-----\n"); });

  // FIPS 180-2 "abc"; Whirlpool "abc" from the ISO test set (tests/data/vectors/hash-vectors.tsv).
  const char *sha_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const char *wp_abc =
      "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d2"
      "25292076d4eef5";
  auto hex = [](const auto &d) {
    std::string s;
    char b[3];
    for (std::uint8_t x : d) std::snprintf(b, sizeof b, "%02x", x), s += b;
    return s;
  };
  CHECK(hex(ot::sha256("abc")) == sha_abc);
  CHECK(hex(ot::whirlpool("abc")) == wp_abc);
  ot::samy_digest s = ot::samy("abc");
  ot::sha256_digest h = ot::sha256("abc");
  ot::whirlpool_digest w = ot::whirlpool("abc");
  bool xor_ok = true;
  for (std::size_t i = 0; i < s.size(); ++i) xor_ok = xor_ok && s[i] == (h[i] ^ w[i]);
  CHECK(xor_ok);
  CHECK(ot::id_of("abc") == ot::id_encode(s));
  CHECK(ot::id_decode(ot::id_encode(s)) == ot::bytes(s.begin(), s.end()) || s[0] == 0);
  expect_error(OT_ERR_MALFORMED, [] { ot::id_decode("not+base62"); });
}

static void test_options() {
  ot::session_options o = ot::session_options::make();
  CHECK(o.get("latency_send_ms") == 200);
  o.set("latency_delay_after", 0).set("max_resends", 2).load_ini("[latency]\nlatency_send_ms=123\n");
  CHECK(o.get("latency_delay_after") == 0 && o.get("max_resends") == 2 && o.get("latency_send_ms") == 123);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { o.set("no_such_option", 1); });
  auto [pub, sec] = ot::curve_keypair();
  CHECK(pub.size() == 40 && sec.size() == 40);
  o.set_curve_server(sec);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { o.set_curve_server("short"); });
}

static void test_nothrow(const ot::key &alice, const ot::key &bob) {
  ot::result<ot::envelope> env = ot::nothrow::envelope_seal({alice}, "no exceptions");
  CHECK(env.ok() && env.code() == OT_OK && env.detail().empty());
  ot::result<ot::bytes> plain = ot::nothrow::envelope_open(*env, alice);
  CHECK(plain && str(*plain) == "no exceptions");
  ot::secure_clear(*plain);
  CHECK(plain->empty());
  CHECK(ot::bytes_view(static_cast<const char *>(nullptr)).empty());
  ot::result<ot::bytes> wrong = ot::nothrow::envelope_open(*env, bob);
  CHECK(!wrong && wrong.code() == OT_ERR_NO_MATCHING_RECIPIENT && !wrong.detail().empty());
  ot::result<ot::key> k = ot::nothrow::key_load("junk");
  CHECK(k.code() == OT_ERR_KEY_FORMAT);
  ot::result<ot::session_options> o = ot::nothrow::session_options_new();
  CHECK(o && ot::nothrow::session_options_set(*o, "linger_ms", 5).ok());
  ot::result<void> bad = ot::nothrow::session_options_set(*o, "latency_send_no_tries", 0);
  CHECK(!bad && bad.code() == OT_ERR_INVALID_ARGUMENT);
}

static void test_legacy_2011_mail() {
  const std::string y11 = "fixtures/legacy-0.72-2011/client_data/";
  const std::string t1q3 = "T1Q3wZWgeTUoaUvn9m1lzIK5tn5wITlzxzrGNI8qtaV";
  ot::key key = ot::key::load(read_file(y11 + "certs/" + t1q3), ot::bytes_view("test"));
  CHECK(key.nym_id() == t1q3);
  std::string outer = str(ot::verify(read_file(y11 + "nyms/" + t1q3), key.public_key()));
  std::string payload = str(ot::armor_decode(element(outer, "filePayload"), ot::armor_kind::string));
  std::string mail = str(ot::armor_decode(element(payload, "mailMessage"), ot::armor_kind::string));
  std::string inner = str(ot::verify(mail, key));
  ot::envelope env = ot::envelope::from_armor(element(inner, "messagePayload"));
  CHECK(env.recipient_ids() == std::vector<std::string>{""});
  CHECK(str(env.open(key)).rfind("Subject:Just testing\nblah blah blah\n", 0) == 0);
  expect_error(OT_ERR_BAD_PASSPHRASE, [&] { ot::key::load(read_file(y11 + "certs/" + t1q3), ot::bytes_view("nope")); });
}

static void test_exchange() {
  const ot::key c_auth = ot::key::generate(1024), c_enc = ot::key::generate(1024);
  const ot::key n_auth = ot::key::generate(1024), n_enc = ot::key::generate(1024);
  ot::session_options fast = ot::session_options::make();
  fast.set("latency_delay_after", 0).set("latency_receive_ms", 1000).set("latency_receive_no_tries", 3);
  ot::notary notary = ot::notary::bind("tcp://127.0.0.1:*", n_auth, n_enc, n_enc.nym_id(), &fast);
  const std::string endpoint = notary.endpoint();
  const int n_requests = 3;
  std::atomic<int> served{0};
  std::thread server([&] {
    for (int i = 0; i < n_requests + 1; ++i) {  // + one raw exchange
      ot::result<ot::request> req = ot::nothrow::notary_receive(notary, 10000);
      if (!req) continue;
      ot::result<ot::bytes> content = ot::nothrow::request_verify(*req, c_auth);
      if (!content) continue;
      std::string reply = "@" + str(*content);
      if (ot::nothrow::notary_reply(notary, *req, reply, &c_enc)) ++served;
    }
  });
  {
    ot::session s = ot::session::connect(endpoint, &fast);
    expect_error(OT_ERR_STATE, [&] { s.request("no identity yet"); });
    s.set_identity(c_auth, c_enc);
    s.set_notary(n_enc.nym_id(), n_enc.public_key(), n_auth.public_key());
    for (int i = 0; i < n_requests; ++i) {
      std::string msg = "<request n=\"" + std::to_string(i) + "\"/>";
      CHECK(str(s.request(msg)) == "@" + msg + "\n");
    }
    // The same protocol by hand: signed, sealed to the notary, bare armor in one frame.
    std::string frame = ot::envelope::seal({{n_enc.nym_id(), n_enc}}, ot::sign("MESSAGE", "<raw/>", c_auth)).to_armor(false);
    ot::bytes reply = s.exchange(frame);
    ot::envelope env = ot::envelope::from_armor(reply);
    CHECK(str(ot::verify(env.open(c_enc, ""), n_auth)) == "@<raw/>\n");
  }
  server.join();
  CHECK(served == n_requests + 1);
  ot::session_options once = ot::session_options::make();
  once.set("latency_receive_ms", 50).set("latency_receive_no_tries", 1).set("max_resends", 0).set("latency_delay_after", 0);
  ot::session lonely = ot::session::connect(endpoint, &once);
  expect_error(OT_ERR_TIMEOUT, [&] { lonely.exchange("nobody answers"); });
}

// Transport v2 through the wrappers: 8 pipelined requests answered in reverse order (each id once,
// each with its own content), a subscription and 5 pushes in sequence, fds and stats.
static void test_v2_pipelining_and_push() {
  const ot::key c_auth = ot::key::generate(1024), c_enc = ot::key::generate(1024);
  const ot::key n_auth = ot::key::generate(1024), n_enc = ot::key::generate(1024);
  const std::string n_id = n_auth.nym_id();
  ot::notary notary = ot::notary::bind("tcp://127.0.0.1:*", n_auth, n_enc, n_id);
  const std::string second = notary.add_endpoint("tcp://127.0.0.1:*");
  CHECK(second != notary.endpoint() && second.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(notary.fd() >= 0);
  const int n = 8;
  std::thread server([&] {
    std::vector<ot::request> held;
    while (static_cast<int>(held.size()) < n) {
      ot::result<ot::request> r = ot::nothrow::notary_receive(notary, 10000);
      if (!r) return;
      held.push_back(std::move(*r));
    }
    for (int i = n - 1; i >= 0; --i) notary.reply(held[i], "re:" + str(held[i].verify(c_auth)), &c_enc);
    ot::request sub = notary.receive(10000);
    CHECK(str(sub.verify(c_auth)) == "<subscribe/>\n");
    notary.register_push(sub, "nym-cxx", c_enc);
    notary.reply(sub, "subscribed", &c_enc);
  });
  ot::session_options v2 = ot::session_options::make();
  v2.set("protocol", OT_PROTOCOL_V2).set("latency_delay_after", 0);
  ot::session s = ot::session::connect(second, &v2);
  s.set_identity(c_auth, c_enc);
  s.set_notary(n_id, n_enc.public_key(), n_auth.public_key());
  CHECK(s.protocol() == OT_PROTOCOL_V2);
  CHECK(s.fd() >= 0);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back(s.send("req " + std::to_string(i)));
  CHECK(s.in_flight() == static_cast<std::size_t>(n) && ot::nothrow::session_in_flight(s) == s.in_flight());
  std::vector<int> seen(n, 0);
  for (int k = 0; k < n; ++k) {
    ot::completion c = s.receive(10000);
    CHECK(c.ok());
    for (int i = 0; i < n; ++i)
      if (ids[i] == c.id) {
        ++seen[i];
        CHECK(str(c.reply) == "re:req " + std::to_string(i) + "\n");
      }
  }
  for (int i = 0; i < n; ++i) CHECK(seen[i] == 1);
  CHECK(s.in_flight() == 0);
  ot::result<ot::completion> none = ot::nothrow::session_receive(s, 0);
  CHECK(!none && none.code() == OT_ERR_TIMEOUT);
  CHECK(str(s.subscribe("<subscribe/>\n")) == "subscribed\n");
  server.join();
  for (int k = 1; k <= 5; ++k) CHECK(notary.push("nym-cxx", "update " + std::to_string(k)) == 1);
  CHECK(notary.push("nobody", "x") == 0);
  for (int k = 1; k <= 5; ++k) {
    ot::push p = s.next_push(10000);
    CHECK(p.seq == static_cast<std::uint64_t>(k) && p.missed == 0);
    CHECK(str(p.content) == "update " + std::to_string(k) + "\n");
  }
  expect_error(OT_ERR_TIMEOUT, [&] { s.next_push(0); });
  ot_session_stats ss = s.stats();
  CHECK(ss.replies == static_cast<std::uint64_t>(n) + 1 && ss.timeouts == 0);
  ot_notary_stats ns = notary.stats();
  CHECK(ns.requests == static_cast<std::uint64_t>(n) + 1 && ns.replies == ns.requests && ns.pushes == 5);
  CHECK(s.counter("replies") == ss.replies && s.counter("pushes_invalid") == 0);
  // in_progress is a gauge the notary's thread publishes after each of its rounds: wait for it.
  for (int i = 0; i < 200 && notary.counter("in_progress") != 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(notary.counter("pushes") == 5 && notary.counter("in_progress") == 0);
  CHECK(ot::nothrow::session_counter(s, "nope").code() == OT_ERR_INVALID_ARGUMENT);
  // v2-only calls on a legacy session
  ot::session legacy = ot::session::connect("tcp://127.0.0.1:9");
  CHECK(legacy.protocol() == OT_PROTOCOL_LEGACY);
  legacy.set_identity(c_auth, c_enc);
  legacy.set_notary(n_id, n_enc.public_key(), n_auth.public_key());
  expect_error(OT_ERR_STATE, [&] { legacy.send("x"); }, "v2");
  CHECK(ot::nothrow::session_send(legacy, "x").code() == OT_ERR_STATE);
}

// A broker with one worker (notary::connect) on a thread: a v2 client's request goes through.
static void test_broker() {
  const ot::key c_auth = ot::key::generate(1024), c_enc = ot::key::generate(1024);
  const ot::key n_auth = ot::key::generate(1024), n_enc = ot::key::generate(1024);
  const std::string n_id = n_auth.nym_id();
  // A tcp backend admits only listed workers: bind() refuses it; bind_secure() takes the list.
  expect_error(OT_ERR_INVALID_ARGUMENT, [] { ot::broker::bind("tcp://127.0.0.1:*", "tcp://127.0.0.1:*"); },
               "admits only listed workers");
  const auto [backend_pub, backend_sec] = ot::curve_keypair();
  const auto [worker_pub, worker_sec] = ot::curve_keypair();
  CHECK(ot::curve_public(backend_sec) == backend_pub);
  ot::broker b = ot::broker::bind_secure("tcp://127.0.0.1:*", "tcp://127.0.0.1:*", backend_sec, "# none yet\n");
  b.allow_worker(worker_pub);
  CHECK(b.backend_public() == backend_pub);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { b.allow_worker("not a key"); }, "Z85");
  const std::string front = b.frontend(), back = ot::nothrow::broker_backend(b).value();
  CHECK(front != back && front.rfind("tcp://127.0.0.1:", 0) == 0);
  ot::session_options wo = ot::session_options::make();
  wo.set_curve_client(backend_pub, worker_pub, worker_sec);
  ot::notary worker = ot::notary::connect(back, n_auth, n_enc, n_id, &wo);
  // The broker's CURVE frontend, which the worker vouches for: the session below moves to it.
  const auto [curve_front, curve_key] = b.add_curve_frontend("tcp://127.0.0.1:*");
  CHECK(curve_key.size() == 40 && curve_front != front);
  worker.vouch_transport_key(curve_key, "tcp://*:" + curve_front.substr(curve_front.rfind(':') + 1),
                             static_cast<std::uint64_t>(std::time(nullptr)) + 3600);
  std::thread serve([&] {
    ot::result<ot::request> r = ot::nothrow::notary_receive(worker, 60000);  // slow under valgrind
    if (!r) return;
    worker.reply(*r, "worker:" + str(r->verify(c_auth)), &c_enc);
  });
  ot::session_options v2 = ot::session_options::make();
  v2.set("protocol", OT_PROTOCOL_V2).set("latency_delay_after", 0);
  ot::session s = ot::session::connect(front, &v2);
  s.set_identity(c_auth, c_enc);
  s.set_notary(n_id, n_enc.public_key(), n_auth.public_key());
  CHECK(str(s.request("via broker")) == "worker:via broker\n");
  CHECK(s.counter("curve") == 1);
  serve.join();
  // The broker's thread publishes its counters after each round of its loop: wait for them.
  ot_broker_stats st = b.stats();
  for (int i = 0; i < 200 && st.replies == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st = b.stats();
  }
  // Counters by name: every listed name answers; the struct's fields agree; unknown names fail.
  for (const std::string &name : ot::broker::counter_names()) (void)b.counter(name);
  CHECK(b.counter("requests") == st.requests && ot::broker::counter_names().size() >= 9);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { b.counter("no such counter"); }, "unknown counter");
  CHECK(worker.counter("replies") == worker.stats().replies);
  CHECK(ot::notary::counter_names().size() >= 18 && ot::session::counter_names().size() >= 9);
  // Options are enumerated from the library: every name is gettable.
  ot::session_options defaults = ot::session_options::make();
  for (const std::string &name : ot::session_options::names()) (void)defaults.get(name);
  CHECK(ot::session_options::names().size() >= 18 && ot::session_options::names()[0] == "latency_send_ms");
  CHECK(st.workers == 1 && st.requests >= 1 && st.replies >= 1 && st.dropped == 0);
  CHECK(worker.stats().replies == 1);
  CHECK(ot::nothrow::broker_new("not an endpoint", "tcp://127.0.0.1:*").code() != OT_OK);
  expect_error(OT_ERR_NULL_ARGUMENT, [] { ot::broker().stats(); });
}

// Suite v3: Ed25519/X25519 keys, SHA256D, a type-3 envelope, an Ed25519 signature.
static void test_suite_v3() {
  const ot::key ed = ot::key::generate_ed25519(), x = ot::key::generate_x25519();
  CHECK(ed.algorithm() == ot::algorithm::ed25519 && x.algorithm() == ot::algorithm::x25519);
  CHECK(ed.bits() == 256 && ed.is_private());
  const ot::sha256_digest once = ot::sha256("abc"), twice = ot::sha256d("abc");
  CHECK(ot::sha256(ot::bytes_view(once.data(), once.size())) == twice);
  CHECK(ot::id_of_v3("abc") == ot::id_encode(ot::bytes_view(twice.data(), twice.size())));
  const std::string text = ot::sign("MESSAGE", "v3\n", ed);
  CHECK(text.find("Hash: SHA256D") != std::string::npos);
  CHECK(ot::verify(text, ed.public_key()) == ot::bytes({'v', '3', '\n'}));
  const ot::envelope e = ot::envelope::seal({x}, std::string_view("a\0b", 3));
  CHECK(ot::envelope_type(e) == 3);
  CHECK(e.open(x) == ot::bytes({'a', 0, 'b'}));
  ot::result<ot::key> k = ot::nothrow::key_generate_x25519();
  CHECK(k.ok());
  ot::notary n = ot::notary::bind("tcp://127.0.0.1:*", ot::key::generate(1024), ot::key::generate(1024), "rsa-id");
  ot::notary_add_identity(n, ed, x, ed.nym_id());
  CHECK(!ot::nothrow::notary_add_identity(n, ed, x, std::string_view("a\0b", 3)).ok());
}

// From the files a legacy client already has: wallets, Nyms, contracts; a session to the notary
// of the 2013 contract, served by a notary configured from the server's own credential files.
static void test_credentials() {
  const std::string d13 = std::string(OT_TEST_DATA) + "/fixtures/legacy-0.89-2013/";
  const std::string dyeb = "DYEB6U7dcpbwdGrftPnslNKz76BDuBTFAjiAgKaiY2n", voeq = "voeqDVAJwDwROywFtg5mEyYpcu2dcPJRLFHYh7tyhqk";
  const ot::bytes ck = ot::wallet_master_key(read_file("fixtures/legacy-0.89-2013/client_data/wallet.xml"), "test");
  const ot::bytes nk = ot::wallet_master_key(read_file("fixtures/legacy-0.89-2013/server_data/notaryServer.xml"), "test");
  CHECK(ck.size() == 16 && nk.size() == 16 && ck != nk);
  expect_error(OT_ERR_BAD_PASSPHRASE, [] { ot::wallet_master_key(read_file("fixtures/legacy-0.89-2013/client_data/wallet.xml"), "x"); });
  const ot::nym me = ot::nym::load_dir(d13 + "client_data/credentials", dyeb, ot::bytes_view(ck));
  const ot::nym server = ot::nym::load_dir(d13 + "server_data/credentials", voeq, ot::bytes_view(nk));
  const ot::nym client_public = ot::nym::load_dir(d13 + "server_data/pubcred", dyeb);
  CHECK(me.is_private() && server.is_private() && !client_public.is_private());
  CHECK(me.nym_id() == dyeb && server.nym_id() == voeq);
  CHECK(me.key(ot::key_role::auth).is_private() && !client_public.key(ot::key_role::auth).is_private());
  CHECK(me.key(ot::key_role::encryption).nym_id() == client_public.key(ot::key_role::encryption).nym_id());
  const std::string list = read_file("fixtures/legacy-0.89-2013/server_data/pubcred/" + dyeb + ".cred");
  const std::string master = read_file("fixtures/legacy-0.89-2013/server_data/pubcred/" + dyeb + "/T5AMLPykOlzsCyuSq0sbm4oKp1o5Wifua0tHlkbAG0D");
  const std::string keycred = read_file("fixtures/legacy-0.89-2013/server_data/pubcred/" + dyeb + "/9jqBx8QXU42Vx5mFIRC0aUy1YhVECsPz2Wq9WYW1qKZ");
  CHECK(ot::nym::load(list, {keycred, master}).nym_id() == dyeb);
  expect_error(OT_ERR_BAD_SIGNATURE, [&] { ot::nym::load(list, {master}); }, "MISSING:");
  const ot::contract c = ot::contract::load(read_file("fixtures/legacy-0.89-2013/client_data/contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"));
  CHECK(c.id() == "r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG" && c.signer_id() == voeq);
  CHECK(c.endpoint() == "tcp://localhost:7085");
  CHECK(c.key(ot::key_role::signing).nym_id() == server.key(ot::key_role::signing).nym_id());
  const ot::contract asset = ot::contract::load(read_file("fixtures/legacy-0.89-2013/client_data/contracts/7f8nlUn795x8931JParRnmKAyw8cegRyBMcFg9FccaF"));
  expect_error(OT_ERR_STATE, [&] { (void)asset.endpoint(); });
  const std::string forged = ot::sign("CONTRACT", ot::signed_content(ot::armor_decode(read_file("fixtures/legacy-0.89-2013/client_data/contracts/r1fUoHwJOWCuK3WBAAySjmKYqsG6G2TYIxdqY6YNuuG"), ot::armor_kind::string)), server.key(ot::key_role::auth));
  expect_error(OT_ERR_BAD_SIGNATURE, [&] { ot::contract::load(forged); }, "CONTRACT_SIG:");
  // End to end.
  ot::notary n = ot::notary::bind("tcp://127.0.0.1:*", server);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { ot::notary::bind("tcp://127.0.0.1:*", client_public); });
  std::thread serving([&] {
    try {
      ot::request req = n.receive(20000);
      const ot::key a = client_public.key(ot::key_role::auth), e = client_public.key(ot::key_role::encryption);
      ot::bytes got = req.verify(a);
      got.insert(got.begin(), '@');
      n.reply(req, got, &e);
    } catch (const ot::error &e) {
      std::fprintf(stderr, "notary: %s\n", e.what());
    }
  });
  ot::session_options o = ot::session_options::make();
  o.set("latency_delay_after", 0).set("request_timeout_ms", 20000);
  ot::session s = ot::session::from_contract(c, n.endpoint(), &o);
  s.set_identity(me);
  CHECK(str(s.request("<legacy/>\n")) == "@<legacy/>\n");
  serving.join();
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { s.set_identity(client_public); });
  CHECK(ot::nothrow::session_new_from_contract(asset).code() == OT_ERR_STATE);
  CHECK(ot::nothrow::nym_load_dir(d13, std::string_view("a\0b", 3)).code() == OT_ERR_INVALID_ARGUMENT);
}

static void test_streams() {
  const ot::key a = ot::key::generate_x25519(), b = ot::key::generate_x25519();
  std::string msg(3 * 65536 + 123, 'x');
  for (std::size_t i = 0; i < msg.size(); ++i) msg[i] = static_cast<char>(i * 7);
  ot::stream_sealer s = ot::stream_sealer::init({{"a", a}, {"", b}});
  ot::bytes sealed;
  for (std::size_t off = 0; off < msg.size(); off += 50000) {
    ot::bytes part = s.update(std::string_view(msg).substr(off, 50000));
    sealed.insert(sealed.end(), part.begin(), part.end());
  }
  ot::bytes tail = s.final();
  sealed.insert(sealed.end(), tail.begin(), tail.end());
  expect_error(OT_ERR_STATE, [&] { s.update("more"); });
  for (const ot::key *k : {&a, &b}) {
    ot::stream_opener o = ot::stream_opener::init(*k, k == &a ? std::optional<std::string_view>("a") : std::nullopt);
    std::string back;
    for (std::size_t off = 0; off < sealed.size(); off += 70000) {
      ot::bytes p = o.update(ot::bytes_view(sealed.data() + off, std::min<std::size_t>(70000, sealed.size() - off)));
      back += str(p);
    }
    back += str(o.final());
    CHECK(back == msg);
  }
  // cut at a chunk boundary: the uniform error at the end
  ot::stream_opener o = ot::stream_opener::init(a, "a");
  std::size_t cut = sealed.size() - (123 + 16);
  CHECK(o.update(ot::bytes_view(sealed.data(), cut)).size() == 2 * 65536);
  const std::size_t hlen = o.header_len();
  expect_error(OT_ERR_DECRYPT_FAILED, [&] { o.final(); });
  // random access
  ot::stream_opener r = ot::stream_opener::init(a, "a");
  r.update(ot::bytes_view(sealed.data(), hlen));
  CHECK(str(r.open_chunk(1, ot::bytes_view(sealed.data() + hlen + 65552, 65552), false)) == msg.substr(65536, 65536));
  expect_error(OT_ERR_DECRYPT_FAILED, [&] { r.open_chunk(2, ot::bytes_view(sealed.data() + hlen + 65552, 65552), false); });
  // legacy keys are refused; nothrow forms give the code
  const ot::key rsa = ot::key::generate(1024);
  expect_error(OT_ERR_INVALID_ARGUMENT, [&] { ot::stream_sealer::init({rsa}); });
  CHECK(ot::nothrow::stream_open_init(rsa).code() == OT_ERR_INVALID_ARGUMENT);
}

int main() {
  const ot::key alice = ot::key::generate(1024), bob = ot::key::generate(1024);
  CHECK(ot::version() == ot_version() && std::get<0>(ot::zmq_version()) >= 4);
  test_keys(alice);
  test_envelopes(alice, bob);
  test_signed_armor_hashes(alice, bob);
  test_options();
  test_nothrow(alice, bob);
  test_legacy_2011_mail();
  test_exchange();
  test_v2_pipelining_and_push();
  test_broker();
  test_suite_v3();
  test_credentials();
  test_streams();
  std::printf("test_cxx_api: %d checks, %d passed, %d failed\n", checks, checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
