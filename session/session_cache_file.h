// SessionCacheFile: keeps client sessions in a file across restarts. Load()
// takes the file's sessions into a ClientSessionStore, Save() merges the
// store's into the file; both under an advisory lock, with the file opened
// like an ssh private key and, with a key file, encrypted (AES-256-GCM).
// The promises and the file format's reasoning: ARCHITECTURE.md, "The cache
// file".
#ifndef TLSESSION_SESSION_SESSION_CACHE_FILE_H_
#define TLSESSION_SESSION_SESSION_CACHE_FILE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/secret.h"
#include "session/client_session_cache.h"
#include "session/client_session_store.h"

namespace tlsession {

class SessionCacheFile {
 public:
  // |path| is the cache file. |key_file|, when not empty, names a private
  // file (checked as the cache file is) of at least 32 secret bytes (for
  // example 'head -c 32 /dev/urandom'); encryption and keyed digests derive
  // from it, and its bytes are wiped once derived.
  static absl::StatusOr<SessionCacheFile> Open(std::string path,
                                               std::string key_file = "");

  // The key a ClientSessionCache that uses this file must be configured
  // with (ClientSessionCache::Config::digest_key); empty for a plain file.
  std::string digest_key() const { return std::string(digest_key_.view()); }

  // Takes the file's usable sessions into |cache|'s store, under the lock,
  // and returns how many. Single-use ones leave the file. A missing file
  // loads nothing. On any error nothing is added and the file is unchanged.
  // Fails when |cache| was not configured with digest_key().
  absl::StatusOr<size_t> Load(ClientSessionCache& cache) const;

  // Merges |cache|'s usable sessions into the file, under the lock: its
  // single-use sessions move from the store to the file, reusable ones are
  // copied. Refuses to write over a file it cannot read. Fails with
  // Unimplemented, touching neither the file nor the store, when the
  // cache's store cannot export (ClientSessionStore::exporter() is null).
  absl::Status Save(ClientSessionCache& cache) const;

  // Load(cache) over |store|, with |now| deciding usability.
  absl::StatusOr<size_t> Load(ClientSessionStore& store, absl::Time now) const;

  // Save(cache) over |store|, with |now| deciding usability.
  absl::Status Save(ClientSessionStore& store, absl::Time now) const;

  const std::string& path() const { return path_; }
  bool encrypted() const { return !aead_key_.empty(); }

 private:
  SessionCacheFile(std::string path, Secret aead_key, Secret digest_key)
      : path_(std::move(path)),
        aead_key_(std::move(aead_key)),
        digest_key_(std::move(digest_key)) {}

  // The file's entries; nullopt when it does not exist. Errors name why it
  // could not be read.
  absl::StatusOr<std::optional<std::vector<StoreEntry>>> ReadEntries() const;
  absl::StatusOr<std::vector<StoreEntry>> Decode(std::string data) const;
  // The body of a plain (checksummed) or sealed (AES-256-GCM) file.
  absl::StatusOr<std::string> OpenPlain(const std::string& data) const;
  absl::StatusOr<std::string> OpenSealed(const std::string& data) const;
  absl::StatusOr<std::string> Encode(
      const std::vector<StoreEntry>& entries) const;
  absl::Status Write(const std::vector<StoreEntry>& entries) const;
  // Returns OK when |cache| names keys with this file's digest key, else
  // FailedPrecondition saying how to configure it.
  absl::Status CheckCache(const ClientSessionCache& cache) const;
  // Returns the Unimplemented error of Save over a store that cannot export.
  absl::Status CannotExport() const;

  std::string path_;
  Secret aead_key_;    // Empty: plain file.
  Secret digest_key_;  // Empty: unkeyed digests.
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_SESSION_CACHE_FILE_H_
