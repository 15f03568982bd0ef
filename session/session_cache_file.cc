#include "session/session_cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/aead.h>
#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/private_file.h"
#include "base/ssl_error.h"
#include "session/memory_client_session_store.h"

namespace tlsession {
namespace {

// Layout: magic (8) | mode (1) | payload.
//   mode 0 (plain):     body | SHA-256(magic | mode | body)
//   mode 1 (encrypted): nonce (12) | AES-256-GCM(body), header as AD
// body: u32 entries, each: u8[32] key digest | u8[32] peer digest |
//       u32 sessions, each: u32 length | Session::ToBytes()
// The magic's last two characters are the format version.
constexpr absl::string_view kMagicFamily = "TLSSCF";
constexpr absl::string_view kMagic = "TLSSCF01";
constexpr uint8_t kPlain = 0;
constexpr uint8_t kEncrypted = 1;
constexpr size_t kHeaderSize = 9;
constexpr size_t kNonceSize = 12;
constexpr size_t kDigestSize = 32;
constexpr size_t kMaxFileSize = 64 << 20;
// Bounds of the merged file.
constexpr size_t kMaxKeys = 4096;
constexpr size_t kMaxSessionsPerKey = 8;
constexpr absl::Duration kLockWait = absl::Seconds(10);

Secret Derive(const Secret& secret, absl::string_view label) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), secret.data(), secret.size(),
       reinterpret_cast<const uint8_t*>(label.data()), label.size(), out, &len);
  Secret derived(std::string(reinterpret_cast<char*>(out), len));
  OPENSSL_cleanse(out, sizeof(out));
  return derived;
}

std::string Sha256(absl::string_view data) {
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

// A BoringSSL context used only to parse sessions.
const SSL_CTX* ParsingContext() {
  static SSL_CTX* const ctx = SSL_CTX_new(TLS_method());
  return ctx;
}

absl::Status Corrupt(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "session cache file '", path, "' is corrupt or truncated (", why,
      "); starting with an empty cache; the file is left in place and will "
      "not be written over: remove it to start afresh"));
}

// The advisory lock that serializes processes sharing one cache file. A
// separate PATH.lock, because the cache file itself is replaced by rename.
class FileLock {
 public:
  static absl::StatusOr<FileLock> Take(const std::string& path) {
    const std::string lock_path = path + ".lock";
    absl::StatusOr<PrivateFile> file =
        PrivateFile::OpenOrCreate(lock_path, "session cache lock file");
    if (!file.ok()) return file.status();
    const absl::Time deadline = absl::Now() + kLockWait;
    while (flock(file->fd(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        return absl::InternalError(
            absl::StrCat("locking '", lock_path, "': ", strerror(errno)));
      }
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError(absl::StrCat(
            "'", lock_path, "' stayed locked by another process for ",
            absl::FormatDuration(kLockWait)));
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
    return FileLock(*std::move(file));
  }

 private:
  explicit FileLock(PrivateFile file) : file_(std::move(file)) {}
  PrivateFile file_;  // Closing it releases the lock.
};

absl::Status AddSession(CBB* cbb, const Session& s) {
  absl::StatusOr<std::string> bytes = s.ToBytes();
  if (!bytes.ok()) return bytes.status();
  const bool ok =
      CBB_add_u32(cbb, static_cast<uint32_t>(bytes->size())) &&
      CBB_add_bytes(cbb, reinterpret_cast<const uint8_t*>(bytes->data()),
                    bytes->size());
  Secret::Wipe(*bytes);
  if (!ok) return absl::InternalError("encoding a session failed");
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeBody(const std::vector<StoreEntry>& entries) {
  bssl::ScopedCBB cbb;
  if (!CBB_init(cbb.get(), 4096) ||
      !CBB_add_u32(cbb.get(), static_cast<uint32_t>(entries.size()))) {
    return absl::InternalError("encoding the session cache failed");
  }
  for (const StoreEntry& e : entries) {
    if (e.key.key.size() != kDigestSize || e.key.peer.size() != kDigestSize ||
        !CBB_add_bytes(cbb.get(),
                       reinterpret_cast<const uint8_t*>(e.key.key.data()),
                       kDigestSize) ||
        !CBB_add_bytes(cbb.get(),
                       reinterpret_cast<const uint8_t*>(e.key.peer.data()),
                       kDigestSize) ||
        !CBB_add_u32(cbb.get(), static_cast<uint32_t>(e.sessions.size()))) {
      return absl::InternalError("encoding a cache entry failed");
    }
    for (const Session& s : e.sessions) {
      if (absl::Status st = AddSession(cbb.get(), s); !st.ok()) return st;
    }
  }
  uint8_t* data = nullptr;
  size_t len = 0;
  if (!CBB_finish(cbb.get(), &data, &len)) {
    return absl::InternalError("encoding the session cache failed");
  }
  bssl::UniquePtr<uint8_t> owned(data);
  std::string body(reinterpret_cast<char*>(data), len);
  OPENSSL_cleanse(data, len);
  return body;
}

absl::StatusOr<std::vector<StoreEntry>> DecodeBody(const std::string& body,
                                                   const std::string& path) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(body.data()), body.size());
  uint32_t count = 0;
  if (!CBS_get_u32(&cbs, &count)) return Corrupt(path, "no entry count");
  std::vector<StoreEntry> entries;
  for (uint32_t i = 0; i < count; ++i) {
    CBS key, peer;
    uint32_t n = 0;
    if (!CBS_get_bytes(&cbs, &key, kDigestSize) ||
        !CBS_get_bytes(&cbs, &peer, kDigestSize) || !CBS_get_u32(&cbs, &n)) {
      return Corrupt(path, absl::StrCat("entry ", i, " is cut short"));
    }
    StoreEntry e;
    e.key.key.assign(reinterpret_cast<const char*>(CBS_data(&key)),
                     kDigestSize);
    e.key.peer.assign(reinterpret_cast<const char*>(CBS_data(&peer)),
                      kDigestSize);
    for (uint32_t j = 0; j < n; ++j) {
      CBS bytes;
      uint32_t len = 0;
      if (!CBS_get_u32(&cbs, &len) || !CBS_get_bytes(&cbs, &bytes, len)) {
        return Corrupt(path, absl::StrCat("session ", j, " of entry ", i,
                                          " is cut short"));
      }
      absl::StatusOr<Session> s = Session::ParseUnchecked(
          absl::string_view(reinterpret_cast<const char*>(CBS_data(&bytes)),
                            CBS_len(&bytes)),
          ParsingContext());
      if (!s.ok()) return Corrupt(path, s.status().message());
      e.sessions.push_back(*std::move(s));
    }
    entries.push_back(std::move(e));
  }
  if (CBS_len(&cbs) != 0) return Corrupt(path, "trailing bytes");
  return entries;
}

// Only sessions still usable at |now|; entries left empty are dropped.
std::vector<StoreEntry> Usable(std::vector<StoreEntry> entries,
                               absl::Time now) {
  std::vector<StoreEntry> out;
  for (StoreEntry& e : entries) {
    StoreEntry kept{std::move(e.key), {}};
    for (Session& s : e.sessions) {
      if (s.is_resumable() && s.IsUsableAt(now)) {
        kept.sessions.push_back(std::move(s));
      }
    }
    if (!kept.sessions.empty()) out.push_back(std::move(kept));
  }
  return out;
}

// Splits |entries| into their reusable sessions (returned) and their
// single-use ones (moved to |tickets|).
std::vector<StoreEntry> SplitTickets(std::vector<StoreEntry> entries,
                                     std::vector<StoreEntry>* tickets) {
  std::vector<StoreEntry> reusable;
  for (StoreEntry& e : entries) {
    StoreEntry keep{e.key, {}}, take{e.key, {}};
    for (Session& s : e.sessions) {
      (s.is_single_use() ? take : keep).sessions.push_back(std::move(s));
    }
    if (!keep.sessions.empty()) reusable.push_back(std::move(keep));
    if (!take.sessions.empty()) tickets->push_back(std::move(take));
  }
  return reusable;
}

absl::Status WriteAll(int fd, absl::string_view data, const std::string& tmp) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(
          absl::StrCat("writing '", tmp, "': ", strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (fsync(fd) != 0) {
    return absl::InternalError(
        absl::StrCat("flushing '", tmp, "': ", strerror(errno)));
  }
  return absl::OkStatus();
}

// Replaces |path| with |data| atomically: a private temporary file beside
// it, then rename.
absl::Status ReplaceFile(const std::string& path, absl::string_view data) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = mkostemp(&tmp[0], O_CLOEXEC);  // Mode 0600.
  if (fd < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create a temporary file beside '", path,
                     "': ", strerror(errno)));
  }
  absl::Status written = WriteAll(fd, data, tmp);
  if (close(fd) != 0 && written.ok()) {
    written = absl::InternalError(
        absl::StrCat("closing '", tmp, "': ", strerror(errno)));
  }
  if (written.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    written = absl::InternalError(absl::StrCat("renaming '", tmp, "' to '",
                                               path, "': ", strerror(errno)));
  }
  if (!written.ok()) unlink(tmp.c_str());
  return written;
}

}  // namespace

absl::StatusOr<SessionCacheFile> SessionCacheFile::Open(std::string path,
                                                        std::string key_file) {
  if (path.empty()) {
    return absl::InvalidArgumentError("session cache file path is empty");
  }
  if (key_file.empty()) return SessionCacheFile(std::move(path), {}, {});
  absl::StatusOr<Secret> secret =
      ReadKeyFile(key_file, "session cache key file", 32);
  if (!secret.ok()) return secret.status();
  return SessionCacheFile(std::move(path),
                          Derive(*secret, "tlsession cache encryption v1"),
                          Derive(*secret, "tlsession cache digest v1"));
}

absl::StatusOr<std::optional<std::vector<StoreEntry>>>
SessionCacheFile::ReadEntries() const {
  absl::StatusOr<PrivateFile> file =
      PrivateFile::Open(path_, "session cache file");
  if (absl::IsNotFound(file.status())) return std::nullopt;
  if (!file.ok()) return file.status();
  absl::StatusOr<std::string> data = file->ReadAll(path_, kMaxFileSize);
  if (!data.ok()) return data.status();
  absl::StatusOr<std::vector<StoreEntry>> entries = Decode(*std::move(data));
  if (!entries.ok()) return entries.status();
  return std::make_optional(*std::move(entries));
}

absl::StatusOr<std::string> SessionCacheFile::OpenPlain(
    const std::string& data) const {
  if (encrypted()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session cache '", path_,
        "' is not encrypted but a key file was given; refusing it"));
  }
  if (data.size() < kHeaderSize + SHA256_DIGEST_LENGTH) {
    return Corrupt(path_, "too short");
  }
  const size_t body_end = data.size() - SHA256_DIGEST_LENGTH;
  if (Sha256(absl::string_view(data).substr(0, body_end)) !=
      data.substr(body_end)) {
    return Corrupt(path_, "checksum mismatch");
  }
  return data.substr(kHeaderSize, body_end - kHeaderSize);
}

absl::StatusOr<std::string> SessionCacheFile::OpenSealed(
    const std::string& data) const {
  if (!encrypted()) {
    return absl::FailedPreconditionError(
        absl::StrCat("session cache '", path_,
                     "' is encrypted; give the key file it was written with"));
  }
  if (data.size() < kHeaderSize + kNonceSize) {
    return Corrupt(path_, "too short");
  }
  bssl::ScopedEVP_AEAD_CTX aead;
  if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(), aead_key_.data(),
                         32, EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
    return absl::InternalError("AEAD init failed: " + DrainSslErrors());
  }
  const auto* in = reinterpret_cast<const uint8_t*>(data.data());
  const size_t sealed_len = data.size() - kHeaderSize - kNonceSize;
  std::string body(sealed_len, '\0');
  size_t body_len = 0;
  if (!EVP_AEAD_CTX_open(aead.get(), reinterpret_cast<uint8_t*>(&body[0]),
                         &body_len, body.size(), in + kHeaderSize, kNonceSize,
                         in + kHeaderSize + kNonceSize, sealed_len, in,
                         kHeaderSize)) {
    ERR_clear_error();
    return Corrupt(path_,
                   "decryption failed: wrong key file or damaged content");
  }
  body.resize(body_len);
  return body;
}

absl::StatusOr<std::vector<StoreEntry>> SessionCacheFile::Decode(
    std::string data) const {
  if (data.size() < kHeaderSize || !absl::StartsWith(data, kMagicFamily)) {
    return Corrupt(path_, "not a tlsession session cache");
  }
  if (!absl::StartsWith(data, kMagic)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "session cache '", path_, "' has format version ",
        data.substr(kMagicFamily.size(), 2),
        ", which this version does not read; it is left as it is"));
  }
  const uint8_t mode = static_cast<uint8_t>(data[kMagic.size()]);
  absl::StatusOr<std::string> body =
      mode == kPlain ? OpenPlain(data)
      : mode == kEncrypted
          ? OpenSealed(data)
          : Corrupt(path_, absl::StrCat("unknown mode ", mode));
  Secret::Wipe(data);
  if (!body.ok()) return body.status();
  absl::StatusOr<std::vector<StoreEntry>> entries = DecodeBody(*body, path_);
  Secret::Wipe(*body);
  return entries;
}

absl::StatusOr<std::string> SessionCacheFile::Encode(
    const std::vector<StoreEntry>& entries) const {
  absl::StatusOr<std::string> body = EncodeBody(entries);
  if (!body.ok()) return body.status();
  std::string out(kMagic);
  if (!encrypted()) {
    out.push_back(static_cast<char>(kPlain));
    out += *body;
    out += Sha256(out);
    Secret::Wipe(*body);
    return out;
  }
  out.push_back(static_cast<char>(kEncrypted));
  bssl::ScopedEVP_AEAD_CTX aead;
  if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(), aead_key_.data(),
                         32, EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
    return absl::InternalError("AEAD init failed: " + DrainSslErrors());
  }
  uint8_t nonce[kNonceSize];
  RAND_bytes(nonce, sizeof(nonce));
  std::string sealed(
      body->size() + EVP_AEAD_max_overhead(EVP_aead_aes_256_gcm()), '\0');
  size_t sealed_len = 0;
  const bool ok = EVP_AEAD_CTX_seal(
      aead.get(), reinterpret_cast<uint8_t*>(&sealed[0]), &sealed_len,
      sealed.size(), nonce, sizeof(nonce),
      reinterpret_cast<const uint8_t*>(body->data()), body->size(),
      reinterpret_cast<const uint8_t*>(out.data()), out.size());
  Secret::Wipe(*body);
  if (!ok) {
    return absl::InternalError("encrypting the session cache failed: " +
                               DrainSslErrors());
  }
  sealed.resize(sealed_len);
  out.append(reinterpret_cast<char*>(nonce), sizeof(nonce));
  return out + sealed;
}

absl::Status SessionCacheFile::Write(
    const std::vector<StoreEntry>& entries) const {
  absl::StatusOr<std::string> bytes = Encode(entries);
  if (!bytes.ok()) return bytes.status();
  absl::Status written = ReplaceFile(path_, *bytes);
  Secret::Wipe(*bytes);
  return written;
}

absl::Status SessionCacheFile::CheckCache(
    const ClientSessionCache& cache) const {
  if (cache.UsesDigestKey(digest_key_.view())) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the session cache was not configured with the digest key of '", path_,
      "' (ClientSessionCache::Config::digest_key = file.digest_key())"));
}

absl::StatusOr<size_t> SessionCacheFile::Load(ClientSessionCache& cache) const {
  if (absl::Status s = CheckCache(cache); !s.ok()) return s;
  return Load(cache.store(), cache.Now());
}

absl::Status SessionCacheFile::CannotExport() const {
  // Writing would give the file nothing and drop what it holds.
  return absl::UnimplementedError(absl::StrCat(
      "not saving sessions to '", path_,
      "': the session store cannot export its sessions (a shared store such "
      "as Redis is its own persistence)"));
}

absl::Status SessionCacheFile::Save(ClientSessionCache& cache) const {
  if (cache.store().exporter() == nullptr) return CannotExport();
  if (absl::Status s = CheckCache(cache); !s.ok()) return s;
  return Save(cache.store(), cache.Now());
}

absl::StatusOr<size_t> SessionCacheFile::Load(ClientSessionStore& store,
                                              absl::Time now) const {
  absl::StatusOr<FileLock> lock = FileLock::Take(path_);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<std::optional<std::vector<StoreEntry>>> read = ReadEntries();
  if (!read.ok()) return read.status();
  if (!read->has_value()) return 0;
  std::vector<StoreEntry> tickets;
  std::vector<StoreEntry> reusable =
      SplitTickets(Usable(**std::move(read), now), &tickets);
  if (!tickets.empty()) {
    // The tickets are this process's from now on: out of the file first, so
    // that a failure leaves them where they were and loads nothing.
    if (absl::Status s = Write(reusable); !s.ok()) return s;
  }
  size_t added = 0;
  for (const auto* part : {&reusable, &tickets}) {
    for (const StoreEntry& e : *part) {
      for (const Session& s : e.sessions) store.Put(e.key, s);
      added += e.sessions.size();
    }
  }
  return added;
}

absl::Status SessionCacheFile::Save(ClientSessionStore& store,
                                    absl::Time now) const {
  ClientSessionStoreExporter* exporter = store.exporter();
  if (exporter == nullptr) return CannotExport();
  absl::StatusOr<FileLock> lock = FileLock::Take(path_);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<std::optional<std::vector<StoreEntry>>> read = ReadEntries();
  if (!read.ok()) {
    return absl::Status(
        read.status().code(),
        absl::StrCat("not saving sessions: ", read.status().message()));
  }
  // What the file holds now (other processes' sessions), then ours, newest.
  MemoryClientSessionStore merged({kMaxKeys, kMaxSessionsPerKey});
  if (read->has_value()) {
    for (const StoreEntry& e : Usable(**std::move(read), now)) {
      for (const Session& s : e.sessions) merged.Put(e.key, s);
    }
  }
  for (const StoreEntry& e : Usable(exporter->Export(true), now)) {
    for (const Session& s : e.sessions) merged.Put(e.key, s);
  }
  return Write(merged.Export(false));
}

}  // namespace tlsession
