#include "session/ticket_keys.h"

#include <openssl/digest.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cmath>
#include <cstring>
#include <iterator>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace tlsession {

static_assert(SSL_TICKET_KEY_NAME_LEN == sizeof(TicketKey::name),
              "BoringSSL's ticket key names are 16 bytes");

namespace {

// The IV length of AES-256-CBC, which the callback writes and reads.
constexpr size_t kIvLength = 16;

}  // namespace

TicketKey TicketKey::Generate() {
  TicketKey key;
  RAND_bytes(key.name.data(), key.name.size());
  RAND_bytes(key.hmac_key.data(), key.hmac_key.size());
  RAND_bytes(key.aes_key.data(), key.aes_key.size());
  return key;
}

absl::StatusOr<TicketKey> TicketKey::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kSerializedSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ticket key must be ", kSerializedSize,
        " bytes (16-byte name, 32-byte HMAC key, 32-byte AES key), got ",
        bytes.size()));
  }
  TicketKey key;
  const char* p = bytes.data();
  std::memcpy(key.name.data(), p, key.name.size());
  p += key.name.size();
  std::memcpy(key.hmac_key.data(), p, key.hmac_key.size());
  p += key.hmac_key.size();
  std::memcpy(key.aes_key.data(), p, key.aes_key.size());
  return key;
}

std::string TicketKey::ToBytes() const {
  std::string out;
  out.reserve(kSerializedSize);
  out.append(reinterpret_cast<const char*>(name.data()), name.size());
  out.append(reinterpret_cast<const char*>(hmac_key.data()), hmac_key.size());
  out.append(reinterpret_cast<const char*>(aes_key.data()), aes_key.size());
  return out;
}

TicketKeyRing::TicketKeyRing(TicketKey current, size_t max_previous)
    : max_previous_(max_previous), current_(std::move(current)) {}

TicketKeyRing::TicketKeyRing(TicketKey current, TicketKeySchedule schedule)
    : max_previous_(static_cast<size_t>(
          std::ceil(schedule.lifetime / schedule.rotation))),
      schedule_(std::move(schedule)),
      current_(std::move(current)) {
  MutexLock lock(&mu_);
  current_since_ = schedule_->clock();
}

absl::StatusOr<std::shared_ptr<TicketKeyRing>> TicketKeyRing::SelfRotating(
    TicketKeySchedule schedule) {
  if (schedule.rotation <= absl::ZeroDuration() ||
      schedule.lifetime < schedule.rotation || !schedule.clock) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ticket key schedule: the rotation (",
        absl::FormatDuration(schedule.rotation),
        ") must be positive and the lifetime (",
        absl::FormatDuration(schedule.lifetime), ") at least the rotation"));
  }
  return std::shared_ptr<TicketKeyRing>(
      new TicketKeyRing(TicketKey::Generate(), std::move(schedule)));
}

void TicketKeyRing::FollowSchedule() const {
  if (!schedule_) return;
  const absl::Time now = schedule_->clock();
  if (now - current_since_ >= schedule_->lifetime) {
    // Idle past every key's lifetime: start afresh (the old keys wiped).
    previous_.clear();
    previous_since_.clear();
    current_ = TicketKey::Generate();
    current_since_ = now;
    return;
  }
  while (now - current_since_ >= schedule_->rotation) {
    previous_.push_front(std::move(current_));
    previous_since_.push_front(current_since_);
    current_ = TicketKey::Generate();
    current_since_ += schedule_->rotation;  // On schedule, even when idle.
  }
  while (!previous_.empty() &&
         now - previous_since_.back() >= schedule_->lifetime) {
    previous_.pop_back();  // Its destructor wipes it.
    previous_since_.pop_back();
  }
}

void TicketKeyRing::Rotate(TicketKey new_current) {
  MutexLock lock(&mu_);
  FollowSchedule();
  previous_.push_front(std::move(current_));
  current_ = std::move(new_current);
  if (schedule_) {
    previous_since_.push_front(current_since_);
    current_since_ = schedule_->clock();
  }
  while (previous_.size() > max_previous_) previous_.pop_back();
  while (previous_since_.size() > previous_.size()) previous_since_.pop_back();
}

void TicketKeyRing::Replace(TicketKey current,
                            std::vector<TicketKey> decrypt_only) {
  MutexLock lock(&mu_);
  current_ = std::move(current);
  previous_.assign(std::make_move_iterator(decrypt_only.begin()),
                   std::make_move_iterator(decrypt_only.end()));
  if (schedule_) {
    current_since_ = schedule_->clock();
    previous_since_.assign(previous_.size(), current_since_);
  }
}

size_t TicketKeyRing::size() const {
  MutexLock lock(&mu_);
  FollowSchedule();
  return 1 + previous_.size();
}

TicketKey TicketKeyRing::current() const {
  MutexLock lock(&mu_);
  FollowSchedule();
  return current_;
}

std::optional<TicketKey> TicketKeyRing::Find(const uint8_t name[16],
                                             bool* is_current) const {
  MutexLock lock(&mu_);
  FollowSchedule();
  // Key names are public, so a plain comparison leaks nothing.
  if (std::memcmp(current_.name.data(), name, current_.name.size()) == 0) {
    if (is_current != nullptr) *is_current = true;
    return current_;
  }
  for (const TicketKey& key : previous_) {
    if (std::memcmp(key.name.data(), name, key.name.size()) == 0) {
      if (is_current != nullptr) *is_current = false;
      return key;
    }
  }
  return std::nullopt;
}

int TicketKeyCallback(TicketKeyRing& ring, uint8_t* key_name, uint8_t* iv,
                      EVP_CIPHER_CTX* cipher_ctx, HMAC_CTX* hmac_ctx,
                      int encrypt) {
  const EVP_CIPHER* cipher = EVP_aes_256_cbc();
  if (EVP_CIPHER_iv_length(cipher) != kIvLength) return -1;
  if (encrypt) {
    const TicketKey key = ring.current();
    std::memcpy(key_name, key.name.data(), key.name.size());
    if (!RAND_bytes(iv, kIvLength) ||
        !EVP_EncryptInit_ex(cipher_ctx, cipher, /*impl=*/nullptr,
                            key.aes_key.data(), iv) ||
        !HMAC_Init_ex(hmac_ctx, key.hmac_key.data(), key.hmac_key.size(),
                      EVP_sha256(), /*impl=*/nullptr)) {
      return -1;
    }
    return 1;
  }
  bool is_current = false;
  const std::optional<TicketKey> key = ring.Find(key_name, &is_current);
  if (!key) return 0;
  if (!EVP_DecryptInit_ex(cipher_ctx, cipher, /*impl=*/nullptr,
                          key->aes_key.data(), iv) ||
      !HMAC_Init_ex(hmac_ctx, key->hmac_key.data(), key->hmac_key.size(),
                    EVP_sha256(), /*impl=*/nullptr)) {
    return -1;
  }
  return is_current ? 1 : 2;
}

}  // namespace tlsession
