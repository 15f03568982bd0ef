// SessionCacheFile over real TLS on 127.0.0.1: a client restarted with a
// fresh cache and Context resumes from the file; the file is private and
// written atomically; unsafe, corrupt, truncated and expired content is
// refused or skipped with clear errors; plain files hold no host names and
// encrypted files hold neither host names nor session secrets.
#include "session/session_cache_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "tests/testing/tls_server.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Client options (so the same identity every time) with |cache|.
std::shared_ptr<const Context> CachingClient(
    std::shared_ptr<ClientSessionCache> cache) {
  ContextOptions o = ClientOptions();
  o.session_cache = std::move(cache);
  return MustCreate(o);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The permission bits of |path|, or -1 when it cannot be stat'ed.
int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (struct dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

// Writes |data| to |path| with mode 0600, whatever the umask.
void WritePrivateFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(fchmod(fd, 0600), 0);
  ASSERT_EQ(write(fd, data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  ASSERT_EQ(close(fd), 0);
}

// Writes |n| random bytes, mode 0600, to |path|.
void WriteKeyFile(const std::string& path, size_t n) {
  std::string key(n, '\0');
  ASSERT_EQ(RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), n), 1);
  WritePrivateFile(path, key);
}

// Connects once as "localhost" through a fresh cache attached to |file|,
// then saves the cache to |file|. Returns the cache.
absl::StatusOr<std::shared_ptr<ClientSessionCache>> ConnectAndSave(
    const SessionCacheFile& file, uint16_t port) {
  auto cache = std::make_shared<ClientSessionCache>();
  file.Attach(*cache);
  absl::StatusOr<ClientRun> run = RunClient(CachingClient(cache), port);
  if (!run.ok()) return run.status();
  if (run->reused) return absl::InternalError("first connection resumed");
  if (cache->session_count() == 0) {
    return absl::InternalError("the connection cached no session");
  }
  if (absl::Status s = file.Save(*cache); !s.ok()) return s;
  return cache;
}

// What one connection through a Context with a cache did.
struct Outcome {
  bool offered_cached_session = false;
  bool session_reused = false;
};

absl::StatusOr<Outcome> ConnectOnce(const std::shared_ptr<const Context>& ctx,
                                    uint16_t port) {
  auto conn = Connection::Connect(ctx, "localhost", port);
  if (!conn.ok()) return conn.status();
  Outcome o;
  o.offered_cached_session = (*conn)->offered_cached_session();
  o.session_reused = (*conn)->session_reused();
  if (absl::Status s = (*conn)->Shutdown(); !s.ok()) return s;
  return o;
}

class PersistenceTest : public ::testing::TestWithParam<Resumption> {};

TEST_P(PersistenceTest, RestartedClientResumesFromTheFile) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions(GetParam())));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = MakeTempDir() + "/sessions";
  auto file = SessionCacheFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_FALSE(file->encrypted());
  EXPECT_EQ(file->path(), path);

  // First process: one full handshake, sessions cached, cache saved.
  auto cache = std::make_shared<ClientSessionCache>();
  auto client = CachingClient(cache);
  auto first = RunClient(client, port);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->reused);
  const size_t saved = cache->session_count();
  ASSERT_GT(saved, 0u);
  ASSERT_TRUE(file->Save(*cache).ok());
  ASSERT_TRUE(Exists(path));

  // A fresh cache that loads nothing does not resume: the file is what
  // makes the difference below.
  auto unloaded = CachingClient(std::make_shared<ClientSessionCache>());
  auto cold = ConnectOnce(unloaded, port);
  ASSERT_TRUE(cold.ok()) << cold.status();
  EXPECT_FALSE(cold->offered_cached_session);
  EXPECT_FALSE(cold->session_reused);

  // "Restarted" process: fresh cache, fresh Context, same options.
  auto restarted_cache = std::make_shared<ClientSessionCache>();
  auto restarted = CachingClient(restarted_cache);
  ASSERT_EQ(restarted->id(), client->id());
  auto loaded = file->Load(*restarted_cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, saved);
  EXPECT_EQ(restarted_cache->session_count(), saved);

  auto resumed = ConnectOnce(restarted, port);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->offered_cached_session);
  EXPECT_TRUE(resumed->session_reused);
  EXPECT_EQ(restarted_cache->metrics().hits, 1u);

  ASSERT_TRUE((*server)->WaitForServed(3));
  auto served = (*server)->served();
  ASSERT_EQ(served.size(), 3u);
  EXPECT_FALSE(served[0].session_reused);
  EXPECT_FALSE(served[1].session_reused);
  EXPECT_TRUE(served[2].session_reused);
}

TEST_P(PersistenceTest, ExpiredSessionsAreSkippedOnLoad) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions(GetParam())));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string path = MakeTempDir() + "/sessions";
  auto file = SessionCacheFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto saved = ConnectAndSave(*file, (*server)->port());
  ASSERT_TRUE(saved.ok()) << saved.status();
  const size_t count = (*saved)->session_count();

  // The server grants 2 hours; three hours later nothing is left.
  ClientSessionCache::Config later;
  const absl::Time now = absl::Now();
  later.clock = [now] { return now + absl::Hours(3); };
  ClientSessionCache expired_cache(later);
  auto loaded = file->Load(expired_cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 0u);
  EXPECT_EQ(expired_cache.size(), 0u);
  EXPECT_EQ(expired_cache.session_count(), 0u);
  EXPECT_EQ(expired_cache.metrics().expirations, count);

  // The same file read now still holds every session.
  ClientSessionCache current;
  auto loaded_now = file->Load(current);
  ASSERT_TRUE(loaded_now.ok()) << loaded_now.status();
  EXPECT_EQ(*loaded_now, count);
}

INSTANTIATE_TEST_SUITE_P(
    Modes, PersistenceTest,
    ::testing::Values(Resumption::kTls13, Resumption::kTls12SessionId,
                      Resumption::kTls12Ticket),
    [](const auto& info) { return ResumptionName(info.param); });

// A server and a saved plain file, for the tests below.
class SavedFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    dir_ = MakeTempDir();
    path_ = dir_ + "/sessions";
    auto file = SessionCacheFile::Open(path_);
    ASSERT_TRUE(file.ok()) << file.status();
    file_ = std::make_unique<SessionCacheFile>(*std::move(file));
    auto cache = ConnectAndSave(*file_, server_->port());
    ASSERT_TRUE(cache.ok()) << cache.status();
    cache_ = *std::move(cache);
  }

  std::unique_ptr<TestTlsServer> server_;
  std::string dir_;
  std::string path_;
  std::unique_ptr<SessionCacheFile> file_;
  std::shared_ptr<ClientSessionCache> cache_;
};

TEST_F(SavedFileTest, PrivateModeAndNoTemporaryFileLeft) {
  EXPECT_EQ(FileMode(path_), 0600);
  EXPECT_THAT(ListDir(dir_), ElementsAre("sessions"));

  // Replacing a file that was readable by others leaves a private one, and
  // still no temporary file.
  ASSERT_EQ(chmod(path_.c_str(), 0644), 0);
  ASSERT_EQ(FileMode(path_), 0644);
  const std::string before = ReadFileOrEmpty(path_);
  ASSERT_TRUE(file_->Save(*cache_).ok());
  EXPECT_EQ(FileMode(path_), 0600);
  EXPECT_THAT(ListDir(dir_), ElementsAre("sessions"));
  // The same cache saved again gives the same plain content.
  EXPECT_EQ(ReadFileOrEmpty(path_), before);
}

TEST_F(SavedFileTest, WritableByGroupOrOthersIsRefused) {
  for (mode_t mode : {0620, 0602, 0622}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
    ASSERT_EQ(FileMode(path_), static_cast<int>(mode));
    ClientSessionCache cache;
    auto loaded = file_->Load(cache);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(Msg(loaded.status()), HasSubstr("'" + path_ + "'"));
    EXPECT_THAT(Msg(loaded.status()), HasSubstr("writable by group or others"));
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.session_count(), 0u);
  }
  // The same file, private again, loads: the mode was the only problem.
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  ClientSessionCache cache;
  auto loaded = file_->Load(cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, cache_->session_count());
}

TEST_F(SavedFileTest, CorruptOrTruncatedFileIsDataLossAndLeftInPlace) {
  const std::string good = ReadFileOrEmpty(path_);
  ASSERT_GT(good.size(), 100u);
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x01;
  std::string truncated = good.substr(0, good.size() / 2);

  for (const std::string* bad : {&flipped, &truncated}) {
    SCOPED_TRACE(bad == &flipped ? "flipped" : "truncated");
    WritePrivateFile(path_, *bad);
    ClientSessionCache cache;
    auto loaded = file_->Load(cache);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Msg(loaded.status()),
                AllOf(HasSubstr(path_),
                      AnyOf(HasSubstr("corrupt"), HasSubstr("truncated"))));
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.session_count(), 0u);
    // Left in place, byte for byte, for inspection.
    EXPECT_TRUE(ReadFileOrEmpty(path_) == *bad);
    EXPECT_EQ(FileMode(path_), 0600);
  }
}

TEST_F(SavedFileTest, PlainFileWithAKeyFileIsRefused) {
  const std::string key_file = dir_ + "/key";
  WriteKeyFile(key_file, 32);
  auto keyed = SessionCacheFile::Open(path_, key_file);
  ASSERT_TRUE(keyed.ok()) << keyed.status();
  EXPECT_TRUE(keyed->encrypted());
  const std::string before = ReadFileOrEmpty(path_);
  ClientSessionCache cache;
  auto loaded = keyed->Load(cache);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(loaded.status()),
              AllOf(HasSubstr(path_), HasSubstr("not encrypted")));
  EXPECT_EQ(cache.session_count(), 0u);
  EXPECT_TRUE(ReadFileOrEmpty(path_) == before);
}

TEST(SessionCacheFile, LoadCountsSessionsAddedEvenWhenOthersAreEvicted) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string path = MakeTempDir() + "/sessions";
  auto file = SessionCacheFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();

  // A file with one session, for "localhost".
  ClientSessionCache::Config one_per_key;
  one_per_key.max_sessions_per_key = 1;
  auto saved = std::make_shared<ClientSessionCache>(one_per_key);
  ASSERT_TRUE(RunClient(CachingClient(saved), port).ok());
  ASSERT_EQ(saved->session_count(), 1u);
  ASSERT_TRUE(file->Save(*saved).ok());

  // A one-entry cache holding two sessions for "127.0.0.1": loading the
  // file adds one session and evicts those two.
  ClientSessionCache::Config one_entry;
  one_entry.max_entries = 1;
  auto cache = std::make_shared<ClientSessionCache>(one_entry);
  ASSERT_TRUE(
      RunClient(CachingClient(cache), port, Session(), "127.0.0.1").ok());
  ASSERT_EQ(cache->session_count(), 2u);
  auto loaded = file->Load(*cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(cache->session_count(), 1u);
  EXPECT_EQ(*loaded, 1u);
}

TEST(SessionCacheFile, MissingFileLoadsNothing) {
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/never-saved";
  const std::string key_file = dir + "/key";
  WriteKeyFile(key_file, 32);
  for (const std::string& key : {std::string(), key_file}) {
    SCOPED_TRACE(key.empty() ? "plain" : "keyed");
    auto file = SessionCacheFile::Open(path, key);
    ASSERT_TRUE(file.ok()) << file.status();
    ClientSessionCache cache;
    auto loaded = file->Load(cache);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(*loaded, 0u);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_FALSE(Exists(path));
  }
}

TEST(SessionCacheFile, OpenRefusesShortMissingKeyFilesAndEmptyPath) {
  const std::string dir = MakeTempDir();
  const std::string short_key = dir + "/short";
  WriteKeyFile(short_key, 31);
  auto refused = SessionCacheFile::Open(dir + "/sessions", short_key);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(refused.status()),
              AllOf(HasSubstr(short_key), HasSubstr("31 bytes"),
                    HasSubstr("at least 32")));

  const std::string exact_key = dir + "/exact";
  WriteKeyFile(exact_key, 32);
  EXPECT_TRUE(SessionCacheFile::Open(dir + "/sessions", exact_key).ok());

  auto missing = SessionCacheFile::Open(dir + "/sessions", dir + "/nokey");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(missing.status()), HasSubstr(dir + "/nokey"));

  EXPECT_EQ(SessionCacheFile::Open("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Plain files keep host names out of the keys (digests only), but each
// session carries the server's certificate, which names the host: only an
// encrypted file hides the hosts visited. This test pins that documented
// limit so the README's advice stays true.
TEST(Privacy, PlainFileKeysAreDigestsButCertificatesNameTheHost) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string path = MakeTempDir() + "/sessions";
  auto file = SessionCacheFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  auto cache = ConnectAndSave(*file, (*server)->port());
  ASSERT_TRUE(cache.ok()) << cache.status();
  const std::string content = ReadFileOrEmpty(path);
  ASSERT_FALSE(content.empty());
  uint8_t* der = nullptr;
  const int der_len = i2d_X509(GetTestPki().server.cert.get(), &der);
  ASSERT_GT(der_len, 0);
  const std::string cert_der(reinterpret_cast<char*>(der), der_len);
  OPENSSL_free(der);
  ASSERT_TRUE(Contains(content, cert_der));
  // Outside the certificates, "localhost" appears nowhere.
  std::string rest = content;
  for (size_t at; (at = rest.find(cert_der)) != std::string::npos;) {
    rest.erase(at, cert_der.size());
  }
  EXPECT_FALSE(Contains(rest, "localhost"));
}

TEST(Privacy, EncryptedFileHidesHostsAndSecretsAndNeedsItsKey) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/sessions.enc";
  const std::string key_file = dir + "/key";
  const std::string other_key_file = dir + "/other-key";
  WriteKeyFile(key_file, 48);
  WriteKeyFile(other_key_file, 48);

  auto file = SessionCacheFile::Open(path, key_file);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->encrypted());
  auto cache = ConnectAndSave(*file, port);
  ASSERT_TRUE(cache.ok()) << cache.status();
  EXPECT_EQ(FileMode(path), 0600);

  // A 32-byte slice from the middle of a cached session's serialization.
  std::vector<ClientSessionCache::Entry> entries = (*cache)->Export();
  ASSERT_FALSE(entries.empty());
  ASSERT_FALSE(entries[0].sessions.empty());
  absl::StatusOr<std::string> session_bytes =
      entries[0].sessions[0].ToBytes();
  ASSERT_TRUE(session_bytes.ok()) << session_bytes.status();
  ASSERT_GE(session_bytes->size(), 64u);
  const std::string slice = session_bytes->substr(session_bytes->size() / 2, 32);

  const std::string encrypted = ReadFileOrEmpty(path);
  ASSERT_FALSE(encrypted.empty());
  EXPECT_FALSE(Contains(encrypted, "localhost"));
  EXPECT_FALSE(Contains(encrypted, slice));
  // Control: a plain save of the same cache does hold that slice.
  auto plain = SessionCacheFile::Open(dir + "/sessions.plain");
  ASSERT_TRUE(plain.ok());
  ASSERT_TRUE(plain->Save(**cache).ok());
  EXPECT_TRUE(Contains(ReadFileOrEmpty(dir + "/sessions.plain"), slice));

  {  // Without the key file: a clear refusal.
    auto no_key = SessionCacheFile::Open(path);
    ASSERT_TRUE(no_key.ok());
    ClientSessionCache c;
    auto loaded = no_key->Load(c);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(Msg(loaded.status()),
                AllOf(HasSubstr(path), HasSubstr("encrypted"),
                      HasSubstr("key file")));
    EXPECT_EQ(c.session_count(), 0u);
  }
  {  // With another key file: decryption fails.
    auto wrong = SessionCacheFile::Open(path, other_key_file);
    ASSERT_TRUE(wrong.ok());
    ClientSessionCache c;
    auto loaded = wrong->Load(c);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Msg(loaded.status()),
                AllOf(HasSubstr(path), HasSubstr("wrong key file")));
    EXPECT_EQ(c.session_count(), 0u);
  }
  EXPECT_TRUE(ReadFileOrEmpty(path) == encrypted);

  // With the right key file, a restarted client resumes.
  auto reopened = SessionCacheFile::Open(path, key_file);
  ASSERT_TRUE(reopened.ok());
  auto restarted_cache = std::make_shared<ClientSessionCache>();
  auto restarted = CachingClient(restarted_cache);
  auto loaded = reopened->Load(*restarted_cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, (*cache)->session_count());
  auto resumed = ConnectOnce(restarted, port);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_TRUE(resumed->offered_cached_session);
  EXPECT_TRUE(resumed->session_reused);
}

TEST(Privacy, CorruptEncryptedFileIsDataLossAndLeftInPlace) {
  auto server = TestTlsServer::Start(MustCreate(ServerOptions()));
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = MakeTempDir();
  const std::string path = dir + "/sessions.enc";
  const std::string key_file = dir + "/key";
  WriteKeyFile(key_file, 32);
  auto file = SessionCacheFile::Open(path, key_file);
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(ConnectAndSave(*file, (*server)->port()).ok());
  const std::string good = ReadFileOrEmpty(path);
  ASSERT_GT(good.size(), 100u);
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x01;
  std::string truncated = good.substr(0, good.size() / 2);
  for (const std::string* bad : {&flipped, &truncated}) {
    SCOPED_TRACE(bad == &flipped ? "flipped" : "truncated");
    WritePrivateFile(path, *bad);
    ClientSessionCache cache;
    auto loaded = file->Load(cache);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(Msg(loaded.status()),
                AllOf(HasSubstr(path),
                      AnyOf(HasSubstr("corrupt"), HasSubstr("truncated"))));
    EXPECT_EQ(cache.session_count(), 0u);
    EXPECT_TRUE(ReadFileOrEmpty(path) == *bad);
  }
}

}  // namespace
}  // namespace tlsession::testing
