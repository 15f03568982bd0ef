// SessionCacheFile: saves a ClientSessionCache to a file and loads it back,
// so that a client restarted within a session's lifetime resumes.
//
// The file holds secrets. It is written atomically (a temporary file in the
// same folder, then rename) with mode 0600; a file that another user owns or
// that group or others can write is refused; expired sessions are skipped on
// load; a corrupt or truncated file is a clear error that leaves the cache as
// it was and the file in place for inspection.
//
// Plain files (the default) hold the sessions and digests of the keys: the
// keys name no host, but each session carries the server's certificate, and
// its secrets are in the clear. With a key file, the whole content is
// encrypted with AES-256-GCM and the key digests are HMACs under a key
// derived from the same file, so a stolen cache file reveals neither the
// sessions' secrets nor which hosts were visited.
#ifndef TLSESSION_SESSION_SESSION_CACHE_FILE_H_
#define TLSESSION_SESSION_SESSION_CACHE_FILE_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "session/client_session_cache.h"

namespace tlsession {

class SessionCacheFile {
 public:
  // |path| is the cache file. |key_file|, when not empty, names a file of at
  // least 32 secret bytes (for example 'head -c 32 /dev/urandom'); encryption
  // and keyed digests derive from it.
  static absl::StatusOr<SessionCacheFile> Open(std::string path,
                                               std::string key_file = "");

  // Gives |cache| this file's digest key. Load() does it too; call it before
  // using a cache that will be saved without having been loaded.
  void Attach(ClientSessionCache& cache) const;

  // Attaches |cache| (a cache belongs to one file: attaching it to another
  // makes its current sessions unreachable) and adds the file's unexpired
  // sessions to it. A missing
  // file loads nothing and is not an error. Returns the number of sessions
  // added.
  absl::StatusOr<size_t> Load(ClientSessionCache& cache) const;

  // Writes |cache|'s unexpired sessions, replacing the file atomically.
  absl::Status Save(const ClientSessionCache& cache) const;

  const std::string& path() const { return path_; }
  bool encrypted() const { return !aead_key_.empty(); }

 private:
  SessionCacheFile(std::string path, std::string aead_key,
                   std::string digest_key)
      : path_(std::move(path)),
        aead_key_(std::move(aead_key)),
        digest_key_(std::move(digest_key)) {}

  std::string path_;
  std::string aead_key_;    // Empty: plain file.
  std::string digest_key_;  // Empty: unkeyed digests.
};

}  // namespace tlsession

#endif  // TLSESSION_SESSION_SESSION_CACHE_FILE_H_
