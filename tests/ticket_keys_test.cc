// Tests of TicketKey, TicketKeyRing and TicketKeyCallback: serialization,
// rotation, a cipher round trip through the callback's contexts, and
// resumption through BoringSSL itself over an in-memory BIO pair (no
// sockets).
#include "session/ticket_keys.h"

#include <openssl/bio.h>
#include <openssl/cipher.h>
#include <openssl/digest.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "tests/testing/start_line.h"

namespace tlsession {
namespace {

using ::testing::HasSubstr;

std::string Str(const uint8_t* p, size_t n) {
  return std::string(reinterpret_cast<const char*>(p), n);
}
template <size_t N>
std::string Str(const std::array<uint8_t, N>& a) {
  return Str(a.data(), a.size());
}

TicketKey MakeKey(uint8_t seed) {
  TicketKey key;
  key.name.fill(seed);
  key.hmac_key.fill(static_cast<uint8_t>(seed + 1));
  key.aes_key.fill(static_cast<uint8_t>(seed + 2));
  return key;
}

// ---------------------------------------------------------------------------
// TicketKey

TEST(TicketKeyTest, GenerateGivesDistinctRandomKeys) {
  const TicketKey a = TicketKey::Generate();
  const TicketKey b = TicketKey::Generate();
  EXPECT_NE(Str(a.name), Str(b.name));
  EXPECT_NE(Str(a.hmac_key), Str(b.hmac_key));
  EXPECT_NE(Str(a.aes_key), Str(b.aes_key));
  EXPECT_NE(Str(a.hmac_key), Str(a.aes_key));
}

TEST(TicketKeyTest, ToBytesIsNameThenHmacKeyThenAesKey) {
  const TicketKey key = MakeKey(7);
  const std::string bytes = key.ToBytes();
  ASSERT_EQ(bytes.size(), 80u);
  EXPECT_EQ(bytes.substr(0, 16), Str(key.name));
  EXPECT_EQ(bytes.substr(16, 32), Str(key.hmac_key));
  EXPECT_EQ(bytes.substr(48, 32), Str(key.aes_key));
}

TEST(TicketKeyTest, FromBytesRoundTrips) {
  const TicketKey key = TicketKey::Generate();
  absl::StatusOr<TicketKey> parsed = TicketKey::FromBytes(key.ToBytes());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(Str(parsed->name), Str(key.name));
  EXPECT_EQ(Str(parsed->hmac_key), Str(key.hmac_key));
  EXPECT_EQ(Str(parsed->aes_key), Str(key.aes_key));
}

TEST(TicketKeyTest, FromBytesRejectsWrongLengths) {
  const std::string good = TicketKey::Generate().ToBytes();
  for (const std::string& bytes :
       {std::string(), good.substr(0, 48), good.substr(0, 79), good + "x"}) {
    absl::StatusOr<TicketKey> parsed = TicketKey::FromBytes(bytes);
    ASSERT_FALSE(parsed.ok()) << "accepted " << bytes.size() << " bytes";
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("80 bytes"));
    EXPECT_THAT(std::string(parsed.status().message()),
                HasSubstr("got " + std::to_string(bytes.size())));
  }
}

// ---------------------------------------------------------------------------
// TicketKeyRing

TEST(TicketKeyRingTest, CurrentIsTheConstructorKeyUntilRotated) {
  TicketKeyRing ring(MakeKey(1));
  EXPECT_EQ(ring.current().ToBytes(), MakeKey(1).ToBytes());
  ring.Rotate(MakeKey(10));
  EXPECT_EQ(ring.current().ToBytes(), MakeKey(10).ToBytes());
}

TEST(TicketKeyRingTest, FindsCurrentAndPreviousKeysByName) {
  TicketKeyRing ring(MakeKey(1));
  ring.Rotate(MakeKey(10));

  bool is_current = false;
  std::optional<TicketKey> found =
      ring.Find(MakeKey(10).name.data(), &is_current);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ToBytes(), MakeKey(10).ToBytes());
  EXPECT_TRUE(is_current);

  is_current = true;
  found = ring.Find(MakeKey(1).name.data(), &is_current);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ToBytes(), MakeKey(1).ToBytes());
  EXPECT_FALSE(is_current);

  // |is_current| may be null.
  found = ring.Find(MakeKey(1).name.data(), nullptr);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->ToBytes(), MakeKey(1).ToBytes());

  EXPECT_FALSE(ring.Find(MakeKey(50).name.data(), &is_current).has_value());
}

TEST(TicketKeyRingTest, ForgetsKeysBeyondMaxPrevious) {
  TicketKeyRing ring(MakeKey(0));  // max_previous defaults to 2.
  ring.Rotate(MakeKey(10));
  ring.Rotate(MakeKey(20));
  ring.Rotate(MakeKey(30));

  EXPECT_FALSE(ring.Find(MakeKey(0).name.data(), nullptr).has_value());
  EXPECT_TRUE(ring.Find(MakeKey(10).name.data(), nullptr).has_value());
  EXPECT_TRUE(ring.Find(MakeKey(20).name.data(), nullptr).has_value());
  EXPECT_TRUE(ring.Find(MakeKey(30).name.data(), nullptr).has_value());
}

TEST(TicketKeyRingTest, MaxPreviousZeroKeepsOnlyTheCurrentKey) {
  TicketKeyRing ring(MakeKey(0), /*max_previous=*/0);
  ring.Rotate(MakeKey(10));
  EXPECT_FALSE(ring.Find(MakeKey(0).name.data(), nullptr).has_value());
  EXPECT_TRUE(ring.Find(MakeKey(10).name.data(), nullptr).has_value());
}

// ---------------------------------------------------------------------------
// TicketKeyCallback, driven the way BoringSSL drives it.

// What BoringSSL puts on the wire for a ticket: key name, IV, ciphertext and
// an HMAC over the three.
struct SealedTicket {
  std::array<uint8_t, 16> name{};
  std::array<uint8_t, EVP_MAX_IV_LENGTH> iv{};
  std::string ciphertext;
  std::string mac;
};

// Encrypts |plaintext| with the contexts the callback sets up in encrypt
// mode. Sets |*rc| to the callback's return value.
SealedTicket Seal(TicketKeyRing& ring, absl::string_view plaintext, int* rc) {
  SealedTicket t;
  bssl::ScopedEVP_CIPHER_CTX cipher;
  bssl::ScopedHMAC_CTX hmac;
  *rc = TicketKeyCallback(ring, t.name.data(), t.iv.data(), cipher.get(),
                          hmac.get(), /*encrypt=*/1);
  if (*rc != 1) return t;
  EXPECT_EQ(EVP_CIPHER_CTX_iv_length(cipher.get()), 16u);
  std::vector<uint8_t> out(plaintext.size() + EVP_MAX_BLOCK_LENGTH);
  int len1 = 0, len2 = 0;
  EXPECT_TRUE(EVP_EncryptUpdate(
      cipher.get(), out.data(), &len1,
      reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size()));
  EXPECT_TRUE(EVP_EncryptFinal_ex(cipher.get(), out.data() + len1, &len2));
  t.ciphertext = Str(out.data(), len1 + len2);

  HMAC_Update(hmac.get(), t.name.data(), t.name.size());
  HMAC_Update(hmac.get(), t.iv.data(), 16);
  HMAC_Update(hmac.get(), reinterpret_cast<const uint8_t*>(t.ciphertext.data()),
              t.ciphertext.size());
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  EXPECT_TRUE(HMAC_Final(hmac.get(), mac, &mac_len));
  t.mac = Str(mac, mac_len);
  return t;
}

// Checks and decrypts |t| with the contexts the callback sets up in decrypt
// mode. Sets |*rc| to the callback's return value; nullopt when it is not 1
// or 2, or when the HMAC does not match.
std::optional<std::string> Open(TicketKeyRing& ring, const SealedTicket& t,
                                int* rc) {
  std::array<uint8_t, 16> name = t.name;
  std::array<uint8_t, EVP_MAX_IV_LENGTH> iv = t.iv;
  bssl::ScopedEVP_CIPHER_CTX cipher;
  bssl::ScopedHMAC_CTX hmac;
  *rc = TicketKeyCallback(ring, name.data(), iv.data(), cipher.get(),
                          hmac.get(), /*encrypt=*/0);
  if (*rc != 1 && *rc != 2) return std::nullopt;
  HMAC_Update(hmac.get(), t.name.data(), t.name.size());
  HMAC_Update(hmac.get(), t.iv.data(), 16);
  HMAC_Update(hmac.get(), reinterpret_cast<const uint8_t*>(t.ciphertext.data()),
              t.ciphertext.size());
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  if (!HMAC_Final(hmac.get(), mac, &mac_len) || Str(mac, mac_len) != t.mac) {
    return std::nullopt;
  }
  std::vector<uint8_t> out(t.ciphertext.size() + EVP_MAX_BLOCK_LENGTH);
  int len1 = 0, len2 = 0;
  if (!EVP_DecryptUpdate(cipher.get(), out.data(), &len1,
                         reinterpret_cast<const uint8_t*>(t.ciphertext.data()),
                         t.ciphertext.size()) ||
      !EVP_DecryptFinal_ex(cipher.get(), out.data() + len1, &len2)) {
    return std::nullopt;
  }
  return Str(out.data(), len1 + len2);
}

constexpr absl::string_view kPlaintext =
    "a serialized session, long enough to take several AES blocks";

TEST(TicketKeyCallbackTest, EncryptWritesTheCurrentNameAndAFreshIv) {
  TicketKeyRing ring(TicketKey::Generate());
  int rc1 = 0, rc2 = 0;
  const SealedTicket a = Seal(ring, kPlaintext, &rc1);
  const SealedTicket b = Seal(ring, kPlaintext, &rc2);
  ASSERT_EQ(rc1, 1);
  ASSERT_EQ(rc2, 1);
  EXPECT_EQ(Str(a.name), Str(ring.current().name));
  EXPECT_EQ(Str(b.name), Str(ring.current().name));
  EXPECT_NE(Str(a.iv.data(), 16), Str(b.iv.data(), 16));
  EXPECT_NE(a.ciphertext, b.ciphertext);
}

TEST(TicketKeyCallbackTest, UsesAes256CbcAndHmacSha256UnderTheCurrentKey) {
  const TicketKey key = TicketKey::Generate();
  TicketKeyRing ring(key);
  int rc = 0;
  const SealedTicket t = Seal(ring, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);

  // The HMAC, recomputed independently with the key's HMAC key.
  const std::string signed_part =
      Str(t.name) + Str(t.iv.data(), 16) + t.ciphertext;
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  ASSERT_NE(HMAC(EVP_sha256(), key.hmac_key.data(), key.hmac_key.size(),
                 reinterpret_cast<const uint8_t*>(signed_part.data()),
                 signed_part.size(), mac, &mac_len),
            nullptr);
  EXPECT_EQ(mac_len, 32u);
  EXPECT_EQ(t.mac, Str(mac, mac_len));

  // The ciphertext, decrypted independently with the key's AES key.
  bssl::ScopedEVP_CIPHER_CTX cipher;
  ASSERT_TRUE(EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_cbc(), nullptr,
                                 key.aes_key.data(), t.iv.data()));
  std::vector<uint8_t> out(t.ciphertext.size() + EVP_MAX_BLOCK_LENGTH);
  int len1 = 0, len2 = 0;
  ASSERT_TRUE(
      EVP_DecryptUpdate(cipher.get(), out.data(), &len1,
                        reinterpret_cast<const uint8_t*>(t.ciphertext.data()),
                        t.ciphertext.size()));
  ASSERT_TRUE(EVP_DecryptFinal_ex(cipher.get(), out.data() + len1, &len2));
  EXPECT_EQ(Str(out.data(), len1 + len2), kPlaintext);
}

TEST(TicketKeyCallbackTest, RoundTripUnderTheCurrentKeyReturnsOne) {
  TicketKeyRing ring(TicketKey::Generate());
  int seal_rc = 0, open_rc = 0;
  const SealedTicket t = Seal(ring, kPlaintext, &seal_rc);
  ASSERT_EQ(seal_rc, 1);
  EXPECT_EQ(Open(ring, t, &open_rc), std::optional<std::string>(kPlaintext));
  EXPECT_EQ(open_rc, 1);
}

TEST(TicketKeyCallbackTest, TicketUnderAPreviousKeyDecryptsAndReturnsTwo) {
  const TicketKey old_key = TicketKey::Generate();
  TicketKeyRing ring(old_key);
  int rc = 0;
  const SealedTicket old_ticket = Seal(ring, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);

  ring.Rotate(TicketKey::Generate());
  EXPECT_EQ(Open(ring, old_ticket, &rc),
            std::optional<std::string>(kPlaintext));
  EXPECT_EQ(rc, 2);

  // New tickets are made under the new key and decrypt with 1.
  const SealedTicket new_ticket = Seal(ring, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);
  EXPECT_NE(Str(new_ticket.name), Str(old_key.name));
  EXPECT_EQ(Open(ring, new_ticket, &rc),
            std::optional<std::string>(kPlaintext));
  EXPECT_EQ(rc, 1);
}

TEST(TicketKeyCallbackTest, UnknownKeyNameReturnsZero) {
  TicketKeyRing issuer(TicketKey::Generate());
  TicketKeyRing other(TicketKey::Generate());
  int rc = 0;
  const SealedTicket t = Seal(issuer, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);
  EXPECT_EQ(Open(other, t, &rc), std::nullopt);
  EXPECT_EQ(rc, 0);
}

TEST(TicketKeyCallbackTest, TicketUnderAForgottenKeyReturnsZero) {
  TicketKeyRing ring(TicketKey::Generate(), /*max_previous=*/2);
  int rc = 0;
  const SealedTicket t = Seal(ring, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);
  ring.Rotate(TicketKey::Generate());
  ring.Rotate(TicketKey::Generate());
  ASSERT_EQ(Open(ring, t, &rc), std::optional<std::string>(kPlaintext));
  ASSERT_EQ(rc, 2);
  ring.Rotate(TicketKey::Generate());
  EXPECT_EQ(Open(ring, t, &rc), std::nullopt);
  EXPECT_EQ(rc, 0);
}

TEST(TicketKeyCallbackTest, SharedKeyBytesDecryptOnAnotherServer) {
  TicketKeyRing server_a(TicketKey::Generate());
  absl::StatusOr<TicketKey> shared =
      TicketKey::FromBytes(server_a.current().ToBytes());
  ASSERT_TRUE(shared.ok()) << shared.status();
  TicketKeyRing server_b(*shared);
  int rc = 0;
  const SealedTicket t = Seal(server_a, kPlaintext, &rc);
  ASSERT_EQ(rc, 1);
  EXPECT_EQ(Open(server_b, t, &rc), std::optional<std::string>(kPlaintext));
  EXPECT_EQ(rc, 1);
}

// Tickets sealed and opened while another thread rotates the ring all open.
// The users start with the rotator and go on until it is done, so that every
// rotation happens while they seal and open, however fast the build.
TEST(TicketKeyCallbackTest, ConcurrentRotationAndUse) {
  constexpr int kUsers = 4;
  constexpr int kRotations = 200;  // Fewer than max_previous: none forgotten.
  TicketKeyRing ring(TicketKey::Generate(), /*max_previous=*/1000);
  std::atomic<bool> rotated{false};
  std::atomic<int> failures{0};
  testing::StartLine start(kUsers + 1);
  std::vector<std::thread> users;
  for (int t = 0; t < kUsers; ++t) {
    users.emplace_back([&] {
      start.Wait();
      for (int i = 0; i < 200 || !rotated; ++i) {
        int rc = 0;
        const SealedTicket ticket = Seal(ring, kPlaintext, &rc);
        if (rc != 1) ++failures;
        if (Open(ring, ticket, &rc) != std::optional<std::string>(kPlaintext) ||
            (rc != 1 && rc != 2)) {
          ++failures;
        }
      }
    });
  }
  std::thread rotator([&] {
    start.Wait();
    for (int i = 0; i < kRotations; ++i) ring.Rotate(TicketKey::Generate());
    rotated = true;
  });
  rotator.join();
  for (std::thread& u : users) u.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---------------------------------------------------------------------------
// A self-rotating ring, on a clock the test moves.

// The schedule of |*now|'s clock, rotation 24 h and lifetime 48 h.
TicketKeySchedule ScheduleOn(absl::Time* now) {
  TicketKeySchedule schedule;
  schedule.clock = [now] { return *now; };
  return schedule;
}

TEST(SelfRotatingRingTest, RotatesDailyAndForgetsKeysAfterTwoDays) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  auto ring = TicketKeyRing::SelfRotating(ScheduleOn(&now));
  ASSERT_TRUE(ring.ok()) << ring.status();
  const std::string first = Str((*ring)->current().name);
  now += absl::Hours(24) - absl::Seconds(1);
  EXPECT_EQ(Str((*ring)->current().name), first);
  now += absl::Seconds(1);  // 24 h: a new key issues, the first decrypts.
  const std::string second = Str((*ring)->current().name);
  EXPECT_NE(second, first);
  bool current = true;
  EXPECT_TRUE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(first.data()), &current));
  EXPECT_FALSE(current);
  now += absl::Hours(24) - absl::Seconds(1);  // 48 h less a second.
  EXPECT_TRUE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(first.data()), nullptr));
  now += absl::Seconds(1);  // 48 h: the first key is gone (and wiped).
  EXPECT_FALSE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(first.data()), nullptr));
  EXPECT_TRUE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(second.data()), &current));
  EXPECT_FALSE(current);
  EXPECT_EQ((*ring)->size(), 2u);
  // Idle for ten days: only a fresh key, none of the old ones.
  now += absl::Hours(240);
  EXPECT_EQ((*ring)->size(), 1u);
  EXPECT_FALSE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(second.data()), nullptr));
}

TEST(SelfRotatingRingTest, RotatesOnScheduleAfterAnIdleDay) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  TicketKeySchedule schedule = ScheduleOn(&now);
  schedule.rotation = absl::Hours(1);
  schedule.lifetime = absl::Hours(3);
  auto ring = TicketKeyRing::SelfRotating(schedule);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const std::string first = Str((*ring)->current().name);
  now += absl::Minutes(150);       // Two rotations due at once.
  EXPECT_EQ((*ring)->size(), 3u);  // Keys of 0 h, 1 h; 2 h issues.
  now += absl::Minutes(30);        // 3 h: the first key is past its lifetime.
  EXPECT_EQ((*ring)->size(), 3u);  // Keys of 1 h, 2 h; 3 h issues.
  EXPECT_FALSE(
      (*ring)->Find(reinterpret_cast<const uint8_t*>(first.data()), nullptr));
}

TEST(SelfRotatingRingTest, RefusesAScheduleThatCannotWork) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  TicketKeySchedule zero = ScheduleOn(&now);
  zero.rotation = absl::ZeroDuration();
  EXPECT_EQ(TicketKeyRing::SelfRotating(zero).status().code(),
            absl::StatusCode::kInvalidArgument);
  TicketKeySchedule short_life = ScheduleOn(&now);
  short_life.lifetime = absl::Hours(1);
  auto refused = TicketKeyRing::SelfRotating(short_life);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("lifetime"));
}

// ---------------------------------------------------------------------------
// Through BoringSSL: the callback installed on a real SSL_CTX, handshakes
// over an in-memory BIO pair.

int InstalledCallback(SSL* ssl, uint8_t* key_name, uint8_t* iv,
                      EVP_CIPHER_CTX* cipher_ctx, HMAC_CTX* hmac_ctx,
                      int encrypt) {
  auto* ring =
      static_cast<TicketKeyRing*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  return TicketKeyCallback(*ring, key_name, iv, cipher_ctx, hmac_ctx, encrypt);
}

// The sessions a client context received, newest last.
using SessionList = std::vector<bssl::UniquePtr<SSL_SESSION>>;

int NewSessionCallback(SSL* ssl, SSL_SESSION* session) {
  auto* list =
      static_cast<SessionList*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  list->emplace_back(session);  // Takes the reference.
  return 1;
}

class TicketHandshakeTest : public ::testing::TestWithParam<uint16_t> {
 protected:
  void SetUp() override {
    testing::CertOptions options;
    options.dns_names = {"localhost"};
    absl::StatusOr<testing::CertAndKey> cert =
        testing::MakeCertificate(options, nullptr);
    ASSERT_TRUE(cert.ok()) << cert.status();
    cert_ = std::move(*cert);
    client_ctx_.reset(SSL_CTX_new(TLS_method()));
    ASSERT_TRUE(client_ctx_);
    ASSERT_TRUE(SSL_CTX_set_min_proto_version(client_ctx_.get(), GetParam()));
    ASSERT_TRUE(SSL_CTX_set_max_proto_version(client_ctx_.get(), GetParam()));
    SSL_CTX_set_session_cache_mode(client_ctx_.get(), SSL_SESS_CACHE_CLIENT);
    SSL_CTX_sess_set_new_cb(client_ctx_.get(), NewSessionCallback);
    SSL_CTX_set_app_data(client_ctx_.get(), &sessions_);
  }

  // A server context whose tickets are sealed by |ring|, with no session-ID
  // cache, so that only tickets can resume.
  bssl::UniquePtr<SSL_CTX> ServerCtx(TicketKeyRing* ring) {
    bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
    EXPECT_TRUE(ctx);
    if (!ctx) return nullptr;
    EXPECT_TRUE(SSL_CTX_use_certificate(ctx.get(), cert_.cert.get()));
    EXPECT_TRUE(SSL_CTX_use_PrivateKey(ctx.get(), cert_.key.get()));
    EXPECT_TRUE(SSL_CTX_set_min_proto_version(ctx.get(), GetParam()));
    EXPECT_TRUE(SSL_CTX_set_max_proto_version(ctx.get(), GetParam()));
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_app_data(ctx.get(), ring);
    EXPECT_TRUE(SSL_CTX_set_tlsext_ticket_key_cb(ctx.get(), InstalledCallback));
    return ctx;
  }

  // Runs a handshake between a client offering |session| (may be null) and
  // a server made from |server_ctx|, then moves a byte from server to client
  // so that the client reads TLS 1.3 tickets. Returns whether the handshake
  // resumed; sets |*ok| to whether it completed.
  bool Handshake(SSL_CTX* server_ctx, SSL_SESSION* session, bool* ok) {
    *ok = false;
    bssl::UniquePtr<SSL> client(SSL_new(client_ctx_.get()));
    bssl::UniquePtr<SSL> server(SSL_new(server_ctx));
    if (!client || !server) return false;
    BIO* client_bio = nullptr;
    BIO* server_bio = nullptr;
    if (!BIO_new_bio_pair(&client_bio, 0, &server_bio, 0)) return false;
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(server.get(), server_bio, server_bio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());
    SSL_set_tlsext_host_name(client.get(), "localhost");
    if (session != nullptr) SSL_set_session(client.get(), session);

    bool client_done = false, server_done = false;
    for (int i = 0; i < 20 && !(client_done && server_done); ++i) {
      if (!client_done) {
        int r = SSL_do_handshake(client.get());
        if (r == 1) {
          client_done = true;
        } else if (SSL_get_error(client.get(), r) != SSL_ERROR_WANT_READ) {
          ADD_FAILURE() << "client handshake failed";
          return false;
        }
      }
      if (!server_done) {
        int r = SSL_do_handshake(server.get());
        if (r == 1) {
          server_done = true;
        } else if (SSL_get_error(server.get(), r) != SSL_ERROR_WANT_READ) {
          ADD_FAILURE() << "server handshake failed";
          return false;
        }
      }
    }
    if (!client_done || !server_done) return false;
    uint8_t byte = 'x';
    if (SSL_write(server.get(), &byte, 1) != 1) return false;
    if (SSL_read(client.get(), &byte, 1) != 1) return false;
    *ok = true;
    EXPECT_EQ(SSL_session_reused(client.get()),
              SSL_session_reused(server.get()));
    return SSL_session_reused(client.get());
  }

  testing::CertAndKey cert_;
  bssl::UniquePtr<SSL_CTX> client_ctx_;
  SessionList sessions_;
};

TEST_P(TicketHandshakeTest, ResumesUnderCurrentAndPreviousKeys) {
  TicketKeyRing ring(TicketKey::Generate(), /*max_previous=*/1);
  bssl::UniquePtr<SSL_CTX> server_ctx = ServerCtx(&ring);
  ASSERT_TRUE(server_ctx);

  bool ok = false;
  EXPECT_FALSE(Handshake(server_ctx.get(), nullptr, &ok));
  ASSERT_TRUE(ok);
  ASSERT_FALSE(sessions_.empty());
  bssl::UniquePtr<SSL_SESSION> first = std::move(sessions_.back());
  sessions_.clear();
  ASSERT_TRUE(SSL_SESSION_has_ticket(first.get()));

  // Under the current key.
  EXPECT_TRUE(Handshake(server_ctx.get(), first.get(), &ok));
  ASSERT_TRUE(ok);
  if (GetParam() == TLS1_2_VERSION) {
    // Not renewed: a TLS 1.2 server sends no new ticket on resumption.
    EXPECT_TRUE(sessions_.empty());
  }
  sessions_.clear();

  // Under a previous key: still resumes, and the ticket is renewed.
  ring.Rotate(TicketKey::Generate());
  EXPECT_TRUE(Handshake(server_ctx.get(), first.get(), &ok));
  ASSERT_TRUE(ok);
  ASSERT_FALSE(sessions_.empty());
  bssl::UniquePtr<SSL_SESSION> renewed = std::move(sessions_.back());
  sessions_.clear();
  const uint8_t* ticket = nullptr;
  size_t ticket_len = 0;
  SSL_SESSION_get0_ticket(renewed.get(), &ticket, &ticket_len);
  ASSERT_GE(ticket_len, 16u);
  EXPECT_EQ(Str(ticket, 16), Str(ring.current().name));

  // Once the issuing key is forgotten, the old ticket no longer resumes, but
  // the renewed one does.
  ring.Rotate(TicketKey::Generate());
  EXPECT_FALSE(Handshake(server_ctx.get(), first.get(), &ok));
  ASSERT_TRUE(ok);
  EXPECT_TRUE(Handshake(server_ctx.get(), renewed.get(), &ok));
  ASSERT_TRUE(ok);
}

TEST_P(TicketHandshakeTest, ServersSharingKeysResumeEachOthersTickets) {
  TicketKeyRing ring_a(TicketKey::Generate());
  absl::StatusOr<TicketKey> shared =
      TicketKey::FromBytes(ring_a.current().ToBytes());
  ASSERT_TRUE(shared.ok()) << shared.status();
  TicketKeyRing ring_b(*shared);
  TicketKeyRing ring_c(TicketKey::Generate());
  bssl::UniquePtr<SSL_CTX> server_a = ServerCtx(&ring_a);
  bssl::UniquePtr<SSL_CTX> server_b = ServerCtx(&ring_b);
  bssl::UniquePtr<SSL_CTX> server_c = ServerCtx(&ring_c);
  ASSERT_TRUE(server_a && server_b && server_c);

  bool ok = false;
  EXPECT_FALSE(Handshake(server_a.get(), nullptr, &ok));
  ASSERT_TRUE(ok);
  ASSERT_FALSE(sessions_.empty());
  bssl::UniquePtr<SSL_SESSION> from_a = std::move(sessions_.back());
  sessions_.clear();

  EXPECT_TRUE(Handshake(server_b.get(), from_a.get(), &ok));
  ASSERT_TRUE(ok);
  // A server with other keys does not know the ticket's key name.
  EXPECT_FALSE(Handshake(server_c.get(), from_a.get(), &ok));
  ASSERT_TRUE(ok);
}

// A self-rotating ring through BoringSSL: a ticket resumes while its key
// still decrypts (renewed under the issuing key once rotated) and is refused
// from 48 h after its key started issuing.
TEST_P(TicketHandshakeTest, SelfRotatingKeysResumeWithinTheirLifetimeOnly) {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  auto ring = TicketKeyRing::SelfRotating(ScheduleOn(&now));
  ASSERT_TRUE(ring.ok()) << ring.status();
  bssl::UniquePtr<SSL_CTX> server_ctx = ServerCtx(ring->get());
  ASSERT_TRUE(server_ctx);
  bool ok = false;
  EXPECT_FALSE(Handshake(server_ctx.get(), nullptr, &ok));
  ASSERT_TRUE(ok);
  ASSERT_FALSE(sessions_.empty());
  bssl::UniquePtr<SSL_SESSION> first = std::move(sessions_.back());
  sessions_.clear();
  now += absl::Hours(30);  // Rotated; the ticket's key only decrypts.
  EXPECT_TRUE(Handshake(server_ctx.get(), first.get(), &ok));
  ASSERT_TRUE(ok);
  ASSERT_FALSE(sessions_.empty());  // Renewed under the issuing key.
  sessions_.clear();
  now += absl::Hours(18);  // 48 h: refused, a full handshake.
  EXPECT_FALSE(Handshake(server_ctx.get(), first.get(), &ok));
  ASSERT_TRUE(ok);
}

INSTANTIATE_TEST_SUITE_P(Versions, TicketHandshakeTest,
                         ::testing::Values(TLS1_2_VERSION, TLS1_3_VERSION),
                         [](const ::testing::TestParamInfo<uint16_t>& info) {
                           return info.param == TLS1_2_VERSION
                                      ? std::string("Tls12")
                                      : std::string("Tls13");
                         });

}  // namespace
}  // namespace tlsession
