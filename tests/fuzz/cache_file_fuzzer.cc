// Fuzzes SessionCacheFile::Load (session/session_cache_file.h): the input is
// written to a private file (mode 0600) and loaded into a fresh
// ClientSessionCache, as a plain file and, with a fixed key file, as an
// encrypted one. Nothing may crash; a failed load leaves the cache empty,
// and Save then refuses to write over the file, which keeps every byte.
//
// Random bytes rarely pass the file's SHA-256 checksum or AES-GCM tag, so
// the input is also taken as the file's body (from a plain seed: the bytes
// between its header and checksum) and wrapped into a valid plain file and a
// valid encrypted file, which gets the mutations to the entry and session
// parser. A cache that loaded is saved and the file loaded again: it holds
// every session the cache held, and once loaded, no TLS 1.3 ticket is left
// in the file for another loader.
#include <fcntl.h>
#include <openssl/aead.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "session/client_session_cache.h"
#include "session/session_cache_file.h"
#include "tests/fuzz/fuzz_common.h"

namespace {

using tlsession::ClientSessionCache;
using tlsession::ClientSessionStore;
using tlsession::SessionCacheFile;
using tlsession::StoreEntry;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// The file format (session_cache_file.cc): magic | mode | payload.
constexpr absl::string_view kMagic = "TLSSCF01";
constexpr size_t kHeader = 9;
constexpr size_t kNonce = 12;

void WriteFile(const std::string& path, absl::string_view bytes) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
           0600);
  Check(fd >= 0);
  Check(fchmod(fd, 0600) == 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    Check(n > 0);
    done += static_cast<size_t>(n);
  }
  Check(close(fd) == 0);
}

// A private folder (on tmpfs when there is one: Save() calls fsync) with the
// key file, made once and removed at exit.
struct Workspace {
  std::string dir;
  std::string cache_path;
  std::string key_path;
  SessionCacheFile plain;
  SessionCacheFile encrypted;
  std::string aead_key;

  static Workspace* Make() {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nullptr;
    if (base == nullptr) base = getenv("TMPDIR");
    if (base == nullptr || *base == '\0') base = "/tmp";
    std::string dir = std::string(base) + "/cache_file_fuzzer.XXXXXX";
    Check(mkdtemp(&dir[0]) != nullptr);  // Mode 0700.
    const std::string key_path = dir + "/key";
    WriteFile(key_path, tlsession::fuzz::kCacheKeyFileContents);
    const std::string cache_path = dir + "/cache";
    absl::StatusOr<SessionCacheFile> plain = SessionCacheFile::Open(cache_path);
    absl::StatusOr<SessionCacheFile> encrypted =
        SessionCacheFile::Open(cache_path, key_path);
    Check(plain.ok() && encrypted.ok() && encrypted->encrypted());
    // The same derivation as SessionCacheFile::Open.
    uint8_t key[EVP_MAX_MD_SIZE];
    unsigned key_len = 0;
    const absl::string_view label = "tlsession cache encryption v1";
    HMAC(EVP_sha256(), tlsession::fuzz::kCacheKeyFileContents.data(),
         tlsession::fuzz::kCacheKeyFileContents.size(),
         reinterpret_cast<const uint8_t*>(label.data()), label.size(), key,
         &key_len);
    // SessionCacheFile holds secrets: moved, never copied.
    auto* w = new Workspace{dir,
                            cache_path,
                            key_path,
                            *std::move(plain),
                            *std::move(encrypted),
                            std::string(reinterpret_cast<char*>(key), key_len)};
    atexit([] {
      Workspace& w = Get();
      unlink(w.cache_path.c_str());
      unlink((w.cache_path + ".lock").c_str());
      unlink(w.key_path.c_str());
      rmdir(w.dir.c_str());
    });
    return w;
  }

  static Workspace& Get() {
    static Workspace* const w = Make();
    return *w;
  }
};

std::string Sha256(absl::string_view data) {
  uint8_t out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof(out));
}

std::string PlainFile(absl::string_view body) {
  std::string out(kMagic);
  out.push_back('\0');
  out.append(body.data(), body.size());
  out += Sha256(out);
  return out;
}

std::string EncryptedFile(absl::string_view body, const std::string& key) {
  std::string out(kMagic);
  out.push_back('\1');
  bssl::ScopedEVP_AEAD_CTX aead;
  Check(EVP_AEAD_CTX_init(aead.get(), EVP_aead_aes_256_gcm(),
                          reinterpret_cast<const uint8_t*>(key.data()), 32,
                          EVP_AEAD_DEFAULT_TAG_LENGTH, nullptr));
  const uint8_t nonce[kNonce] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  std::string sealed(
      body.size() + EVP_AEAD_max_overhead(EVP_aead_aes_256_gcm()), '\0');
  size_t sealed_len = 0;
  Check(EVP_AEAD_CTX_seal(
      aead.get(), reinterpret_cast<uint8_t*>(&sealed[0]), &sealed_len,
      sealed.size(), nonce, sizeof(nonce),
      reinterpret_cast<const uint8_t*>(body.data()), body.size(),
      reinterpret_cast<const uint8_t*>(out.data()), out.size()));
  sealed.resize(sealed_len);
  out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
  out += sealed;
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

// A cache for |file| (its digest key), with small bounds so that files can
// overflow them (or large ones), and a clock at the epoch so that the seeds'
// sessions (made after it) are never expired.
ClientSessionCache::Config CacheConfig(const SessionCacheFile& file,
                                       bool small = true) {
  ClientSessionCache::Config config;
  config.max_entries = small ? 4 : 4096;
  config.max_sessions_per_key = small ? 2 : 8;
  config.digest_key = file.digest_key();
  config.clock = [] { return absl::UnixEpoch(); };
  return config;
}

// Every (key digest, session id) a store holds; with |single_use_only|,
// only its TLS 1.3 tickets.
std::set<std::pair<std::string, std::string>> Contents(
    ClientSessionStore& store, bool single_use_only = false) {
  std::set<std::pair<std::string, std::string>> out;
  for (const StoreEntry& e : store.exporter()->Export(false)) {
    for (const tlsession::Session& s : e.sessions) {
      if (!single_use_only || s.is_single_use()) {
        out.emplace(e.key.key, s.id());
      }
    }
  }
  return out;
}

// Loads |bytes| as the cache file with |file| and checks the promises.
void LoadAndCheck(const SessionCacheFile& file, absl::string_view bytes) {
  Workspace& w = Workspace::Get();
  WriteFile(w.cache_path, bytes);
  ClientSessionCache cache(CacheConfig(file));
  absl::StatusOr<size_t> loaded = file.Load(cache);
  if (!loaded.ok()) {
    // All or nothing, and a file that could not be read is never written
    // over.
    Check(!loaded.status().message().empty());
    Check(cache.entry_count() == 0 && cache.session_count() == 0);
    Check(!file.Save(cache).ok());
    Check(ReadFile(w.cache_path) == bytes);
  } else {
    Check(cache.session_count() <= *loaded);
    Check(cache.entry_count() <= 4);
    // The file no longer holds the tickets this process loaded.
    ClientSessionCache other(CacheConfig(file, /*small=*/false));
    Check(file.Load(other).ok());
    Check(Contents(other.store(), /*single_use_only=*/true).empty());
    if (cache.session_count() > 0) {
      const auto held = Contents(cache.store());
      Check(file.Save(cache).ok());
      // Saving merges: every session the cache held is in the file.
      ClientSessionCache again(CacheConfig(file, /*small=*/false));
      absl::StatusOr<size_t> reloaded = file.Load(again);
      Check(reloaded.ok());
      const auto in_file = Contents(again.store());
      for (const auto& session : held) Check(in_file.count(session) == 1);
    }
  }
  Check(unlink(w.cache_path.c_str()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  Workspace& w = Workspace::Get();

  // The input as the whole file.
  LoadAndCheck(w.plain, input);
  LoadAndCheck(w.encrypted, input);

  // The input as the body of a valid file.
  absl::string_view body = input;
  if (input.size() >= kHeader + SHA256_DIGEST_LENGTH &&
      input.substr(0, kHeader) == absl::string_view("TLSSCF01\0", kHeader)) {
    body = input.substr(kHeader, input.size() - kHeader - SHA256_DIGEST_LENGTH);
  }
  LoadAndCheck(w.plain, PlainFile(body));
  LoadAndCheck(w.encrypted, EncryptedFile(body, w.aead_key));
  return 0;
}
