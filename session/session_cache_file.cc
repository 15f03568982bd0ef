#include "session/session_cache_file.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/aead.h>
#include <openssl/bytestring.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "session/ssl_error.h"

namespace tlsession {
namespace {

// Layout: magic (8) | mode (1) | payload.
//   mode 0 (plain):     body | SHA-256(magic | mode | body)
//   mode 1 (encrypted): nonce (12) | AES-256-GCM(body), header as AD
// body: u32 entries, each: u8[32] key digest | u8[32] peer digest |
//       u32 sessions, each: u32 length | Session::ToBytes()
constexpr absl::string_view kMagic = "TLSSCF01";
constexpr uint8_t kPlain = 0;
constexpr uint8_t kEncrypted = 1;
constexpr size_t kDigestSize = 32;
constexpr size_t kMaxFileSize = 64 << 20;

std::string Hmac(absl::string_view key, absl::string_view label) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), key.size(),
       reinterpret_cast<const uint8_t*>(label.data()), label.size(), out,
       &len);
  return std::string(reinterpret_cast<char*>(out), len);
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

absl::StatusOr<std::string> ReadWhole(int fd, const std::string& path) {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(
          absl::StrCat("reading '", path, "': ", strerror(errno)));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    if (data.size() > kMaxFileSize) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", path, "' is larger than 64 MiB"));
    }
  }
  return data;
}

absl::Status Corrupt(const std::string& path, absl::string_view why) {
  return absl::DataLossError(absl::StrCat(
      "session cache file '", path, "' is corrupt or truncated (", why,
      "); starting with an empty cache, file left in place"));
}

}  // namespace

absl::StatusOr<SessionCacheFile> SessionCacheFile::Open(std::string path,
                                                        std::string key_file) {
  if (path.empty()) {
    return absl::InvalidArgumentError("session cache file path is empty");
  }
  if (key_file.empty()) return SessionCacheFile(std::move(path), "", "");
  int fd = open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(
        "cannot open session cache key file '", key_file, "': ",
        strerror(errno)));
  }
  absl::StatusOr<std::string> secret = ReadWhole(fd, key_file);
  close(fd);
  if (!secret.ok()) return secret.status();
  if (secret->size() < 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "session cache key file '", key_file, "' holds ", secret->size(),
        " bytes; it needs at least 32 secret bytes"));
  }
  return SessionCacheFile(std::move(path),
                          Hmac(*secret, "tlsession cache encryption v1"),
                          Hmac(*secret, "tlsession cache digest v1"));
}

void SessionCacheFile::Attach(ClientSessionCache& cache) const {
  cache.set_digest_key(digest_key_);
}

absl::Status SessionCacheFile::Save(const ClientSessionCache& cache) const {
  std::vector<ClientSessionCache::Entry> entries = cache.Export();
  bssl::ScopedCBB cbb;
  CBB_init(cbb.get(), 4096);
  CBB_add_u32(cbb.get(), static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) {
    CBB_add_bytes(cbb.get(),
                  reinterpret_cast<const uint8_t*>(e.key_digest.data()),
                  kDigestSize);
    CBB_add_bytes(cbb.get(),
                  reinterpret_cast<const uint8_t*>(e.peer_digest.data()),
                  kDigestSize);
    CBB_add_u32(cbb.get(), static_cast<uint32_t>(e.sessions.size()));
    for (const Session& s : e.sessions) {
      absl::StatusOr<std::string> bytes = s.ToBytes();
      if (!bytes.ok()) return bytes.status();
      CBB_add_u32(cbb.get(), static_cast<uint32_t>(bytes->size()));
      CBB_add_bytes(cbb.get(), reinterpret_cast<const uint8_t*>(bytes->data()),
                    bytes->size());
    }
  }
  uint8_t* body_data = nullptr;
  size_t body_len = 0;
  if (!CBB_finish(cbb.get(), &body_data, &body_len)) {
    return absl::InternalError("encoding the session cache failed");
  }
  bssl::UniquePtr<uint8_t> owned(body_data);
  std::string body(reinterpret_cast<char*>(body_data), body_len);
  OPENSSL_cleanse(body_data, body_len);

  std::string out(kMagic);
  if (aead_key_.empty()) {
    out.push_back(static_cast<char>(kPlain));
    out += body;
    out += Sha256(out);
  } else {
    out.push_back(static_cast<char>(kEncrypted));
    bssl::ScopedEVP_AEAD_CTX aead;
    if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(),
                           reinterpret_cast<const uint8_t*>(aead_key_.data()),
                           32, EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
      return absl::InternalError("AEAD init failed: " + DrainSslErrors());
    }
    uint8_t nonce[12];
    RAND_bytes(nonce, sizeof(nonce));
    std::string sealed(body.size() + EVP_AEAD_max_overhead(
                                         EVP_aead_aes_256_gcm()), '\0');
    size_t sealed_len = 0;
    if (!EVP_AEAD_CTX_seal(aead.get(), reinterpret_cast<uint8_t*>(&sealed[0]),
                           &sealed_len, sealed.size(), nonce, sizeof(nonce),
                           reinterpret_cast<const uint8_t*>(body.data()),
                           body.size(),
                           reinterpret_cast<const uint8_t*>(out.data()),
                           out.size())) {
      return absl::InternalError("encrypting the session cache failed: " +
                                 DrainSslErrors());
    }
    sealed.resize(sealed_len);
    out.append(reinterpret_cast<char*>(nonce), sizeof(nonce));
    out += sealed;
  }
  OPENSSL_cleanse(&body[0], body.size());

  // Atomically: a private temporary file beside the target, then rename.
  std::string tmp = path_ + ".tmp.XXXXXX";
  int fd = mkstemp(&tmp[0]);  // Mode 0600.
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot create a temporary file beside '", path_, "': ",
        strerror(errno)));
  }
  fchmod(fd, 0600);
  size_t written = 0;
  while (written < out.size()) {
    ssize_t n = write(fd, out.data() + written, out.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("writing '", tmp, "': ",
                                              strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = fsync(fd) == 0;
  const int sync_errno = errno;
  const bool closed = close(fd) == 0;
  if (!synced || !closed) {
    const int err = synced ? errno : sync_errno;
    unlink(tmp.c_str());
    return absl::InternalError(
        absl::StrCat("flushing '", tmp, "': ", strerror(err)));
  }
  if (rename(tmp.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("renaming '", tmp, "' to '",
                                            path_, "': ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> SessionCacheFile::Load(ClientSessionCache& cache) const {
  Attach(cache);
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    return absl::PermissionDeniedError(absl::StrCat(
        "cannot open session cache file '", path_, "': ", strerror(errno)));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::PermissionDeniedError(
        absl::StrCat("session cache '", path_, "' is not a regular file"));
  }
  if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    close(fd);
    return absl::PermissionDeniedError(absl::StrCat(
        "refusing to load session cache '", path_,
        "': it is owned by another user or writable by group or others "
        "(mode ", absl::Hex(st.st_mode & 0777), ")"));
  }
  absl::StatusOr<std::string> data = ReadWhole(fd, path_);
  close(fd);
  if (!data.ok()) return data.status();

  const size_t header = kMagic.size() + 1;
  if (data->size() < header || data->substr(0, kMagic.size()) != kMagic) {
    return Corrupt(path_, "not a tlsession session cache");
  }
  const uint8_t mode = static_cast<uint8_t>((*data)[kMagic.size()]);
  std::string body;
  if (mode == kPlain) {
    if (!aead_key_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "session cache '", path_,
          "' is not encrypted but a key file was given; refusing it"));
    }
    if (data->size() < header + SHA256_DIGEST_LENGTH) {
      return Corrupt(path_, "too short");
    }
    const size_t body_end = data->size() - SHA256_DIGEST_LENGTH;
    if (Sha256(absl::string_view(*data).substr(0, body_end)) !=
        data->substr(body_end)) {
      return Corrupt(path_, "checksum mismatch");
    }
    body = data->substr(header, body_end - header);
  } else if (mode == kEncrypted) {
    if (aead_key_.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "session cache '", path_,
          "' is encrypted; give the key file it was written with"));
    }
    if (data->size() < header + 12) return Corrupt(path_, "too short");
    bssl::ScopedEVP_AEAD_CTX aead;
    if (!EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(),
                           reinterpret_cast<const uint8_t*>(aead_key_.data()),
                           32, EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr)) {
      return absl::InternalError("AEAD init failed: " + DrainSslErrors());
    }
    const auto* nonce =
        reinterpret_cast<const uint8_t*>(data->data() + header);
    const auto* sealed =
        reinterpret_cast<const uint8_t*>(data->data() + header + 12);
    const size_t sealed_len = data->size() - header - 12;
    body.resize(sealed_len);
    size_t body_len = 0;
    if (!EVP_AEAD_CTX_open(aead.get(), reinterpret_cast<uint8_t*>(&body[0]),
                           &body_len, body.size(), nonce, 12, sealed,
                           sealed_len,
                           reinterpret_cast<const uint8_t*>(data->data()),
                           header)) {
      ERR_clear_error();
      return Corrupt(path_,
                     "decryption failed: wrong key file or damaged content");
    }
    body.resize(body_len);
  } else {
    return Corrupt(path_, absl::StrCat("unknown mode ", mode));
  }

  // Parse everything before touching the cache: all or nothing.
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(body.data()), body.size());
  uint32_t count = 0;
  if (!CBS_get_u32(&cbs, &count)) return Corrupt(path_, "no entry count");
  std::vector<ClientSessionCache::Entry> entries;
  for (uint32_t i = 0; i < count; ++i) {
    CBS key, peer;
    uint32_t n = 0;
    if (!CBS_get_bytes(&cbs, &key, kDigestSize) ||
        !CBS_get_bytes(&cbs, &peer, kDigestSize) || !CBS_get_u32(&cbs, &n)) {
      return Corrupt(path_, absl::StrCat("entry ", i, " is cut short"));
    }
    ClientSessionCache::Entry e;
    e.key_digest.assign(reinterpret_cast<const char*>(CBS_data(&key)),
                        kDigestSize);
    e.peer_digest.assign(reinterpret_cast<const char*>(CBS_data(&peer)),
                         kDigestSize);
    for (uint32_t j = 0; j < n; ++j) {
      CBS bytes;
      uint32_t len = 0;
      if (!CBS_get_u32(&cbs, &len) || !CBS_get_bytes(&cbs, &bytes, len)) {
        return Corrupt(path_, absl::StrCat("session ", j, " of entry ", i,
                                           " is cut short"));
      }
      absl::StatusOr<Session> s = Session::ParseUnchecked(
          absl::string_view(reinterpret_cast<const char*>(CBS_data(&bytes)),
                            CBS_len(&bytes)),
          ParsingContext());
      if (!s.ok()) return Corrupt(path_, s.status().message());
      e.sessions.push_back(*std::move(s));
    }
    entries.push_back(std::move(e));
  }
  if (CBS_len(&cbs) != 0) return Corrupt(path_, "trailing bytes");
  return cache.Import(std::move(entries));
}

}  // namespace tlsession
