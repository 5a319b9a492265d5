/*
 * ot_transport.hpp - header-only C++17 wrappers of the C API in ot_transport.h.
 *
 * Written by hand over the generated C header (not generated); tested by c-tests/cxx/.
 *
 *  - Owners: ot::key, ot::envelope, ot::session_options, ot::session, ot::notary, ot::request,
 *    ot::broker, ot::nym and ot::contract each own one library handle, are move-only, and free it with the matching *_free in their
 *    destructor. get() gives the raw handle for the C functions; release() gives it up.
 *  - Inputs: ot::bytes_view (from std::string_view, std::string, const char *, a
 *    std::vector<std::uint8_t>/<char>, a std::array<std::uint8_t, N>, or pointer + length) and
 *    std::string_view for text. Text arguments containing a NUL character are refused
 *    (OT_ERR_INVALID_ARGUMENT) instead of being cut short.
 *  - Results: ot::bytes (std::vector<std::uint8_t>) for data, std::string for text (armor,
 *    signed text, IDs, keys), std::array for digests. Copied out of the library's buffers, which
 *    are zeroed as they are freed; the copies are the caller's to wipe (ot::secure_clear).
 *  - Errors, two flavours with the same functions:
 *      ot::...            throws ot::error (code() = the ot_result, detail() = ot_last_error()
 *                         text of the failing call, what() = both);
 *      ot::nothrow::...   returns ot::result<T>: ok(), code(), detail(), value(). Usable with
 *                         -fno-exceptions (then only ot::nothrow is declared). Allocation
 *                         failure still follows the standard library (std::bad_alloc, or
 *                         abort without exceptions).
 *  - Threads: as in the C API. Keys, envelopes and requests may be shared between threads
 *    (const member functions), and so may notaries and brokers; options and sessions are used by
 *    one thread at a time.
 *  - Transport v2 (pipelining with session::send/receive, server pushes with
 *    session::subscribe/next_push and notary::register_push/push, event-loop descriptors) and
 *    scale-out (ot::broker, worker notaries from notary::connect) are wrapped as well; stats are
 *    the C structs ot_session_stats / ot_notary_stats / ot_broker_stats.
 *  - From the files a legacy client already has (docs/credentials.md): ot::wallet_master_key,
 *    ot::nym::load / load_dir (verified credentials; key(ot::key_role::auth) ...),
 *    ot::contract::load (id, signer_id, endpoint, key), ot::session::from_contract,
 *    session::set_identity(const nym &), ot::notary::bind(endpoint, const nym &).
 */
#ifndef OT_TRANSPORT_HPP
#define OT_TRANSPORT_HPP

#include "ot_transport.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define OT_TRANSPORT_HPP_EXCEPTIONS 1
#include <stdexcept>
#else
#define OT_TRANSPORT_HPP_EXCEPTIONS 0
#endif

namespace ot {

using bytes = std::vector<std::uint8_t>;
using samy_digest = std::array<std::uint8_t, OT_SAMY_LEN>;
using sha256_digest = std::array<std::uint8_t, OT_SHA256_LEN>;
using whirlpool_digest = std::array<std::uint8_t, OT_WHIRLPOOL_LEN>;

/** Borrowed bytes (pointer + length) for inputs; never owns. */
class bytes_view {
 public:
  constexpr bytes_view() noexcept = default;
  constexpr bytes_view(const std::uint8_t *data, std::size_t size) noexcept : data_(data), size_(size) {}
  bytes_view(const char *text) noexcept : bytes_view(text ? std::string_view(text) : std::string_view()) {}
  bytes_view(std::string_view text) noexcept
      : data_(reinterpret_cast<const std::uint8_t *>(text.data())), size_(text.size()) {}
  bytes_view(const std::string &text) noexcept : bytes_view(std::string_view(text)) {}
  template <class Alloc>
  bytes_view(const std::vector<std::uint8_t, Alloc> &v) noexcept : data_(v.data()), size_(v.size()) {}
  template <class Alloc>
  bytes_view(const std::vector<char, Alloc> &v) noexcept
      : data_(reinterpret_cast<const std::uint8_t *>(v.data())), size_(v.size()) {}
  template <std::size_t N>
  bytes_view(const std::array<std::uint8_t, N> &a) noexcept : data_(a.data()), size_(N) {}

  constexpr const std::uint8_t *data() const noexcept { return data_; }
  constexpr std::size_t size() const noexcept { return size_; }
  constexpr bool empty() const noexcept { return size_ == 0; }

 private:
  const std::uint8_t *data_ = nullptr;
  std::size_t size_ = 0;
};

/** Overwrites a result that held secret material (plaintext, raw keys) and empties it. */
template <class Container>
inline void secure_clear(Container &c) noexcept {
  volatile auto *p = reinterpret_cast<volatile unsigned char *>(c.data());
  for (std::size_t i = 0; i < c.size() * sizeof(*c.data()); ++i) p[i] = 0;
  c.clear();
}

/** Armor path (OT_ARMOR_*). */
enum class armor_kind : ot_armor_kind { data = OT_ARMOR_DATA, string = OT_ARMOR_STRING };

/** Key export formats (OT_KEY_FORMAT_*). */
enum class key_format : ot_key_format {
  spki_pem = OT_KEY_FORMAT_SPKI_PEM,
  ot_public = OT_KEY_FORMAT_OT_PUBLIC,
  ot_public_unescaped = OT_KEY_FORMAT_OT_PUBLIC_UNESCAPED,
  pkcs8_encrypted = OT_KEY_FORMAT_PKCS8_ENCRYPTED,
  pkcs8_encrypted_legacy = OT_KEY_FORMAT_PKCS8_ENCRYPTED_LEGACY,
  pkcs8_plain = OT_KEY_FORMAT_PKCS8_PLAIN,
};

inline std::string version() { return ot_version(); }
inline std::string result_str(ot_result code) { return ot_result_str(static_cast<int>(code)); }
inline std::string last_error() { return ot_last_error(); }
inline std::tuple<int, int, int> zmq_version() noexcept {
  std::int32_t a = 0, b = 0, c = 0;
  ot_zmq_version(&a, &b, &c);
  return {a, b, c};
}

/** Move-only owner of one library handle, freed with Free. */
template <class T, void (*Free)(T *)>
class unique_handle {
 public:
  unique_handle() noexcept = default;
  explicit unique_handle(T *p) noexcept : p_(p) {}
  unique_handle(const unique_handle &) = delete;
  unique_handle &operator=(const unique_handle &) = delete;
  unique_handle(unique_handle &&o) noexcept : p_(o.release()) {}
  unique_handle &operator=(unique_handle &&o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  ~unique_handle() { reset(); }
  T *get() const noexcept { return p_; }
  T *release() noexcept { return std::exchange(p_, nullptr); }
  void reset(T *p = nullptr) noexcept { Free(std::exchange(p_, p)); }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T *p_ = nullptr;
};

/** The outcome of an ot::nothrow call: a value, or a code with the library's detail text. */
template <class T>
class result {
 public:
  result(T value) : code_(OT_OK), value_(std::move(value)) {}
  result(ot_result code, std::string detail) : code_(code), detail_(std::move(detail)) {}
  bool ok() const noexcept { return code_ == OT_OK; }
  explicit operator bool() const noexcept { return ok(); }
  ot_result code() const noexcept { return code_; }
  /** ot_last_error() text of the failing call ("" on success). */
  const std::string &detail() const noexcept { return detail_; }
  /** The value; must only be called when ok() (aborts otherwise). */
  T &value() & { return check(), *value_; }
  const T &value() const & { return check(), *value_; }
  T &&value() && { return check(), std::move(*value_); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T &&operator*() && { return std::move(*this).value(); }

 private:
  void check() const {
    if (!value_) std::abort();
  }
  ot_result code_;
  std::string detail_;
  std::optional<T> value_;
};

template <>
class result<void> {
 public:
  result() noexcept : code_(OT_OK) {}
  result(ot_result code, std::string detail) : code_(code), detail_(std::move(detail)) {}
  bool ok() const noexcept { return code_ == OT_OK; }
  explicit operator bool() const noexcept { return ok(); }
  ot_result code() const noexcept { return code_; }
  const std::string &detail() const noexcept { return detail_; }

 private:
  ot_result code_;
  std::string detail_;
};

namespace detail {

using buffer_owner = unique_handle<ot_buffer, ot_buffer_free>;

/** A failed call: the code and the calling thread's ot_last_error() text. */
struct failure {
  ot_result code;
  std::string text;
};

inline failure fail(ot_result rc) { return failure{rc, ot_last_error()}; }

template <class T>
inline result<T> err(const failure &f) {
  return result<T>(f.code, f.text);
}

/** NUL-terminated copy of a string_view; `ok` is false if the text contains a NUL. */
struct c_text {
  std::string s;
  bool ok = true;
  explicit c_text(std::string_view v) : s(v), ok(v.find('\0') == std::string_view::npos) {}
  const char *c_str() const noexcept { return s.c_str(); }
};

inline failure nul_in_text(const char *what) {
  return failure{OT_ERR_INVALID_ARGUMENT, std::string(what) + " contains a NUL character"};
}

inline bytes take_bytes(ot_buffer *b) {
  buffer_owner owner(b);
  const std::uint8_t *d = ot_buffer_data(b);
  return d ? bytes(d, d + ot_buffer_len(b)) : bytes();
}

inline std::string take_text(ot_buffer *b) {
  buffer_owner owner(b);
  const std::uint8_t *d = ot_buffer_data(b);
  return d ? std::string(reinterpret_cast<const char *>(d), ot_buffer_len(b)) : std::string();
}

/** Runs f(&out) and turns the buffer into bytes. */
template <class F>
inline result<bytes> call_bytes(F &&f) {
  ot_buffer *out = nullptr;
  ot_result rc = f(&out);
  if (rc != OT_OK) return err<bytes>(fail(rc));
  return take_bytes(out);
}

template <class F>
inline result<std::string> call_text(F &&f) {
  ot_buffer *out = nullptr;
  ot_result rc = f(&out);
  if (rc != OT_OK) return err<std::string>(fail(rc));
  return take_text(out);
}

inline result<void> call_void(ot_result rc) {
  if (rc != OT_OK) return err<void>(fail(rc));
  return {};
}

inline const std::uint8_t *opt_data(const std::optional<bytes_view> &v) noexcept {
  return v ? v->data() : nullptr;
}
inline std::size_t opt_size(const std::optional<bytes_view> &v) noexcept { return v ? v->size() : 0; }

}  // namespace detail

// ---- owners -------------------------------------------------------------------------------------

/** A key's algorithm (ot_key_algorithm). */
enum class algorithm : ot_algorithm {
  none = OT_KEY_ALGORITHM_NONE,
  rsa = OT_KEY_ALGORITHM_RSA,
  ed25519 = OT_KEY_ALGORITHM_ED25519,
  x25519 = OT_KEY_ALGORITHM_X25519
};

/** A key (ot_key): RSA (legacy suite), Ed25519 or X25519 (suite v3). Immutable: const members
 * may be called from many threads at once. */
class key {
 public:
  key() noexcept = default;
  explicit key(ot_key *adopt) noexcept : h_(adopt) {}
  ot_key *get() const noexcept { return h_.get(); }
  ot_key *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
  bool is_private() const noexcept { return ot_key_is_private(get()) == 1; }
  std::uint32_t bits() const noexcept { return ot_key_bits(get()); }
  ot::algorithm algorithm() const noexcept { return static_cast<ot::algorithm>(ot_key_algorithm(get())); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static key generate(std::uint32_t bits = 2048);
  /** A new Ed25519 key (suite v3: signs `Hash: SHA256D` texts). */
  static key generate_ed25519();
  /** A new X25519 key (suite v3: opens type-3 envelopes). */
  static key generate_x25519();
  static key load(bytes_view data, std::optional<bytes_view> passphrase = std::nullopt);
  std::string export_as(key_format format, std::optional<bytes_view> passphrase = std::nullopt) const;
  key public_key() const;
  std::string nym_id() const;
#endif

 private:
  unique_handle<ot_key, ot_key_free> h_;
};

/** A key role of a Nym or a contract's signer (ot_key_role). */
enum class key_role : ot_key_role {
  auth = OT_KEY_ROLE_AUTH,              /**< A: signs messages */
  encryption = OT_KEY_ROLE_ENCRYPTION,  /**< E: opens envelopes */
  signing = OT_KEY_ROLE_SIGNING         /**< S: signs contracts */
};

/** A verified 2013+ Nym loaded from its credential files (ot_nym): its key credential's keys,
 * private when loaded from private files with the wallet's master key. Immutable. */
class nym {
 public:
  nym() noexcept = default;
  explicit nym(ot_nym *adopt) noexcept : h_(adopt) {}
  ot_nym *get() const noexcept { return h_.get(); }
  ot_nym *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
  bool is_private() const noexcept { return ot_nym_is_private(get()) == 1; }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  /** From the <NymID>.cred list and the credential files' contents (any order). */
  static nym load(bytes_view credential_list, const std::vector<bytes_view> &credentials,
                  std::optional<bytes_view> passphrase = std::nullopt);
  /** From a legacy credentials folder (<dir>/<nym_id>.cred, <dir>/<nym_id>/<ID>). */
  static nym load_dir(std::string_view credentials_dir, std::string_view nym_id,
                      std::optional<bytes_view> passphrase = std::nullopt);
  std::string nym_id() const;
  ot::key key(key_role role) const;
#endif

 private:
  unique_handle<ot_nym, ot_nym_free> h_;
};

/** A signed contract whose signature verified through its signer (ot_contract). Immutable. */
class contract {
 public:
  contract() noexcept = default;
  explicit contract(ot_contract *adopt) noexcept : h_(adopt) {}
  ot_contract *get() const noexcept { return h_.get(); }
  ot_contract *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static contract load(bytes_view text);
  std::string id() const;
  /** The signer's NymID (a notary contract's: the notary's). */
  std::string signer_id() const;
  /** tcp://hostname:port; throws ot::error (OT_ERR_STATE) for an asset contract. */
  std::string endpoint() const;
  ot::key key(key_role role) const;
#endif

 private:
  unique_handle<ot_contract, ot_contract_free> h_;
};

/** One recipient of envelope::seal: the key, and the NymID written in the envelope (by default
 * the key's own NymID; "" for a key-only entry). The key is borrowed. */
struct recipient {
  recipient(const key &k) : k_(&k) {}  // NOLINT: implicit on purpose
  recipient(std::string_view nym_id, const key &k) : nym_(std::string(nym_id)), k_(&k) {}
  /* A recipient only points at its key: built from a temporary key it would dangle as soon as
   * the full expression ends (`std::vector<ot::recipient> to{ot::key::load(pem)}`). Refused at
   * compile time: keep the key in a variable. */
  recipient(key &&) = delete;
  recipient(std::string_view, key &&) = delete;
  std::optional<std::string> nym_;
  const key *k_;
};

/** A sealed envelope (ot_envelope). Immutable: shareable between threads. */
class envelope {
 public:
  envelope() noexcept = default;
  explicit envelope(ot_envelope *adopt) noexcept : h_(adopt) {}
  ot_envelope *get() const noexcept { return h_.get(); }
  ot_envelope *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
  /** Number of recipient entries (v0: 1, symmetric: 0). */
  std::size_t recipient_count() const noexcept { return ot_envelope_recipient_count(get()); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static envelope seal(const std::vector<recipient> &to, bytes_view plaintext);
  /** One step, no envelope object: the sealed bytes / armor, and the plaintext from bytes / armor. */
  static bytes seal_to_bytes(const std::vector<recipient> &to, bytes_view plaintext);
  static std::string seal_to_armor(const std::vector<recipient> &to, bytes_view plaintext, bool bookends = true);
  static bytes open_bytes(bytes_view data, const key &private_key,
                          std::optional<std::string_view> nym_id = std::nullopt);
  static bytes open_armor(bytes_view text, const key &private_key,
                          std::optional<std::string_view> nym_id = std::nullopt);
  static envelope parse(bytes_view data);
  static envelope from_armor(bytes_view text);
  static envelope encrypt_symmetric(bytes_view raw_key, bytes_view plaintext);
  bytes to_bytes() const;
  std::string to_armor(bool bookends = true) const;
  std::string recipient_id(std::size_t index) const;
  std::vector<std::string> recipient_ids() const;
  bytes open(const key &private_key, std::optional<std::string_view> nym_id = std::nullopt) const;
  bytes decrypt_symmetric(bytes_view raw_key) const;
#endif

 private:
  unique_handle<ot_envelope, ot_envelope_free> h_;
};

/** Transport options (legacy defaults). Copied by sessions and notaries. One thread at a time. */
class session_options {
 public:
  session_options() noexcept = default;  // empty: use nothrow::session_options_new or make()
  explicit session_options(ot_session_options *adopt) noexcept : h_(adopt) {}
  ot_session_options *get() const noexcept { return h_.get(); }
  ot_session_options *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
  /** Every option name set/get take, in table order (ot_session_option_name). */
  static std::vector<std::string> names() {
    std::vector<std::string> out;
    for (const char *n; (n = ot_session_option_name(out.size())) != nullptr;) out.emplace_back(n);
    return out;
  }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static session_options make();
  session_options &set(std::string_view name, std::int64_t value);
  std::int64_t get(std::string_view name) const;
  session_options &load_ini(bytes_view text);
  session_options &set_curve_server(std::string_view server_secret_z85);
  session_options &set_curve_client(std::string_view server_public_z85, std::string_view client_public_z85,
                                    std::string_view client_secret_z85);
#endif

 private:
  unique_handle<ot_session_options, ot_session_options_free> h_;
};

/** A finished v2 request (session::receive): its id, how it ended (OT_OK or the error
 * ot_session_request would have returned) and, when status is OT_OK, the verified reply. */
struct completion {
  std::uint64_t id = 0;
  ot_result status = OT_OK;
  bytes reply;
  bool ok() const noexcept { return status == OT_OK; }
};

/** A push from the notary (session::next_push): per-NymID sequence number (from 1), how many
 * were lost just before it (UINT64_MAX: the notary restarted, count unknown), the content. */
struct push {
  std::uint64_t seq = 0;
  std::uint64_t missed = 0;
  bytes content;
  /** The push's stream: the NymID its subscription registered (session::next_push fills it). */
  std::string stream;
};

/** A client session (legacy lock-step REQ, or v2 DEALER with pipelining and pushes). One
 * thread at a time. */
class session {
 public:
  session() noexcept = default;
  explicit session(ot_session *adopt) noexcept : h_(adopt) {}
  ot_session *get() const noexcept { return h_.get(); }
  ot_session *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static session connect(std::string_view endpoint, const session_options *options = nullptr);
  void set_identity(const key &auth_private, const key &encryption_private);
  void set_notary(std::string_view notary_nym_id, const key &encryption_public, const key &auth_public);
  /** A session to a verified contract's notary: endpoint (default: the contract's), NymID, A and
   * E keys in one call (ot_session_new_from_contract). */
  static session from_contract(const contract &c, std::optional<std::string_view> endpoint = std::nullopt,
                               const session_options *options = nullptr);
  /** The client's keys from a Nym loaded with its private keys (ot_session_set_identity_nym). */
  void set_identity(const nym &me);
  bytes request(bytes_view content);
  bytes exchange(bytes_view frame);
  /** OT_PROTOCOL_LEGACY or OT_PROTOCOL_V2 (with option protocol = 2 the first call probes). */
  ot_protocol protocol();
  /** v2: sends without waiting; the request's id (match it with receive()). */
  std::uint64_t send(bytes_view content);
  /** v2: the next finished request (its own status in completion::status: check it); throws
   * ot::error with OT_ERR_TIMEOUT when none finished within timeout_ms. */
  completion receive(std::uint32_t timeout_ms = forever);
  /** v2: sends a subscription, waits for and returns its reply; re-sent after reconnects. */
  bytes subscribe(bytes_view content);
  /** v2: the next push; throws ot::error with OT_ERR_TIMEOUT when none came in time. */
  push next_push(std::uint32_t timeout_ms = forever);
  /** ZMQ_FD for event loops (edge-triggered; see ot_session_fd). */
  int fd();
  ot_session_stats stats() const;
  /** One counter by name (ot_session_counter; counter_names() lists them). */
  std::uint64_t counter(std::string_view name) const;
  /** Every counter name ot_session_counter knows. */
  static std::vector<std::string> counter_names();
#endif
  /** Requests sent and not yet received (0 for an empty owner). */
  std::size_t in_flight() const noexcept { return ot_session_in_flight(get()); }
  static constexpr std::uint32_t forever = UINT32_MAX;

 private:
  unique_handle<ot_session, ot_session_free> h_;
};

/** A request received by a notary (opened, not verified). Immutable. */
class request {
 public:
  request() noexcept = default;
  explicit request(ot_request *adopt) noexcept : h_(adopt) {}
  ot_request *get() const noexcept { return h_.get(); }
  ot_request *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  /** The content without verifying the signature (to find the sender). */
  bytes content() const;
  /** Verifies with the sender's auth key; the verified content. */
  bytes verify(const key &sender_auth_public) const;
#endif

 private:
  unique_handle<ot_request, ot_request_free> h_;
};

/** A notary endpoint (ROUTER sockets that serve legacy REQ clients exactly as a REP notary did, and
 * v2 clients). Shareable: any number of threads may receive, reply and push at once. */
class notary {
 public:
  notary() noexcept = default;
  explicit notary(ot_notary *adopt) noexcept : h_(adopt) {}
  ot_notary *get() const noexcept { return h_.get(); }
  ot_notary *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
  static constexpr std::uint32_t forever = UINT32_MAX;
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static notary bind(std::string_view endpoint, const key &auth_private, const key &encryption_private,
                     std::string_view nym_id, const session_options *options = nullptr);
  /** A notary serving as a Nym loaded from its own private credential files
   * (ot_notary_new_from_nym). */
  static notary bind(std::string_view endpoint, const nym &self, const session_options *options = nullptr);
  std::string endpoint() const;
  /** Waits up to timeout_ms for a request; throws ot::error (OT_ERR_TIMEOUT, or the error of an
   * unreadable request, which the notary survives). */
  request receive(std::uint32_t timeout_ms = forever);
  /** Signs, seals to recipient_encryption_public (nullptr: legacy unencrypted MESSAGE), sends. */
  void reply(const request &req, bytes_view content, const key *recipient_encryption_public);
  /** A worker notary connected to a broker's backend (ot_notary_connect). */
  static notary connect(std::string_view backend_endpoint, const key &auth_private, const key &encryption_private,
                        std::string_view nym_id, const session_options *options = nullptr);
  /** Listens on one more endpoint with its own options (ot_notary_bind); the bound endpoint. */
  std::string add_endpoint(std::string_view endpoint, const session_options *options = nullptr);
  /** A CURVE endpoint under the notary's transport key, published to v2 sessions (ot_notary_bind_curve). */
  std::string add_curve_endpoint(std::string_view endpoint, const session_options *options = nullptr);
  /** Sets (or rotates) the notary's transport key (ot_notary_set_transport_key). */
  void set_transport_key(std::string_view secret_z85, std::uint64_t valid_until);
  /** The transport key's CURVE public key, Z85 (ot_notary_transport_key). */
  std::string transport_key() const;
  /** Vouches for its broker's CURVE frontend (ot_notary_vouch_transport_key). */
  void vouch_transport_key(std::string_view public_z85, std::string_view endpoint, std::uint64_t valid_until);
  /** Registers req's route for pushes to nym_id, sealed to subscriber_encryption_public. */
  void register_push(const request &req, std::string_view nym_id, const key &subscriber_encryption_public);
  /** Pushes content to nym_id's subscribers; how many routes it reached (0: nobody). */
  std::size_t push(std::string_view nym_id, bytes_view content);
  /** The first socket's ZMQ_FD (edge-triggered; see ot_notary_fd). */
  int fd() const;
  ot_notary_stats stats() const;
  /** One counter by name (ot_notary_counter; counter_names() lists them). */
  std::uint64_t counter(std::string_view name) const;
  /** Every counter name ot_notary_counter knows. */
  static std::vector<std::string> counter_names();
#endif

 private:
  unique_handle<ot_notary, ot_notary_free> h_;
};

/** A broker (ot_broker): clients connect to its frontend, worker notaries to its backend; runs on
 * its own thread until destroyed. Its getters may be called from any thread. */
class broker {
 public:
  broker() noexcept = default;
  explicit broker(ot_broker *adopt) noexcept : h_(adopt) {}
  ot_broker *get() const noexcept { return h_.get(); }
  ot_broker *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static broker bind(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                     const session_options *options = nullptr);
  /** A CURVE backend that admits only the listed workers (ot_broker_new_secure). */
  static broker bind_secure(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                            std::string_view backend_secret_z85, std::string_view workers,
                            const session_options *options = nullptr);
  /** bind_secure with the keys from files (ot_broker_new_from_files). */
  static broker bind_from_files(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                std::string_view key_file, std::string_view workers_file,
                                const session_options *options = nullptr);
  void allow_worker(std::string_view worker_public_z85) const;
  /** A CURVE-only frontend (ot_broker_bind_curve; empty secret: generated): (bound endpoint, public key). */
  std::pair<std::string, std::string> add_curve_frontend(std::string_view endpoint,
                                                         std::string_view secret_z85 = {}) const;
  std::string backend_public() const;
  std::string frontend() const;
  std::string backend() const;
  ot_broker_stats stats() const;
  /** One counter by name (ot_broker_counter; counter_names() lists them). */
  std::uint64_t counter(std::string_view name) const;
  /** Every counter name ot_broker_counter knows. */
  static std::vector<std::string> counter_names();
#endif

 private:
  unique_handle<ot_broker, ot_broker_free> h_;
};

// ---- the non-throwing API -----------------------------------------------------------------------

/** Seals a streaming envelope (type 4, X25519 recipients; docs/streaming-envelopes.md) a piece at
 * a time: update() returns the bytes to send next (the header first, then whole 64 KiB chunks;
 * often none), final() the rest. One thread at a time. */
class stream_sealer {
 public:
  stream_sealer() noexcept = default;
  explicit stream_sealer(ot_stream_sealer *adopt) noexcept : h_(adopt) {}
  ot_stream_sealer *get() const noexcept { return h_.get(); }
  ot_stream_sealer *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static stream_sealer init(const std::vector<recipient> &to);
  bytes update(bytes_view data);
  bytes final();
#endif

 private:
  unique_handle<ot_stream_sealer, ot_stream_sealer_free> h_;
};

/** Opens a streaming envelope a piece at a time: update() with the bytes as they arrive returns
 * the plaintext verified so far, final() the last of it. The stream is complete and authentic
 * only once final() has returned: do not act on the plaintext before. One thread at a time. */
class stream_opener {
 public:
  stream_opener() noexcept = default;
  explicit stream_opener(ot_stream_opener *adopt) noexcept : h_(adopt) {}
  ot_stream_opener *get() const noexcept { return h_.get(); }
  ot_stream_opener *release() noexcept { return h_.release(); }
  explicit operator bool() const noexcept { return bool(h_); }
#if OT_TRANSPORT_HPP_EXCEPTIONS
  static stream_opener init(const key &private_key, std::optional<std::string_view> nym_id = std::nullopt);
  bytes update(bytes_view data);
  bytes final();
  /** Random access once update() has read the header: chunk `index` alone (`last`: the final one). */
  bytes open_chunk(std::uint64_t index, bytes_view chunk, bool last);
  /** The header's length once update() has read it (the payload starts there). */
  std::size_t header_len() const;
#endif

 private:
  unique_handle<ot_stream_opener, ot_stream_opener_free> h_;
};

namespace nothrow {

inline result<key> key_generate(std::uint32_t bits = 2048) {
  ot_key *k = nullptr;
  if (ot_result rc = ot_key_generate(bits, &k)) return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<key> key_load(bytes_view data, std::optional<bytes_view> passphrase = std::nullopt) {
  ot_key *k = nullptr;
  if (ot_result rc = ot_key_load(data.data(), data.size(), detail::opt_data(passphrase), detail::opt_size(passphrase), &k))
    return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<std::string> key_export(const key &k, key_format format,
                                      std::optional<bytes_view> passphrase = std::nullopt) {
  return detail::call_text([&](ot_buffer **out) {
    return ot_key_export(k.get(), static_cast<ot_key_format>(format), detail::opt_data(passphrase),
                         detail::opt_size(passphrase), out);
  });
}

inline result<key> key_public(const key &k) {
  ot_key *p = nullptr;
  if (ot_result rc = ot_key_public(k.get(), &p)) return detail::err<key>(detail::fail(rc));
  return key(p);
}

inline result<std::string> key_nym_id(const key &k) {
  return detail::call_text([&](ot_buffer **out) { return ot_key_nym_id(k.get(), out); });
}

namespace impl {
/** The recipients as C structs; `ids` keeps their NymID texts alive. An error for a NUL in a NymID
 * or a key whose NymID cannot be read. */
inline result<std::vector<ot_recipient>> c_recipients(const std::vector<recipient> &to, std::vector<std::string> &ids) {
  ids.clear();
  ids.reserve(to.size());
  for (const recipient &r : to) {
    if (r.nym_) {
      if (r.nym_->find('\0') != std::string::npos)
        return detail::err<std::vector<ot_recipient>>(detail::nul_in_text("nym_id"));
      ids.push_back(*r.nym_);
    } else {
      result<std::string> id = key_nym_id(*r.k_);
      if (!id) return result<std::vector<ot_recipient>>(id.code(), id.detail());
      ids.push_back(std::move(id).value());
    }
  }
  std::vector<ot_recipient> c(to.size());
  for (std::size_t i = 0; i < to.size(); ++i) c[i] = ot_recipient{ids[i].c_str(), to[i].k_->get()};
  return c;
}
}  // namespace impl

inline result<envelope> envelope_seal(const std::vector<recipient> &to, bytes_view plaintext) {
  std::vector<std::string> ids;
  result<std::vector<ot_recipient>> c = impl::c_recipients(to, ids);
  if (!c) return result<envelope>(c.code(), c.detail());
  ot_envelope *e = nullptr;
  if (ot_result rc = ot_envelope_seal(c->data(), c->size(), plaintext.data(), plaintext.size(), &e))
    return detail::err<envelope>(detail::fail(rc));
  return envelope(e);
}

/** Seal straight into the envelope's bytes, in one step (ot_envelope_seal_to_bytes). */
inline result<bytes> envelope_seal_to_bytes(const std::vector<recipient> &to, bytes_view plaintext) {
  std::vector<std::string> ids;
  result<std::vector<ot_recipient>> c = impl::c_recipients(to, ids);
  if (!c) return result<bytes>(c.code(), c.detail());
  return detail::call_bytes([&](ot_buffer **out) {
    return ot_envelope_seal_to_bytes(c->data(), c->size(), plaintext.data(), plaintext.size(), out);
  });
}

/** Seal straight into armor, in one step (ot_envelope_seal_to_armor). */
inline result<std::string> envelope_seal_to_armor(const std::vector<recipient> &to, bytes_view plaintext,
                                                  bool bookends = true) {
  std::vector<std::string> ids;
  result<std::vector<ot_recipient>> c = impl::c_recipients(to, ids);
  if (!c) return result<std::string>(c.code(), c.detail());
  return detail::call_text([&](ot_buffer **out) {
    return ot_envelope_seal_to_armor(c->data(), c->size(), plaintext.data(), plaintext.size(), bookends ? 1 : 0, out);
  });
}

/** Open envelope bytes in one step (ot_envelope_open_bytes). */
inline result<bytes> envelope_open_bytes(bytes_view data, const key &private_key,
                                         std::optional<std::string_view> nym_id = std::nullopt) {
  std::optional<detail::c_text> id;
  if (nym_id) {
    id.emplace(*nym_id);
    if (!id->ok) return detail::err<bytes>(detail::nul_in_text("nym_id"));
  }
  return detail::call_bytes([&](ot_buffer **out) {
    return ot_envelope_open_bytes(data.data(), data.size(), id ? id->c_str() : nullptr, private_key.get(), out);
  });
}

/** Open an armored envelope in one step (ot_envelope_open_armor). */
inline result<bytes> envelope_open_armor(bytes_view text, const key &private_key,
                                         std::optional<std::string_view> nym_id = std::nullopt) {
  std::optional<detail::c_text> id;
  if (nym_id) {
    id.emplace(*nym_id);
    if (!id->ok) return detail::err<bytes>(detail::nul_in_text("nym_id"));
  }
  return detail::call_bytes([&](ot_buffer **out) {
    return ot_envelope_open_armor(text.data(), text.size(), id ? id->c_str() : nullptr, private_key.get(), out);
  });
}

inline result<envelope> envelope_parse(bytes_view data) {
  ot_envelope *e = nullptr;
  if (ot_result rc = ot_envelope_parse(data.data(), data.size(), &e)) return detail::err<envelope>(detail::fail(rc));
  return envelope(e);
}

inline result<envelope> envelope_from_armor(bytes_view text) {
  ot_envelope *e = nullptr;
  if (ot_result rc = ot_envelope_from_armor(text.data(), text.size(), &e))
    return detail::err<envelope>(detail::fail(rc));
  return envelope(e);
}

inline result<envelope> envelope_encrypt_symmetric(bytes_view raw_key, bytes_view plaintext) {
  ot_envelope *e = nullptr;
  if (ot_result rc = ot_envelope_encrypt_symmetric(raw_key.data(), raw_key.size(), plaintext.data(), plaintext.size(), &e))
    return detail::err<envelope>(detail::fail(rc));
  return envelope(e);
}

inline result<bytes> envelope_to_bytes(const envelope &e) {
  return detail::call_bytes([&](ot_buffer **out) { return ot_envelope_to_bytes(e.get(), out); });
}

inline result<std::string> envelope_to_armor(const envelope &e, bool bookends = true) {
  return detail::call_text([&](ot_buffer **out) { return ot_envelope_to_armor(e.get(), bookends ? 1 : 0, out); });
}

/** The envelope's type field: 0 (2011 v0), 1 (v1), 2 (symmetric), 3 (suite v3). */
inline result<std::int32_t> envelope_type(const envelope &e) {
  std::int32_t t = 0;
  if (ot_result rc = ot_envelope_type(e.get(), &t)) return detail::err<std::int32_t>(detail::fail(rc));
  return t;
}

inline result<key> key_generate_ed25519() {
  ot_key *k = nullptr;
  if (ot_result rc = ot_key_generate_ed25519(&k)) return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<key> key_generate_x25519() {
  ot_key *k = nullptr;
  if (ot_result rc = ot_key_generate_x25519(&k)) return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<std::string> envelope_recipient_id(const envelope &e, std::size_t index) {
  return detail::call_text([&](ot_buffer **out) { return ot_envelope_recipient_id(e.get(), index, out); });
}

inline result<bytes> envelope_open(const envelope &e, const key &private_key,
                                   std::optional<std::string_view> nym_id = std::nullopt) {
  std::optional<detail::c_text> id;
  if (nym_id) {
    id.emplace(*nym_id);
    if (!id->ok) return detail::err<bytes>(detail::nul_in_text("nym_id"));
  }
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_envelope_open(e.get(), id ? id->c_str() : nullptr, private_key.get(), out); });
}

inline result<bytes> envelope_decrypt_symmetric(const envelope &e, bytes_view raw_key) {
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_envelope_decrypt_symmetric(e.get(), raw_key.data(), raw_key.size(), out); });
}

inline result<std::string> armor_encode(bytes_view data, armor_kind kind = armor_kind::data,
                                        std::optional<std::string_view> bookend = std::nullopt) {
  std::optional<detail::c_text> b;
  if (bookend) {
    b.emplace(*bookend);
    if (!b->ok) return detail::err<std::string>(detail::nul_in_text("bookend"));
  }
  return detail::call_text([&](ot_buffer **out) {
    return ot_armor_encode(data.data(), data.size(), static_cast<ot_armor_kind>(kind), b ? b->c_str() : nullptr, out);
  });
}

inline result<bytes> armor_decode(bytes_view text, armor_kind kind = armor_kind::data) {
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_armor_decode(text.data(), text.size(), static_cast<ot_armor_kind>(kind), out); });
}

inline result<samy_digest> samy(bytes_view data) {
  samy_digest d{};
  if (ot_result rc = ot_hash_samy(data.data(), data.size(), d.data())) return detail::err<samy_digest>(detail::fail(rc));
  return d;
}

/** SHA-256(SHA-256(data)): the suite v3 hash. */
inline result<sha256_digest> sha256d(bytes_view data) {
  sha256_digest d{};
  if (ot_result rc = ot_hash_sha256d(data.data(), data.size(), d.data()))
    return detail::err<sha256_digest>(detail::fail(rc));
  return d;
}

/** base62(SHA256D(data)): the suite v3 identifier. */
inline result<std::string> id_of_v3(bytes_view data) {
  return detail::call_text([&](ot_buffer **out) { return ot_id_of_v3(data.data(), data.size(), out); });
}

inline result<sha256_digest> sha256(bytes_view data) {
  sha256_digest d{};
  if (ot_result rc = ot_hash_sha256(data.data(), data.size(), d.data()))
    return detail::err<sha256_digest>(detail::fail(rc));
  return d;
}

inline result<whirlpool_digest> whirlpool(bytes_view data) {
  whirlpool_digest d{};
  if (ot_result rc = ot_hash_whirlpool(data.data(), data.size(), d.data()))
    return detail::err<whirlpool_digest>(detail::fail(rc));
  return d;
}

inline result<std::string> id_encode(bytes_view data) {
  return detail::call_text([&](ot_buffer **out) { return ot_id_encode(data.data(), data.size(), out); });
}

inline result<bytes> id_decode(std::string_view id) {
  detail::c_text t(id);
  if (!t.ok) return detail::err<bytes>(detail::nul_in_text("id"));
  return detail::call_bytes([&](ot_buffer **out) { return ot_id_decode(t.c_str(), out); });
}

inline result<std::string> id_of(bytes_view data) {
  return detail::call_text([&](ot_buffer **out) { return ot_id_of(data.data(), data.size(), out); });
}

inline result<std::string> sign(std::string_view doc_type, bytes_view content, const key &signer,
                                std::optional<std::string_view> meta = std::nullopt) {
  detail::c_text t(doc_type);
  if (!t.ok) return detail::err<std::string>(detail::nul_in_text("doc_type"));
  std::optional<detail::c_text> m;
  if (meta) {
    m.emplace(*meta);
    if (!m->ok) return detail::err<std::string>(detail::nul_in_text("meta"));
  }
  return detail::call_text([&](ot_buffer **out) {
    return ot_signed_create(t.c_str(), content.data(), content.size(), signer.get(), m ? m->c_str() : nullptr, out);
  });
}

inline result<bytes> verify(bytes_view text, const key &signer_public) {
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_signed_verify(text.data(), text.size(), signer_public.get(), out); });
}

inline result<bytes> signed_content(bytes_view text) {
  return detail::call_bytes([&](ot_buffer **out) { return ot_signed_content(text.data(), text.size(), out); });
}

inline result<bytes> symkey_unlock(bytes_view serialized, bytes_view passphrase) {
  return detail::call_bytes([&](ot_buffer **out) {
    return ot_symkey_unlock(serialized.data(), serialized.size(), passphrase.data(), passphrase.size(), out);
  });
}

/** A CURVE key pair as Z85 text: (public, secret). */
inline result<std::pair<std::string, std::string>> curve_keypair() {
  ot_buffer *pub = nullptr, *sec = nullptr;
  if (ot_result rc = ot_curve_keypair(&pub, &sec))
    return detail::err<std::pair<std::string, std::string>>(detail::fail(rc));
  std::string p = detail::take_text(pub);
  std::string s = detail::take_text(sec);
  return std::make_pair(std::move(p), std::move(s));
}

/** The CURVE public key (Z85) of a CURVE secret key (Z85) (ot_curve_public). */
inline result<std::string> curve_public(std::string_view secret_z85) {
  detail::c_text s(secret_z85);
  if (!s.ok) return detail::err<std::string>(detail::nul_in_text("key"));
  return detail::call_text([&](ot_buffer **out) { return ot_curve_public(s.c_str(), out); });
}

inline result<session_options> session_options_new() {
  ot_session_options *o = nullptr;
  if (ot_result rc = ot_session_options_new(&o)) return detail::err<session_options>(detail::fail(rc));
  return session_options(o);
}

inline result<void> session_options_set(session_options &o, std::string_view name, std::int64_t value) {
  detail::c_text n(name);
  if (!n.ok) return detail::err<void>(detail::nul_in_text("name"));
  return detail::call_void(ot_session_options_set(o.get(), n.c_str(), value));
}

inline result<std::int64_t> session_options_get(const session_options &o, std::string_view name) {
  detail::c_text n(name);
  if (!n.ok) return detail::err<std::int64_t>(detail::nul_in_text("name"));
  std::int64_t v = 0;
  if (ot_result rc = ot_session_options_get(o.get(), n.c_str(), &v)) return detail::err<std::int64_t>(detail::fail(rc));
  return v;
}

inline result<void> session_options_load_ini(session_options &o, bytes_view text) {
  return detail::call_void(ot_session_options_load_ini(o.get(), text.data(), text.size()));
}

inline result<void> session_options_set_curve_server(session_options &o, std::string_view server_secret_z85) {
  detail::c_text s(server_secret_z85);
  if (!s.ok) return detail::err<void>(detail::nul_in_text("key"));
  return detail::call_void(ot_session_options_set_curve_server(o.get(), s.c_str()));
}

inline result<void> session_options_set_curve_client(session_options &o, std::string_view server_public_z85,
                                                     std::string_view client_public_z85,
                                                     std::string_view client_secret_z85) {
  detail::c_text a(server_public_z85), b(client_public_z85), c(client_secret_z85);
  if (!a.ok || !b.ok || !c.ok) return detail::err<void>(detail::nul_in_text("key"));
  return detail::call_void(ot_session_options_set_curve_client(o.get(), a.c_str(), b.c_str(), c.c_str()));
}

inline result<session> session_new(std::string_view endpoint, const session_options *options = nullptr) {
  detail::c_text e(endpoint);
  if (!e.ok) return detail::err<session>(detail::nul_in_text("endpoint"));
  ot_session *s = nullptr;
  if (ot_result rc = ot_session_new(e.c_str(), options ? options->get() : nullptr, &s))
    return detail::err<session>(detail::fail(rc));
  return session(s);
}

inline result<void> session_set_identity(session &s, const key &auth_private, const key &encryption_private) {
  return detail::call_void(ot_session_set_identity(s.get(), auth_private.get(), encryption_private.get()));
}

inline result<void> session_set_notary(session &s, std::string_view notary_nym_id, const key &encryption_public,
                                       const key &auth_public) {
  detail::c_text n(notary_nym_id);
  if (!n.ok) return detail::err<void>(detail::nul_in_text("nym_id"));
  return detail::call_void(ot_session_set_notary(s.get(), n.c_str(), encryption_public.get(), auth_public.get()));
}

inline result<bytes> session_request(session &s, bytes_view content) {
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_session_request(s.get(), content.data(), content.size(), out); });
}

inline result<bytes> session_exchange(session &s, bytes_view frame) {
  return detail::call_bytes([&](ot_buffer **out) { return ot_session_exchange(s.get(), frame.data(), frame.size(), out); });
}

inline result<notary> notary_new(std::string_view endpoint, const key &auth_private, const key &encryption_private,
                                 std::string_view nym_id, const session_options *options = nullptr) {
  detail::c_text e(endpoint), n(nym_id);
  if (!e.ok || !n.ok) return detail::err<notary>(detail::nul_in_text(e.ok ? "nym_id" : "endpoint"));
  ot_notary *p = nullptr;
  if (ot_result rc = ot_notary_new(e.c_str(), auth_private.get(), encryption_private.get(), n.c_str(),
                                   options ? options->get() : nullptr, &p))
    return detail::err<notary>(detail::fail(rc));
  return notary(p);
}

inline result<std::string> notary_endpoint(const notary &n) {
  return detail::call_text([&](ot_buffer **out) { return ot_notary_endpoint(n.get(), out); });
}

inline result<request> notary_receive(notary &n, std::uint32_t timeout_ms = notary::forever) {
  ot_request *r = nullptr;
  if (ot_result rc = ot_notary_receive(n.get(), timeout_ms, &r)) return detail::err<request>(detail::fail(rc));
  return request(r);
}

/** Serves one more identity (e.g. suite v3 next to RSA) on the notary's endpoints. */
inline result<void> notary_add_identity(notary &n, const key &auth_private, const key &encryption_private,
                                        std::string_view nym_id) {
  detail::c_text id(nym_id);
  if (!id.ok) return detail::err<void>(detail::nul_in_text("nym_id"));
  return detail::call_void(ot_notary_add_identity(n.get(), auth_private.get(), encryption_private.get(), id.c_str()));
}

inline result<void> notary_reply(notary &n, const request &req, bytes_view content,
                                 const key *recipient_encryption_public) {
  return detail::call_void(ot_notary_reply(n.get(), req.get(), content.data(), content.size(),
                                           recipient_encryption_public ? recipient_encryption_public->get() : nullptr));
}

inline result<bytes> request_content(const request &r) {
  return detail::call_bytes([&](ot_buffer **out) { return ot_request_content(r.get(), out); });
}

inline result<bytes> request_verify(const request &r, const key &sender_auth_public) {
  return detail::call_bytes([&](ot_buffer **out) { return ot_request_verify(r.get(), sender_auth_public.get(), out); });
}

inline result<ot_protocol> session_protocol(session &s) {
  ot_protocol p = OT_PROTOCOL_LEGACY;
  if (ot_result rc = ot_session_protocol(s.get(), &p)) return detail::err<ot_protocol>(detail::fail(rc));
  return p;
}

inline result<std::uint64_t> session_send(session &s, bytes_view content) {
  std::uint64_t id = 0;
  if (ot_result rc = ot_session_send(s.get(), content.data(), content.size(), &id))
    return detail::err<std::uint64_t>(detail::fail(rc));
  return id;
}

/** v2: sends `frame` as it is (nothing signed or sealed) without waiting; session_receive hands
 * its reply frame over as it came. */
inline result<std::uint64_t> session_send_frame(session &s, bytes_view frame) {
  std::uint64_t id = 0;
  if (ot_result rc = ot_session_send_frame(s.get(), frame.data(), frame.size(), &id))
    return detail::err<std::uint64_t>(detail::fail(rc));
  return id;
}

/** ok() with a completion when a request finished (check completion::status), OT_ERR_TIMEOUT
 * when none did within timeout_ms. */
inline result<completion> session_receive(session &s, std::uint32_t timeout_ms = session::forever) {
  completion c;
  ot_buffer *reply = nullptr;
  if (ot_result rc = ot_session_receive(s.get(), timeout_ms, &c.id, &c.status, &reply))
    return detail::err<completion>(detail::fail(rc));
  if (reply) c.reply = detail::take_bytes(reply);
  return c;
}

inline result<bytes> session_subscribe(session &s, bytes_view content) {
  return detail::call_bytes(
      [&](ot_buffer **out) { return ot_session_subscribe(s.get(), content.data(), content.size(), out); });
}

inline result<push> session_next_push(session &s, std::uint32_t timeout_ms = session::forever) {
  push p;
  ot_buffer *content = nullptr;
  if (ot_result rc = ot_session_next_push(s.get(), timeout_ms, &p.seq, &p.missed, &content))
    return detail::err<push>(detail::fail(rc));
  p.content = detail::take_bytes(content);
  return p;
}

/** The next push with its stream (ot_session_next_push_from). */
inline result<push> session_next_push_from(session &s, std::uint32_t timeout_ms = session::forever) {
  push p;
  ot_buffer *stream = nullptr, *content = nullptr;
  if (ot_result rc = ot_session_next_push_from(s.get(), timeout_ms, &p.seq, &p.missed, &stream, &content))
    return detail::err<push>(detail::fail(rc));
  const bytes name = detail::take_bytes(stream);
  p.stream.assign(name.begin(), name.end());
  p.content = detail::take_bytes(content);
  return p;
}

inline result<int> session_fd(session &s) {
  std::int32_t fd = -1;
  if (ot_result rc = ot_session_fd(s.get(), &fd)) return detail::err<int>(detail::fail(rc));
  return static_cast<int>(fd);
}

inline std::size_t session_in_flight(const session &s) noexcept { return ot_session_in_flight(s.get()); }

inline result<ot_session_stats> session_get_stats(const session &s) {
  ot_session_stats st{};
  if (ot_result rc = ot_session_get_stats(s.get(), &st)) return detail::err<ot_session_stats>(detail::fail(rc));
  return st;
}

/** The body of the *_counter wrappers: counter `name` of `h` through the C function `fn`. */
template <class H>
inline result<std::uint64_t> counter_of(ot_result (*fn)(const H *, const char *, uint64_t *), const H *h,
                                        std::string_view name) {
  detail::c_text n(name);
  if (!n.ok) return detail::err<std::uint64_t>(detail::nul_in_text("name"));
  std::uint64_t v = 0;
  if (ot_result rc = fn(h, n.c_str(), &v)) return detail::err<std::uint64_t>(detail::fail(rc));
  return v;
}
/** Every name of a *_counter_name function, in order. */
inline std::vector<std::string> counter_names_of(const char *(*fn)(size_t)) {
  std::vector<std::string> out;
  for (const char *n; (n = fn(out.size())) != nullptr;) out.emplace_back(n);
  return out;
}

/** One of a session's counters by name (ot_session_counter). */
inline result<std::uint64_t> session_counter(const session &s, std::string_view name) {
  return counter_of(ot_session_counter, s.get(), name);
}
/** Every name ot_session_counter knows (ot_session_counter_name). */
inline std::vector<std::string> session_counter_names() { return counter_names_of(ot_session_counter_name); }

inline result<std::string> notary_bind(notary &n, std::string_view endpoint, const session_options *options = nullptr) {
  detail::c_text e(endpoint);
  if (!e.ok) return detail::err<std::string>(detail::nul_in_text("endpoint"));
  return detail::call_text(
      [&](ot_buffer **out) { return ot_notary_bind(n.get(), e.c_str(), options ? options->get() : nullptr, out); });
}

inline result<std::string> notary_bind_curve(notary &n, std::string_view endpoint,
                                             const session_options *options = nullptr) {
  detail::c_text e(endpoint);
  if (!e.ok) return detail::err<std::string>(detail::nul_in_text("endpoint"));
  return detail::call_text(
      [&](ot_buffer **out) { return ot_notary_bind_curve(n.get(), e.c_str(), options ? options->get() : nullptr, out); });
}

inline result<void> notary_set_transport_key(notary &n, std::string_view secret_z85, std::uint64_t valid_until) {
  detail::c_text s(secret_z85);
  if (!s.ok) return detail::err<void>(detail::nul_in_text("key"));
  return detail::call_void(ot_notary_set_transport_key(n.get(), s.c_str(), valid_until));
}

inline result<void> notary_vouch_transport_key(notary &n, std::string_view public_z85, std::string_view endpoint,
                                               std::uint64_t valid_until) {
  detail::c_text k(public_z85), e(endpoint);
  if (!k.ok || !e.ok) return detail::err<void>(detail::nul_in_text("key or endpoint"));
  return detail::call_void(ot_notary_vouch_transport_key(n.get(), k.c_str(), e.c_str(), valid_until));
}

inline result<std::string> notary_transport_key(const notary &n) {
  return detail::call_text([&](ot_buffer **out) { return ot_notary_transport_key(n.get(), out); });
}

inline result<void> notary_register_push(notary &n, const request &req, std::string_view nym_id,
                                         const key &subscriber_encryption_public) {
  detail::c_text id(nym_id);
  if (!id.ok) return detail::err<void>(detail::nul_in_text("nym_id"));
  return detail::call_void(ot_notary_register_push(n.get(), req.get(), id.c_str(), subscriber_encryption_public.get()));
}

inline result<std::size_t> notary_push(notary &n, std::string_view nym_id, bytes_view content) {
  detail::c_text id(nym_id);
  if (!id.ok) return detail::err<std::size_t>(detail::nul_in_text("nym_id"));
  std::size_t delivered = 0;
  if (ot_result rc = ot_notary_push(n.get(), id.c_str(), content.data(), content.size(), &delivered))
    return detail::err<std::size_t>(detail::fail(rc));
  return delivered;
}

inline result<int> notary_fd(const notary &n) {
  std::int32_t fd = -1;
  if (ot_result rc = ot_notary_fd(n.get(), &fd)) return detail::err<int>(detail::fail(rc));
  return static_cast<int>(fd);
}

inline result<notary> notary_connect(std::string_view backend_endpoint, const key &auth_private,
                                     const key &encryption_private, std::string_view nym_id,
                                     const session_options *options = nullptr) {
  detail::c_text e(backend_endpoint), n(nym_id);
  if (!e.ok || !n.ok) return detail::err<notary>(detail::nul_in_text(e.ok ? "nym_id" : "endpoint"));
  ot_notary *p = nullptr;
  if (ot_result rc = ot_notary_connect(e.c_str(), auth_private.get(), encryption_private.get(), n.c_str(),
                                       options ? options->get() : nullptr, &p))
    return detail::err<notary>(detail::fail(rc));
  return notary(p);
}

/** One of a notary's counters by name (ot_notary_counter). */
inline result<std::uint64_t> notary_counter(const notary &n, std::string_view name) {
  return counter_of(ot_notary_counter, n.get(), name);
}
/** Every name ot_notary_counter knows (ot_notary_counter_name). */
inline std::vector<std::string> notary_counter_names() { return counter_names_of(ot_notary_counter_name); }

inline result<ot_notary_stats> notary_get_stats(const notary &n) {
  ot_notary_stats st{};
  if (ot_result rc = ot_notary_get_stats(n.get(), &st)) return detail::err<ot_notary_stats>(detail::fail(rc));
  return st;
}

inline result<broker> broker_new(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                 const session_options *options = nullptr) {
  detail::c_text f(frontend_endpoint), b(backend_endpoint);
  if (!f.ok || !b.ok) return detail::err<broker>(detail::nul_in_text("endpoint"));
  ot_broker *p = nullptr;
  if (ot_result rc = ot_broker_new(f.c_str(), b.c_str(), options ? options->get() : nullptr, &p))
    return detail::err<broker>(detail::fail(rc));
  return broker(p);
}

/** A broker whose CURVE backend admits only the listed workers (ot_broker_new_secure): `workers`
 * is a worker list (one Z85 public key per line, optional names, # comment lines). */
inline result<broker> broker_new_secure(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                        std::string_view backend_secret_z85, std::string_view workers,
                                        const session_options *options = nullptr) {
  detail::c_text f(frontend_endpoint), b(backend_endpoint), s(backend_secret_z85), w(workers);
  if (!f.ok || !b.ok) return detail::err<broker>(detail::nul_in_text("endpoint"));
  if (!s.ok || !w.ok) return detail::err<broker>(detail::nul_in_text("key"));
  ot_broker *p = nullptr;
  if (ot_result rc = ot_broker_new_secure(f.c_str(), b.c_str(), options ? options->get() : nullptr, s.c_str(),
                                          w.c_str(), &p))
    return detail::err<broker>(detail::fail(rc));
  return broker(p);
}

/** ot_broker_new_secure with the keys from files (ot_broker_new_from_files; ot-broker --key --workers). */
inline result<broker> broker_new_from_files(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                            std::string_view key_file, std::string_view workers_file,
                                            const session_options *options = nullptr) {
  detail::c_text f(frontend_endpoint), b(backend_endpoint), k(key_file), w(workers_file);
  if (!f.ok || !b.ok) return detail::err<broker>(detail::nul_in_text("endpoint"));
  if (!k.ok || !w.ok) return detail::err<broker>(detail::nul_in_text("file name"));
  ot_broker *p = nullptr;
  if (ot_result rc = ot_broker_new_from_files(f.c_str(), b.c_str(), options ? options->get() : nullptr, k.c_str(),
                                              w.c_str(), &p))
    return detail::err<broker>(detail::fail(rc));
  return broker(p);
}

/** Adds a worker's CURVE public key to a secure broker's allow-list (ot_broker_allow_worker). */
inline result<void> broker_allow_worker(const broker &b, std::string_view worker_public_z85) {
  detail::c_text k(worker_public_z85);
  if (!k.ok) return detail::err<void>(detail::nul_in_text("key"));
  return detail::call_void(ot_broker_allow_worker(b.get(), k.c_str()));
}

/** A CURVE-only frontend (ot_broker_bind_curve); an empty secret: one is generated. */
inline result<std::pair<std::string, std::string>> broker_bind_curve(const broker &b, std::string_view endpoint,
                                                                      std::string_view secret_z85 = {}) {
  using pair = std::pair<std::string, std::string>;
  detail::c_text e(endpoint), s(secret_z85);
  if (!e.ok || !s.ok) return detail::err<pair>(detail::nul_in_text("endpoint or key"));
  ot_buffer *bound = nullptr, *pub = nullptr;
  if (ot_result rc = ot_broker_bind_curve(b.get(), e.c_str(), secret_z85.empty() ? nullptr : s.c_str(), &bound, &pub))
    return detail::err<pair>(detail::fail(rc));
  std::string x = detail::take_text(bound);
  std::string y = detail::take_text(pub);
  return std::make_pair(std::move(x), std::move(y));
}

/** The backend's CURVE public key, Z85 (ot_broker_backend_public). */
inline result<std::string> broker_backend_public(const broker &b) {
  return detail::call_text([&](ot_buffer **out) { return ot_broker_backend_public(b.get(), out); });
}

inline result<std::string> broker_frontend(const broker &b) {
  return detail::call_text([&](ot_buffer **out) { return ot_broker_frontend(b.get(), out); });
}

inline result<std::string> broker_backend(const broker &b) {
  return detail::call_text([&](ot_buffer **out) { return ot_broker_backend(b.get(), out); });
}

/** One of a broker's counters by name (ot_broker_counter). */
inline result<std::uint64_t> broker_counter(const broker &b, std::string_view name) {
  return counter_of(ot_broker_counter, b.get(), name);
}
/** Every name ot_broker_counter knows (ot_broker_counter_name). */
inline std::vector<std::string> broker_counter_names() { return counter_names_of(ot_broker_counter_name); }

inline result<ot_broker_stats> broker_get_stats(const broker &b) {
  ot_broker_stats st{};
  if (ot_result rc = ot_broker_get_stats(b.get(), &st)) return detail::err<ot_broker_stats>(detail::fail(rc));
  return st;
}

// credentials, contracts, wallets (docs/credentials.md)

inline result<bytes> wallet_master_key(bytes_view wallet, bytes_view passphrase) {
  return detail::call_bytes([&](ot_buffer **out) {
    return ot_wallet_master_key(wallet.data(), wallet.size(), passphrase.data(), passphrase.size(), out);
  });
}

inline result<nym> nym_load(bytes_view credential_list, const std::vector<bytes_view> &credentials,
                            std::optional<bytes_view> passphrase = std::nullopt) {
  std::vector<ot_slice> s;
  s.reserve(credentials.size());
  for (const bytes_view &c : credentials) s.push_back(ot_slice{c.data(), c.size()});
  ot_nym *n = nullptr;
  if (ot_result rc = ot_nym_load(credential_list.data(), credential_list.size(), s.data(), s.size(),
                                 detail::opt_data(passphrase), detail::opt_size(passphrase), &n))
    return detail::err<nym>(detail::fail(rc));
  return nym(n);
}

inline result<nym> nym_load_dir(std::string_view credentials_dir, std::string_view nym_id,
                                std::optional<bytes_view> passphrase = std::nullopt) {
  detail::c_text d(credentials_dir), id(nym_id);
  if (!d.ok || !id.ok) return detail::err<nym>(detail::nul_in_text(d.ok ? "nym_id" : "credentials_dir"));
  ot_nym *n = nullptr;
  if (ot_result rc = ot_nym_load_dir(d.c_str(), id.c_str(), detail::opt_data(passphrase),
                                     detail::opt_size(passphrase), &n))
    return detail::err<nym>(detail::fail(rc));
  return nym(n);
}

inline result<std::string> nym_id(const nym &n) {
  return detail::call_text([&](ot_buffer **out) { return ot_nym_id(n.get(), out); });
}

inline result<key> nym_key(const nym &n, key_role role) {
  ot_key *k = nullptr;
  if (ot_result rc = ot_nym_key(n.get(), static_cast<ot_key_role>(role), &k)) return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<contract> contract_load(bytes_view text) {
  ot_contract *c = nullptr;
  if (ot_result rc = ot_contract_load(text.data(), text.size(), &c)) return detail::err<contract>(detail::fail(rc));
  return contract(c);
}

inline result<std::string> contract_id(const contract &c) {
  return detail::call_text([&](ot_buffer **out) { return ot_contract_id(c.get(), out); });
}

inline result<std::string> contract_signer_id(const contract &c) {
  return detail::call_text([&](ot_buffer **out) { return ot_contract_signer_id(c.get(), out); });
}

inline result<std::string> contract_endpoint(const contract &c) {
  return detail::call_text([&](ot_buffer **out) { return ot_contract_endpoint(c.get(), out); });
}

inline result<key> contract_key(const contract &c, key_role role) {
  ot_key *k = nullptr;
  if (ot_result rc = ot_contract_key(c.get(), static_cast<ot_key_role>(role), &k))
    return detail::err<key>(detail::fail(rc));
  return key(k);
}

inline result<session> session_new_from_contract(const contract &c,
                                                 std::optional<std::string_view> endpoint = std::nullopt,
                                                 const session_options *options = nullptr) {
  std::optional<detail::c_text> e;
  if (endpoint) {
    e.emplace(*endpoint);
    if (!e->ok) return detail::err<session>(detail::nul_in_text("endpoint"));
  }
  ot_session *s = nullptr;
  if (ot_result rc = ot_session_new_from_contract(c.get(), e ? e->c_str() : nullptr,
                                                  options ? options->get() : nullptr, &s))
    return detail::err<session>(detail::fail(rc));
  return session(s);
}

inline result<void> session_set_identity_nym(session &s, const nym &me) {
  return detail::call_void(ot_session_set_identity_nym(s.get(), me.get()));
}

inline result<notary> notary_new_from_nym(std::string_view endpoint, const nym &self,
                                          const session_options *options = nullptr) {
  detail::c_text e(endpoint);
  if (!e.ok) return detail::err<notary>(detail::nul_in_text("endpoint"));
  ot_notary *p = nullptr;
  if (ot_result rc = ot_notary_new_from_nym(e.c_str(), self.get(), options ? options->get() : nullptr, &p))
    return detail::err<notary>(detail::fail(rc));
  return notary(p);
}

inline result<stream_sealer> stream_seal_init(const std::vector<recipient> &to) {
  std::vector<std::string> ids;
  result<std::vector<ot_recipient>> c = impl::c_recipients(to, ids);
  if (!c) return result<stream_sealer>(c.code(), c.detail());
  ot_stream_sealer *s = nullptr;
  if (ot_result rc = ot_stream_seal_init(c->data(), c->size(), &s)) return detail::err<stream_sealer>(detail::fail(rc));
  return stream_sealer(s);
}

inline result<bytes> stream_seal_update(stream_sealer &s, bytes_view data) {
  bytes out(ot_stream_seal_output_max(s.get(), data.size()));
  std::size_t n = 0;
  if (ot_result rc = ot_stream_seal_update(s.get(), data.data(), data.size(), out.data(), out.size(), &n))
    return detail::err<bytes>(detail::fail(rc));
  out.resize(n);
  return out;
}

inline result<bytes> stream_seal_final(stream_sealer &s) {
  bytes out(ot_stream_seal_output_max(s.get(), 0));
  std::size_t n = 0;
  if (ot_result rc = ot_stream_seal_final(s.get(), out.data(), out.size(), &n)) return detail::err<bytes>(detail::fail(rc));
  out.resize(n);
  return out;
}

inline result<stream_opener> stream_open_init(const key &private_key,
                                              std::optional<std::string_view> nym_id = std::nullopt) {
  std::optional<detail::c_text> id;
  if (nym_id) {
    id.emplace(*nym_id);
    if (!id->ok) return detail::err<stream_opener>(detail::nul_in_text("nym_id"));
  }
  ot_stream_opener *o = nullptr;
  if (ot_result rc = ot_stream_open_init(id ? id->c_str() : nullptr, private_key.get(), &o))
    return detail::err<stream_opener>(detail::fail(rc));
  return stream_opener(o);
}

inline result<bytes> stream_open_update(stream_opener &o, bytes_view data) {
  bytes out(ot_stream_open_output_max(o.get(), data.size()));
  std::size_t n = 0;
  if (ot_result rc = ot_stream_open_update(o.get(), data.data(), data.size(), out.data(), out.size(), &n))
    return detail::err<bytes>(detail::fail(rc));
  out.resize(n);
  return out;
}

inline result<bytes> stream_open_final(stream_opener &o) {
  bytes out(ot_stream_open_output_max(o.get(), 0));
  std::size_t n = 0;
  if (ot_result rc = ot_stream_open_final(o.get(), out.data(), out.size(), &n)) return detail::err<bytes>(detail::fail(rc));
  out.resize(n);
  return out;
}

inline result<bytes> stream_open_chunk(stream_opener &o, std::uint64_t index, bytes_view chunk, bool last) {
  bytes out(chunk.size());
  std::size_t n = 0;
  if (ot_result rc = ot_stream_open_chunk(o.get(), index, last ? 1 : 0, chunk.data(), chunk.size(), out.data(),
                                          out.size(), &n))
    return detail::err<bytes>(detail::fail(rc));
  out.resize(n);
  return out;
}

inline result<std::size_t> stream_opener_header_len(const stream_opener &o) {
  std::size_t n = 0;
  if (ot_result rc = ot_stream_opener_header_len(o.get(), &n)) return detail::err<std::size_t>(detail::fail(rc));
  return n;
}

}  // namespace nothrow

// ---- the throwing API ---------------------------------------------------------------------------
#if OT_TRANSPORT_HPP_EXCEPTIONS

/** A failed library call: code() is the ot_result, detail() the ot_last_error() text. */
class error : public std::runtime_error {
 public:
  error(ot_result code, const std::string &detail)
      : std::runtime_error(result_str(code) + (detail.empty() ? "" : ": " + detail)), code_(code), detail_(detail) {}
  ot_result code() const noexcept { return code_; }
  const std::string &detail() const noexcept { return detail_; }

 private:
  ot_result code_;
  std::string detail_;
};

namespace detail {
template <class T>
inline T unwrap(result<T> &&r) {
  if (!r) throw error(r.code(), r.detail());
  return std::move(r).value();
}
inline void unwrap(result<void> &&r) {
  if (!r) throw error(r.code(), r.detail());
}
}  // namespace detail

inline key key::generate(std::uint32_t bits) { return detail::unwrap(nothrow::key_generate(bits)); }
inline key key::generate_ed25519() { return detail::unwrap(nothrow::key_generate_ed25519()); }
inline key key::generate_x25519() { return detail::unwrap(nothrow::key_generate_x25519()); }
inline key key::load(bytes_view data, std::optional<bytes_view> passphrase) {
  return detail::unwrap(nothrow::key_load(data, passphrase));
}
inline std::string key::export_as(key_format format, std::optional<bytes_view> passphrase) const {
  return detail::unwrap(nothrow::key_export(*this, format, passphrase));
}
inline key key::public_key() const { return detail::unwrap(nothrow::key_public(*this)); }
inline std::string key::nym_id() const { return detail::unwrap(nothrow::key_nym_id(*this)); }

inline envelope envelope::seal(const std::vector<recipient> &to, bytes_view plaintext) {
  return detail::unwrap(nothrow::envelope_seal(to, plaintext));
}
inline stream_sealer stream_sealer::init(const std::vector<recipient> &to) {
  return detail::unwrap(nothrow::stream_seal_init(to));
}
inline bytes stream_sealer::update(bytes_view data) { return detail::unwrap(nothrow::stream_seal_update(*this, data)); }
inline bytes stream_sealer::final() { return detail::unwrap(nothrow::stream_seal_final(*this)); }
inline stream_opener stream_opener::init(const key &private_key, std::optional<std::string_view> nym_id) {
  return detail::unwrap(nothrow::stream_open_init(private_key, nym_id));
}
inline bytes stream_opener::update(bytes_view data) { return detail::unwrap(nothrow::stream_open_update(*this, data)); }
inline bytes stream_opener::final() { return detail::unwrap(nothrow::stream_open_final(*this)); }
inline bytes stream_opener::open_chunk(std::uint64_t index, bytes_view chunk, bool last) {
  return detail::unwrap(nothrow::stream_open_chunk(*this, index, chunk, last));
}
inline std::size_t stream_opener::header_len() const { return detail::unwrap(nothrow::stream_opener_header_len(*this)); }
inline bytes envelope::seal_to_bytes(const std::vector<recipient> &to, bytes_view plaintext) {
  return detail::unwrap(nothrow::envelope_seal_to_bytes(to, plaintext));
}
inline std::string envelope::seal_to_armor(const std::vector<recipient> &to, bytes_view plaintext, bool bookends) {
  return detail::unwrap(nothrow::envelope_seal_to_armor(to, plaintext, bookends));
}
inline bytes envelope::open_bytes(bytes_view data, const key &private_key, std::optional<std::string_view> nym_id) {
  return detail::unwrap(nothrow::envelope_open_bytes(data, private_key, nym_id));
}
inline bytes envelope::open_armor(bytes_view text, const key &private_key, std::optional<std::string_view> nym_id) {
  return detail::unwrap(nothrow::envelope_open_armor(text, private_key, nym_id));
}
inline envelope envelope::parse(bytes_view data) { return detail::unwrap(nothrow::envelope_parse(data)); }
inline envelope envelope::from_armor(bytes_view text) { return detail::unwrap(nothrow::envelope_from_armor(text)); }
inline envelope envelope::encrypt_symmetric(bytes_view raw_key, bytes_view plaintext) {
  return detail::unwrap(nothrow::envelope_encrypt_symmetric(raw_key, plaintext));
}
inline bytes envelope::to_bytes() const { return detail::unwrap(nothrow::envelope_to_bytes(*this)); }
inline std::string envelope::to_armor(bool bookends) const {
  return detail::unwrap(nothrow::envelope_to_armor(*this, bookends));
}
inline std::string envelope::recipient_id(std::size_t index) const {
  return detail::unwrap(nothrow::envelope_recipient_id(*this, index));
}
inline std::vector<std::string> envelope::recipient_ids() const {
  std::vector<std::string> ids;
  for (std::size_t i = 0, n = recipient_count(); i < n; ++i) ids.push_back(recipient_id(i));
  return ids;
}
inline bytes envelope::open(const key &private_key, std::optional<std::string_view> nym_id) const {
  return detail::unwrap(nothrow::envelope_open(*this, private_key, nym_id));
}
inline bytes envelope::decrypt_symmetric(bytes_view raw_key) const {
  return detail::unwrap(nothrow::envelope_decrypt_symmetric(*this, raw_key));
}

inline session_options session_options::make() { return detail::unwrap(nothrow::session_options_new()); }
inline session_options &session_options::set(std::string_view name, std::int64_t value) {
  detail::unwrap(nothrow::session_options_set(*this, name, value));
  return *this;
}
inline std::int64_t session_options::get(std::string_view name) const {
  return detail::unwrap(nothrow::session_options_get(*this, name));
}
inline session_options &session_options::load_ini(bytes_view text) {
  detail::unwrap(nothrow::session_options_load_ini(*this, text));
  return *this;
}
inline session_options &session_options::set_curve_server(std::string_view server_secret_z85) {
  detail::unwrap(nothrow::session_options_set_curve_server(*this, server_secret_z85));
  return *this;
}
inline session_options &session_options::set_curve_client(std::string_view server_public_z85,
                                                          std::string_view client_public_z85,
                                                          std::string_view client_secret_z85) {
  detail::unwrap(nothrow::session_options_set_curve_client(*this, server_public_z85, client_public_z85, client_secret_z85));
  return *this;
}

inline session session::connect(std::string_view endpoint, const session_options *options) {
  return detail::unwrap(nothrow::session_new(endpoint, options));
}
inline void session::set_identity(const key &auth_private, const key &encryption_private) {
  detail::unwrap(nothrow::session_set_identity(*this, auth_private, encryption_private));
}
inline void session::set_notary(std::string_view notary_nym_id, const key &encryption_public, const key &auth_public) {
  detail::unwrap(nothrow::session_set_notary(*this, notary_nym_id, encryption_public, auth_public));
}
inline bytes session::request(bytes_view content) { return detail::unwrap(nothrow::session_request(*this, content)); }
inline bytes session::exchange(bytes_view frame) { return detail::unwrap(nothrow::session_exchange(*this, frame)); }

inline bytes request::content() const { return detail::unwrap(nothrow::request_content(*this)); }
inline bytes request::verify(const key &sender_auth_public) const {
  return detail::unwrap(nothrow::request_verify(*this, sender_auth_public));
}

inline notary notary::bind(std::string_view endpoint, const key &auth_private, const key &encryption_private,
                           std::string_view nym_id, const session_options *options) {
  return detail::unwrap(nothrow::notary_new(endpoint, auth_private, encryption_private, nym_id, options));
}
inline std::string notary::endpoint() const { return detail::unwrap(nothrow::notary_endpoint(*this)); }
inline request notary::receive(std::uint32_t timeout_ms) {
  return detail::unwrap(nothrow::notary_receive(*this, timeout_ms));
}
inline void notary::reply(const request &req, bytes_view content, const key *recipient_encryption_public) {
  detail::unwrap(nothrow::notary_reply(*this, req, content, recipient_encryption_public));
}

inline ot_protocol session::protocol() { return detail::unwrap(nothrow::session_protocol(*this)); }
inline std::uint64_t session::send(bytes_view content) { return detail::unwrap(nothrow::session_send(*this, content)); }
inline completion session::receive(std::uint32_t timeout_ms) {
  return detail::unwrap(nothrow::session_receive(*this, timeout_ms));
}
inline bytes session::subscribe(bytes_view content) { return detail::unwrap(nothrow::session_subscribe(*this, content)); }
inline push session::next_push(std::uint32_t timeout_ms) {
  return detail::unwrap(nothrow::session_next_push_from(*this, timeout_ms));
}
inline int session::fd() { return detail::unwrap(nothrow::session_fd(*this)); }
inline ot_session_stats session::stats() const { return detail::unwrap(nothrow::session_get_stats(*this)); }
inline std::uint64_t session::counter(std::string_view name) const {
  return detail::unwrap(nothrow::session_counter(*this, name));
}
inline std::vector<std::string> session::counter_names() { return nothrow::session_counter_names(); }

inline notary notary::connect(std::string_view backend_endpoint, const key &auth_private,
                              const key &encryption_private, std::string_view nym_id,
                              const session_options *options) {
  return detail::unwrap(nothrow::notary_connect(backend_endpoint, auth_private, encryption_private, nym_id, options));
}
inline std::string notary::add_endpoint(std::string_view endpoint, const session_options *options) {
  return detail::unwrap(nothrow::notary_bind(*this, endpoint, options));
}
inline std::string notary::add_curve_endpoint(std::string_view endpoint, const session_options *options) {
  return detail::unwrap(nothrow::notary_bind_curve(*this, endpoint, options));
}
inline void notary::set_transport_key(std::string_view secret_z85, std::uint64_t valid_until) {
  detail::unwrap(nothrow::notary_set_transport_key(*this, secret_z85, valid_until));
}
inline std::string notary::transport_key() const { return detail::unwrap(nothrow::notary_transport_key(*this)); }
inline void notary::vouch_transport_key(std::string_view public_z85, std::string_view endpoint,
                                        std::uint64_t valid_until) {
  detail::unwrap(nothrow::notary_vouch_transport_key(*this, public_z85, endpoint, valid_until));
}
inline void notary::register_push(const request &req, std::string_view nym_id, const key &subscriber_encryption_public) {
  detail::unwrap(nothrow::notary_register_push(*this, req, nym_id, subscriber_encryption_public));
}
inline std::size_t notary::push(std::string_view nym_id, bytes_view content) {
  return detail::unwrap(nothrow::notary_push(*this, nym_id, content));
}
inline int notary::fd() const { return detail::unwrap(nothrow::notary_fd(*this)); }
inline ot_notary_stats notary::stats() const { return detail::unwrap(nothrow::notary_get_stats(*this)); }
inline std::uint64_t notary::counter(std::string_view name) const {
  return detail::unwrap(nothrow::notary_counter(*this, name));
}
inline std::vector<std::string> notary::counter_names() { return nothrow::notary_counter_names(); }

inline broker broker::bind(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                           const session_options *options) {
  return detail::unwrap(nothrow::broker_new(frontend_endpoint, backend_endpoint, options));
}
inline broker broker::bind_secure(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                  std::string_view backend_secret_z85, std::string_view workers,
                                  const session_options *options) {
  return detail::unwrap(
      nothrow::broker_new_secure(frontend_endpoint, backend_endpoint, backend_secret_z85, workers, options));
}
inline broker broker::bind_from_files(std::string_view frontend_endpoint, std::string_view backend_endpoint,
                                      std::string_view key_file, std::string_view workers_file,
                                      const session_options *options) {
  return detail::unwrap(
      nothrow::broker_new_from_files(frontend_endpoint, backend_endpoint, key_file, workers_file, options));
}
inline void broker::allow_worker(std::string_view worker_public_z85) const {
  detail::unwrap(nothrow::broker_allow_worker(*this, worker_public_z85));
}
inline std::string broker::backend_public() const { return detail::unwrap(nothrow::broker_backend_public(*this)); }
inline std::pair<std::string, std::string> broker::add_curve_frontend(std::string_view endpoint,
                                                                      std::string_view secret_z85) const {
  return detail::unwrap(nothrow::broker_bind_curve(*this, endpoint, secret_z85));
}
inline std::string broker::frontend() const { return detail::unwrap(nothrow::broker_frontend(*this)); }
inline std::string broker::backend() const { return detail::unwrap(nothrow::broker_backend(*this)); }
inline ot_broker_stats broker::stats() const { return detail::unwrap(nothrow::broker_get_stats(*this)); }
inline std::uint64_t broker::counter(std::string_view name) const {
  return detail::unwrap(nothrow::broker_counter(*this, name));
}
inline std::vector<std::string> broker::counter_names() { return nothrow::broker_counter_names(); }

inline std::string armor_encode(bytes_view data, armor_kind kind = armor_kind::data,
                                std::optional<std::string_view> bookend = std::nullopt) {
  return detail::unwrap(nothrow::armor_encode(data, kind, bookend));
}
inline bytes armor_decode(bytes_view text, armor_kind kind = armor_kind::data) {
  return detail::unwrap(nothrow::armor_decode(text, kind));
}
inline samy_digest samy(bytes_view data) { return detail::unwrap(nothrow::samy(data)); }
inline sha256_digest sha256(bytes_view data) { return detail::unwrap(nothrow::sha256(data)); }
inline sha256_digest sha256d(bytes_view data) { return detail::unwrap(nothrow::sha256d(data)); }
inline std::string id_of_v3(bytes_view data) { return detail::unwrap(nothrow::id_of_v3(data)); }
inline std::int32_t envelope_type(const envelope &e) { return detail::unwrap(nothrow::envelope_type(e)); }
inline void notary_add_identity(notary &n, const key &auth_private, const key &encryption_private,
                                std::string_view nym_id) {
  detail::unwrap(nothrow::notary_add_identity(n, auth_private, encryption_private, nym_id));
}
inline whirlpool_digest whirlpool(bytes_view data) { return detail::unwrap(nothrow::whirlpool(data)); }
inline std::string id_encode(bytes_view data) { return detail::unwrap(nothrow::id_encode(data)); }
inline bytes id_decode(std::string_view id) { return detail::unwrap(nothrow::id_decode(id)); }
inline std::string id_of(bytes_view data) { return detail::unwrap(nothrow::id_of(data)); }
inline std::string sign(std::string_view doc_type, bytes_view content, const key &signer,
                        std::optional<std::string_view> meta = std::nullopt) {
  return detail::unwrap(nothrow::sign(doc_type, content, signer, meta));
}
inline bytes verify(bytes_view text, const key &signer_public) {
  return detail::unwrap(nothrow::verify(text, signer_public));
}
inline bytes signed_content(bytes_view text) { return detail::unwrap(nothrow::signed_content(text)); }
inline bytes symkey_unlock(bytes_view serialized, bytes_view passphrase) {
  return detail::unwrap(nothrow::symkey_unlock(serialized, passphrase));
}
inline std::pair<std::string, std::string> curve_keypair() { return detail::unwrap(nothrow::curve_keypair()); }
inline std::string curve_public(std::string_view secret_z85) { return detail::unwrap(nothrow::curve_public(secret_z85)); }

inline bytes wallet_master_key(bytes_view wallet, bytes_view passphrase) {
  return detail::unwrap(nothrow::wallet_master_key(wallet, passphrase));
}
inline nym nym::load(bytes_view credential_list, const std::vector<bytes_view> &credentials,
                     std::optional<bytes_view> passphrase) {
  return detail::unwrap(nothrow::nym_load(credential_list, credentials, passphrase));
}
inline nym nym::load_dir(std::string_view credentials_dir, std::string_view nym_id,
                         std::optional<bytes_view> passphrase) {
  return detail::unwrap(nothrow::nym_load_dir(credentials_dir, nym_id, passphrase));
}
inline std::string nym::nym_id() const { return detail::unwrap(nothrow::nym_id(*this)); }
inline ot::key nym::key(key_role role) const { return detail::unwrap(nothrow::nym_key(*this, role)); }
inline contract contract::load(bytes_view text) { return detail::unwrap(nothrow::contract_load(text)); }
inline std::string contract::id() const { return detail::unwrap(nothrow::contract_id(*this)); }
inline std::string contract::signer_id() const { return detail::unwrap(nothrow::contract_signer_id(*this)); }
inline std::string contract::endpoint() const { return detail::unwrap(nothrow::contract_endpoint(*this)); }
inline ot::key contract::key(key_role role) const { return detail::unwrap(nothrow::contract_key(*this, role)); }
inline session session::from_contract(const contract &c, std::optional<std::string_view> endpoint,
                                      const session_options *options) {
  return detail::unwrap(nothrow::session_new_from_contract(c, endpoint, options));
}
inline void session::set_identity(const nym &me) { detail::unwrap(nothrow::session_set_identity_nym(*this, me)); }
inline notary notary::bind(std::string_view endpoint, const nym &self, const session_options *options) {
  return detail::unwrap(nothrow::notary_new_from_nym(endpoint, self, options));
}

#endif  // OT_TRANSPORT_HPP_EXCEPTIONS

}  // namespace ot

#endif  // OT_TRANSPORT_HPP
