// SessionCacheFile's promises (session/session_cache_file.h), mostly on
// sessions built in memory (tests/testing/test_sessions.h): the file is
// opened like an ssh private key (no symlink, no FIFO, owned by this user,
// private) and so is its key file; it is never written over when it could
// not be read (encrypted without the key, corrupt, a newer format); a failed
// Load leaves the cache as it was; processes sharing the file never load the
// same TLS 1.3 ticket and never drop each other's sessions (flock on
// PATH.lock; one test with two real processes); unusable sessions are
// skipped both ways; plain files hold no host names in their keys and
// encrypted files hold neither host names nor secrets. End-to-end tests over
// real TLS on 127.0.0.1: a restarted client resumes from the file.
#include "session/session_cache_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "session/client_session_cache.h"
#include "session/client_session_store.h"
#include "tests/testing/files.h"
#include "tests/testing/test_sessions.h"
#include "tests/tls_test_util.h"

namespace tlsession::testing {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr absl::string_view kCtx = "file test context";

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// The permission bits of |path| (not following a symlink), or -1.
int FileMode(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

bool Exists(const std::string& path) { return PathExists(path); }

// Writes |data| to |path| with mode 0600, whatever the umask.
void WritePrivateFileOrFail(const std::string& path, const std::string& data) {
  ASSERT_TRUE(WritePrivateFile(path, data)) << path;
}

// Writes |n| random bytes, mode 0600, to |path|.
void WriteKeyFile(const std::string& path, size_t n) {
  std::string key(n, '\0');
  ASSERT_EQ(RAND_bytes(reinterpret_cast<uint8_t*>(&key[0]), n), 1);
  WritePrivateFileOrFail(path, key);
}

// Opens |path| (with |key_file|), or aborts: for tests about something else.
SessionCacheFile MustOpen(const std::string& path,
                          const std::string& key_file = "") {
  absl::StatusOr<SessionCacheFile> file =
      SessionCacheFile::Open(path, key_file);
  if (!file.ok()) {
    fprintf(stderr, "SessionCacheFile::Open: %s\n",
            file.status().ToString().c_str());
    abort();
  }
  return *std::move(file);
}

// A cache configured for |file|, on |clock|.
std::unique_ptr<ClientSessionCache> CacheFor(const SessionCacheFile& file,
                                             const TestClock& clock,
                                             size_t max_entries = 1024) {
  ClientSessionCache::Config c;
  c.digest_key = file.digest_key();
  c.clock = clock.fn();
  c.max_entries = max_entries;
  c.max_sessions_per_key = 8;
  return std::make_unique<ClientSessionCache>(c);
}

ClientSessionCache::Key KeyFor(absl::string_view host, uint16_t port = 990) {
  return ClientSessionCache::Key{
      std::string(kCtx), std::string(host), port, {}};
}

// Everything a store holds, in order, by ids: to compare a store before and
// after.
std::vector<std::string> Snapshot(ClientSessionStore& store) {
  std::vector<std::string> out;
  for (const StoreEntry& e : store.exporter()->Export(false)) {
    std::string line = absl::StrCat(absl::BytesToHexString(e.key.key), "/",
                                    absl::BytesToHexString(e.key.peer), ":");
    for (const Session& s : e.sessions) {
      absl::StrAppend(&line, " ", absl::BytesToHexString(s.id()));
    }
    out.push_back(line);
  }
  return out;
}

// The ids of every session a store holds.
std::set<std::string> Ids(ClientSessionStore& store) {
  std::set<std::string> ids;
  for (const StoreEntry& e : store.exporter()->Export(false)) {
    for (const Session& s : e.sessions) ids.insert(s.id());
  }
  return ids;
}

std::set<std::string> Ids(const std::vector<Session>& sessions) {
  std::set<std::string> ids;
  for (const Session& s : sessions) ids.insert(s.id());
  return ids;
}

// Inserts each of |sessions| under |host| into |cache|.
void InsertAll(ClientSessionCache& cache, absl::string_view host,
               const std::vector<Session>& sessions) {
  for (const Session& s : sessions) {
    absl::Status st = cache.Insert(KeyFor(host), s);
    ASSERT_TRUE(st.ok()) << st;
  }
}

std::vector<Session> Tickets(int n) {
  std::vector<Session> out;
  for (int i = 0; i < n; ++i) out.push_back(Tls13Ticket(kCtx));
  return out;
}

// Runs |f| on another thread. Fails the test if it has not returned after
// |limit| (a hang-guard, not a speed check), then calls |unblock| until it
// does, so that a regression fails instead of hanging the suite.
template <typename T>
T ReturnsPromptly(std::function<T()> f, const std::function<void()>& unblock,
                  absl::Duration limit = absl::Seconds(10)) {
  std::future<T> result = std::async(std::launch::async, std::move(f));
  if (result.wait_for(absl::ToChronoSeconds(limit)) !=
      std::future_status::ready) {
    ADD_FAILURE() << "did not return within " << limit << ": it hangs";
    while (result.wait_for(std::chrono::milliseconds(100)) !=
           std::future_status::ready) {
      unblock();
    }
  }
  return result.get();
}

// Opens and closes the write end of the FIFO |path| without blocking, which
// releases a reader blocked in open().
void ReleaseFifoReader(const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) close(fd);
}

// A folder with a file path, a key file and a clock, for the tests below.
class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    path_ = dir_ + "/sessions";
    key_file_ = dir_ + "/key";
    WriteKeyFile(key_file_, 32);
  }

  // Saves, through |file|, a cache holding two tickets for "a" and a TLS
  // 1.2 session for "b"; returns their ids.
  std::set<std::string> SaveSome(const SessionCacheFile& file) {
    auto cache = CacheFor(file, clock_);
    const std::vector<Session> tickets = Tickets(2);
    const Session tls12 = Tls12Session(kCtx);
    InsertAll(*cache, "a", tickets);
    InsertAll(*cache, "b", {tls12});
    absl::Status saved = file.Save(*cache);
    EXPECT_TRUE(saved.ok()) << saved;
    std::set<std::string> ids = Ids(tickets);
    ids.insert(tls12.id());
    return ids;
  }

  TestClock clock_;
  std::string dir_;
  std::string path_;
  std::string key_file_;
};

// ---------------------------------------------------------------------------
// Saving and loading.

// Save writes a private file atomically (no temporary file left) and moves
// the store's tickets into it (reusable sessions stay); Load brings every
// session back under the same keys, so a new cache offers them.
TEST_F(FileTest, SaveThenLoadRoundTrip) {
  SessionCacheFile file = MustOpen(path_);
  EXPECT_FALSE(file.encrypted());
  EXPECT_EQ(file.path(), path_);
  EXPECT_EQ(file.digest_key(), "");
  auto cache = CacheFor(file, clock_);
  const std::vector<Session> tickets = Tickets(2);
  const Session tls12 = Tls12Session(kCtx);
  InsertAll(*cache, "a", tickets);
  InsertAll(*cache, "b", {tls12});
  ASSERT_TRUE(file.Save(*cache).ok());
  EXPECT_EQ(FileMode(path_), 0600);
  EXPECT_THAT(ListDir(dir_),
              UnorderedElementsAre("sessions", "sessions.lock", "key"));
  // The tickets now belong to the file; the TLS 1.2 session is shared.
  EXPECT_EQ(cache->session_count(), 1u);
  EXPECT_EQ(cache->Lookup(KeyFor("b")), tls12);

  auto restarted = CacheFor(file, clock_);
  auto loaded = file.Load(*restarted);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 3u);
  EXPECT_EQ(restarted->Lookup(KeyFor("a")), tickets[1]);
  EXPECT_EQ(restarted->Lookup(KeyFor("a")), tickets[0]);
  EXPECT_EQ(restarted->Lookup(KeyFor("b")), tls12);
}

// An encrypted file round-trips with its key file, and its keys are named
// under the digest key derived from it.
TEST_F(FileTest, EncryptedRoundTrip) {
  SessionCacheFile file = MustOpen(path_, key_file_);
  EXPECT_TRUE(file.encrypted());
  EXPECT_EQ(file.digest_key().size(), 32u);
  const std::set<std::string> saved = SaveSome(file);
  EXPECT_EQ(ReadFileOrEmpty(path_)[8], '\x01');
  SessionCacheFile reopened = MustOpen(path_, key_file_);
  EXPECT_EQ(reopened.digest_key(), file.digest_key());
  auto cache = CacheFor(reopened, clock_);
  auto loaded = reopened.Load(*cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Ids(cache->store()), saved);
  EXPECT_FALSE(cache->Lookup(KeyFor("a")).empty());
}

// A missing file loads nothing and is not created by Load.
TEST_F(FileTest, MissingFileLoadsNothing) {
  for (const std::string& key : {std::string(), key_file_}) {
    SCOPED_TRACE(key.empty() ? "plain" : "keyed");
    SessionCacheFile file = MustOpen(path_, key);
    auto cache = CacheFor(file, clock_);
    auto loaded = file.Load(*cache);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(*loaded, 0u);
    EXPECT_EQ(cache->entry_count(), 0u);
    EXPECT_FALSE(Exists(path_));
  }
}

// Load returns how many sessions it added, even when the store's bounds
// then drop others.
TEST_F(FileTest, LoadCountsSessionsAddedEvenWhenOthersAreEvicted) {
  SessionCacheFile file = MustOpen(path_);
  {
    auto one = CacheFor(file, clock_);
    InsertAll(*one, "a", {Tls12Session(kCtx)});
    ASSERT_TRUE(file.Save(*one).ok());
  }
  auto cache = CacheFor(file, clock_, /*max_entries=*/1);
  InsertAll(*cache, "b", Tickets(2));
  auto loaded = file.Load(*cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 1u);
  EXPECT_EQ(cache->session_count(), 1u);
  EXPECT_EQ(cache->metrics().evictions, 2u);
}

// Sessions no longer usable are skipped on Load (the file keeps what a
// later reader could still use only while it is usable) and not written by
// Save; a certificate's notAfter counts like the session's lifetime.
TEST_F(FileTest, UnusableSessionsAreSkippedBothWays) {
  SessionCacheFile file = MustOpen(path_);
  CertOptions o;
  o.not_before = clock_.Now() - absl::Hours(1);
  o.not_after = clock_.Now() + absl::Hours(1);
  auto cert = MakeCertificate(o, nullptr);
  ASSERT_TRUE(cert.ok()) << cert.status();
  SessionSpec short_cert;
  short_cert.version = TLS1_2_VERSION;
  short_cert.context_id = std::string(kCtx);
  short_cert.time = clock_.Now();
  short_cert.timeout = absl::Hours(3);
  short_cert.peer = cert->cert.get();
  const Session cert_bound = MakeSession(short_cert);
  SessionSpec long_lived;
  long_lived.context_id = std::string(kCtx);
  long_lived.time = clock_.Now();
  long_lived.timeout = absl::Hours(3);
  const Session lasting = MakeSession(long_lived);
  const Session two_hours = Tls13Ticket(kCtx, clock_.Now());
  {
    auto cache = CacheFor(file, clock_);
    InsertAll(*cache, "cert", {cert_bound});
    InsertAll(*cache, "lasting", {lasting});
    InsertAll(*cache, "two-hours", {two_hours});
    ASSERT_TRUE(file.Save(*cache).ok());
  }
  // 90 minutes later: the certificate has expired.
  TestClock later(clock_.Now() + absl::Minutes(90));
  auto cache = CacheFor(file, later);
  auto loaded = file.Load(*cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 2u);
  EXPECT_EQ(Ids(cache->store()), Ids({lasting, two_hours}));

  // Save 150 minutes in: only the lasting ticket is still worth writing.
  later.Advance(absl::Hours(1));
  ASSERT_TRUE(file.Save(*cache).ok());
  auto reader = CacheFor(file, clock_);  // Now: all would still be usable.
  ASSERT_TRUE(file.Load(*reader).ok());
  EXPECT_EQ(Ids(reader->store()), Ids({lasting}));

  // Three hours after that, nothing is loaded.
  SessionCacheFile other = MustOpen(dir_ + "/other");
  {
    auto c = CacheFor(other, clock_);
    InsertAll(*c, "x", {Tls12Session(kCtx, clock_.Now())});
    ASSERT_TRUE(other.Save(*c).ok());
  }
  TestClock much_later(clock_.Now() + absl::Hours(3));
  auto empty = CacheFor(other, much_later);
  auto none = other.Load(*empty);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, 0u);
  EXPECT_EQ(empty->session_count(), 0u);
}

// A cache not configured with the file's digest key is refused by Load and
// Save (it would never find what the file holds), changing nothing.
TEST_F(FileTest, CacheWithoutTheFilesDigestKeyIsRefused) {
  SessionCacheFile file = MustOpen(path_, key_file_);
  SaveSome(file);
  const std::string before = ReadFileOrEmpty(path_);
  ClientSessionCache unkeyed;  // digest_key left empty.
  InsertAll(unkeyed, "c", Tickets(1));
  const auto snapshot = Snapshot(unkeyed.store());
  auto loaded = file.Load(unkeyed);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(loaded.status()), HasSubstr("digest key"));
  absl::Status saved = file.Save(unkeyed);
  EXPECT_EQ(saved.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Snapshot(unkeyed.store()), snapshot);
  EXPECT_TRUE(ReadFileOrEmpty(path_) == before);
}

// ---------------------------------------------------------------------------
// Defect 1: never written over when it could not be read.

// An encrypted file opened without its key: Load says it is encrypted, Save
// refuses, and the file keeps every byte (its format byte stays 01); the
// cache keeps the tickets Save did not take.
TEST_F(FileTest, EncryptedFileWithoutTheKeyIsNeitherReadNorRewritten) {
  SaveSome(MustOpen(path_, key_file_));
  const std::string encrypted = ReadFileOrEmpty(path_);
  ASSERT_GT(encrypted.size(), 9u);
  ASSERT_EQ(encrypted[8], '\x01');

  SessionCacheFile no_key = MustOpen(path_);
  auto cache = CacheFor(no_key, clock_);
  InsertAll(*cache, "c", Tickets(2));
  const auto snapshot = Snapshot(cache->store());
  auto loaded = no_key.Load(*cache);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      Msg(loaded.status()),
      AllOf(HasSubstr(path_), HasSubstr("encrypted"), HasSubstr("key file")));
  absl::Status saved = no_key.Save(*cache);
  EXPECT_EQ(saved.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(saved), AllOf(HasSubstr("not saving"), HasSubstr(path_)));
  EXPECT_TRUE(ReadFileOrEmpty(path_) == encrypted);
  EXPECT_EQ(ReadFileOrEmpty(path_)[8], '\x01');
  EXPECT_EQ(Snapshot(cache->store()), snapshot);
}

// A plain file opened with a key file, and an encrypted file opened with
// another key file: neither is loaded nor written over.
TEST_F(FileTest, PlainFileWithAKeyAndWrongKeyAreNeitherReadNorRewritten) {
  SaveSome(MustOpen(path_));
  const std::string plain = ReadFileOrEmpty(path_);
  ASSERT_EQ(plain[8], '\x00');
  SessionCacheFile keyed = MustOpen(path_, key_file_);
  auto cache = CacheFor(keyed, clock_);
  InsertAll(*cache, "c", Tickets(1));
  auto loaded = keyed.Load(*cache);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(loaded.status()), HasSubstr("not encrypted"));
  EXPECT_FALSE(keyed.Save(*cache).ok());
  EXPECT_TRUE(ReadFileOrEmpty(path_) == plain);

  const std::string enc_path = dir_ + "/sessions.enc";
  SaveSome(MustOpen(enc_path, key_file_));
  const std::string encrypted = ReadFileOrEmpty(enc_path);
  const std::string other_key = dir_ + "/other-key";
  WriteKeyFile(other_key, 32);
  SessionCacheFile wrong = MustOpen(enc_path, other_key);
  auto other_cache = CacheFor(wrong, clock_);
  auto wrong_loaded = wrong.Load(*other_cache);
  EXPECT_EQ(wrong_loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(Msg(wrong_loaded.status()), HasSubstr("wrong key file"));
  EXPECT_FALSE(wrong.Save(*other_cache).ok());
  EXPECT_TRUE(ReadFileOrEmpty(enc_path) == encrypted);
}

// A corrupt file (a flipped bit, cut short, not a cache at all), plain or
// encrypted: Load says it is corrupt, Save refuses, the file stays as it was
// for inspection.
TEST_F(FileTest, CorruptFileIsNotReplacedBySave) {
  for (const bool encrypted : {false, true}) {
    SCOPED_TRACE(encrypted ? "encrypted" : "plain");
    const std::string key = encrypted ? key_file_ : "";
    SessionCacheFile file = MustOpen(path_, key);
    SaveSome(file);
    const std::string good = ReadFileOrEmpty(path_);
    ASSERT_GT(good.size(), 100u);
    std::string flipped = good;
    flipped[flipped.size() / 2] ^= 0x01;
    const std::string truncated = good.substr(0, good.size() / 2);
    const std::string foreign = "not a session cache at all\n";
    for (const std::string* bad :
         std::vector<const std::string*>{&flipped, &truncated, &foreign}) {
      WritePrivateFileOrFail(path_, *bad);
      auto cache = CacheFor(file, clock_);
      InsertAll(*cache, "c", Tickets(1));
      auto loaded = file.Load(*cache);
      EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(Msg(loaded.status()),
                  AllOf(HasSubstr(path_),
                        AnyOf(HasSubstr("corrupt"), HasSubstr("truncated"))));
      absl::Status saved = file.Save(*cache);
      EXPECT_EQ(saved.code(), absl::StatusCode::kDataLoss);
      EXPECT_TRUE(ReadFileOrEmpty(path_) == *bad);
      EXPECT_EQ(FileMode(path_), 0600);
      EXPECT_EQ(cache->session_count(), 1u);
    }
    ASSERT_EQ(unlink(path_.c_str()), 0);
  }
}

// A file of a newer format version ("TLSSCF02") is refused, naming the
// version, and kept as it is.
TEST_F(FileTest, NewerFormatVersionIsRefusedAndKept) {
  SessionCacheFile file = MustOpen(path_);
  SaveSome(file);
  std::string newer = ReadFileOrEmpty(path_);
  ASSERT_EQ(newer.substr(0, 8), "TLSSCF01");
  newer[7] = '2';
  WritePrivateFileOrFail(path_, newer);
  auto cache = CacheFor(file, clock_);
  auto loaded = file.Load(*cache);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Msg(loaded.status()),
              AllOf(HasSubstr(path_), HasSubstr("version 02")));
  EXPECT_FALSE(file.Save(*cache).ok());
  EXPECT_TRUE(ReadFileOrEmpty(path_) == newer);
}

// ---------------------------------------------------------------------------
// Defect 7: a failed Load leaves the cache exactly as it was.

// Whatever makes Load fail (corrupt, newer version, encrypted without key,
// unsafe mode), the store keeps the same keys, sessions and order.
TEST_F(FileTest, FailedLoadLeavesTheStoreExactlyAsItWas) {
  SessionCacheFile plain = MustOpen(path_);
  SaveSome(plain);
  const std::string good = ReadFileOrEmpty(path_);
  std::string corrupt = good;
  corrupt[corrupt.size() - 40] ^= 0x80;
  std::string newer = good;
  newer[7] = '9';
  const std::string enc_path = dir_ + "/enc";
  SaveSome(MustOpen(enc_path, key_file_));
  const std::string encrypted = ReadFileOrEmpty(enc_path);

  struct Case {
    const char* name;
    std::string content;
    mode_t mode;
  };
  const std::vector<Case> cases = {{"corrupt", corrupt, 0600},
                                   {"newer version", newer, 0600},
                                   {"encrypted without key", encrypted, 0600},
                                   {"readable by others", good, 0644}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    WritePrivateFileOrFail(path_, c.content);
    ASSERT_EQ(chmod(path_.c_str(), c.mode), 0);
    auto cache = CacheFor(plain, clock_);
    InsertAll(*cache, "x", Tickets(3));
    InsertAll(*cache, "y", {Tls12Session(kCtx)});
    InsertAll(*cache, "z", Tickets(1));
    (void)cache->Lookup(KeyFor("y"));  // Order matters too.
    const auto before = Snapshot(cache->store());
    auto loaded = plain.Load(*cache);
    EXPECT_FALSE(loaded.ok());
    EXPECT_EQ(Snapshot(cache->store()), before);
    EXPECT_EQ(cache->metrics().evictions, 0u);
  }
}

// ---------------------------------------------------------------------------
// Defect 2: the key file and the cache file are private files.

// A key file that group or others can read, a symlink to a good key file,
// a key file owned by another user, a FIFO or a folder: all refused, with
// the reason; the same key file made private is accepted.
TEST_F(FileTest, UnsafeKeyFilesAreRefused) {
  for (mode_t mode : {0644, 0640, 0604, 0660, 0400 | 040}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(chmod(key_file_.c_str(), mode), 0);
    auto refused = SessionCacheFile::Open(path_, key_file_);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(
        Msg(refused.status()),
        AllOf(HasSubstr(key_file_), HasSubstr("group or others"),
              HasSubstr(absl::StrCat("mode ", absl::StrFormat("%o", mode)))));
  }
  ASSERT_EQ(chmod(key_file_.c_str(), 0600), 0);
  EXPECT_TRUE(SessionCacheFile::Open(path_, key_file_).ok());
  ASSERT_EQ(chmod(key_file_.c_str(), 0400), 0);
  EXPECT_TRUE(SessionCacheFile::Open(path_, key_file_).ok());

  const std::string link = dir_ + "/key-link";
  ASSERT_EQ(symlink(key_file_.c_str(), link.c_str()), 0);
  auto via_link = SessionCacheFile::Open(path_, link);
  EXPECT_EQ(via_link.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(via_link.status()), HasSubstr("symbolic link"));

  const std::string fifo = dir_ + "/key-fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto from_fifo = ReturnsPromptly<absl::Status>(
      [&] { return SessionCacheFile::Open(path_, fifo).status(); },
      [&] { ReleaseFifoReader(fifo); });
  EXPECT_EQ(from_fifo.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(from_fifo), HasSubstr("not a regular file"));

  const std::string folder = dir_ + "/key-dir";
  ASSERT_EQ(mkdir(folder.c_str(), 0700), 0);
  EXPECT_FALSE(SessionCacheFile::Open(path_, folder).ok());

  if (geteuid() != 0) {
    GTEST_SKIP() << "not root: cannot give a key file to another user";
  }
  const std::string theirs = dir_ + "/their-key";
  WriteKeyFile(theirs, 32);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  auto foreign = SessionCacheFile::Open(path_, theirs);
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(foreign.status()), HasSubstr("owned by another user"));
}

// Key files too short, missing, or an empty cache path are refused.
TEST_F(FileTest, OpenRefusesShortMissingKeyFilesAndEmptyPath) {
  const std::string short_key = dir_ + "/short";
  WriteKeyFile(short_key, 31);
  auto refused = SessionCacheFile::Open(path_, short_key);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(refused.status()),
              AllOf(HasSubstr(short_key), HasSubstr("31 bytes"),
                    HasSubstr("at least 32")));
  auto missing = SessionCacheFile::Open(path_, dir_ + "/nokey");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(missing.status()), HasSubstr(dir_ + "/nokey"));
  EXPECT_EQ(SessionCacheFile::Open("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A cache file that group or others can read or write is neither loaded
// nor written over (its mode stays); private again, it loads.
TEST_F(FileTest, CacheFileReadableOrWritableByOthersIsRefused) {
  SessionCacheFile file = MustOpen(path_);
  const std::set<std::string> saved = SaveSome(file);
  const std::string content = ReadFileOrEmpty(path_);
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660}) {
    SCOPED_TRACE(mode);
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
    auto cache = CacheFor(file, clock_);
    auto loaded = file.Load(*cache);
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
    EXPECT_THAT(Msg(loaded.status()), AllOf(HasSubstr("'" + path_ + "'"),
                                            HasSubstr("group or others")));
    EXPECT_EQ(cache->session_count(), 0u);
    InsertAll(*cache, "c", Tickets(1));
    EXPECT_EQ(file.Save(*cache).code(), absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(FileMode(path_), static_cast<int>(mode));
    EXPECT_TRUE(ReadFileOrEmpty(path_) == content);
  }
  ASSERT_EQ(chmod(path_.c_str(), 0600), 0);
  auto cache = CacheFor(file, clock_);
  auto loaded = file.Load(*cache);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Ids(cache->store()), saved);
}

// A symlink at the cache path (even to a good cache file) is neither
// followed by Load nor replaced by Save; a cache file owned by another user
// is refused.
TEST_F(FileTest, SymlinkedOrForeignCacheFileIsRefused) {
  const std::string target = dir_ + "/real";
  SessionCacheFile real = MustOpen(target);
  SaveSome(real);
  const std::string content = ReadFileOrEmpty(target);
  ASSERT_EQ(symlink(target.c_str(), path_.c_str()), 0);
  SessionCacheFile file = MustOpen(path_);
  auto cache = CacheFor(file, clock_);
  auto loaded = file.Load(*cache);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(loaded.status()), HasSubstr("symbolic link"));
  InsertAll(*cache, "c", Tickets(1));
  EXPECT_FALSE(file.Save(*cache).ok());
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_TRUE(ReadFileOrEmpty(target) == content);

  if (geteuid() != 0) {
    GTEST_SKIP() << "not root: cannot give a cache file to another user";
  }
  ASSERT_EQ(chown(target.c_str(), 65534, 65534), 0);
  auto foreign = real.Load(*CacheFor(real, clock_));
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(foreign.status()), HasSubstr("owned by another user"));
  EXPECT_FALSE(real.Save(*cache).ok());
  EXPECT_TRUE(ReadFileOrEmpty(target) == content);
}

// ---------------------------------------------------------------------------
// Defect 3: a FIFO at the cache path (or at its lock path) fails at once.

// Load and Save of a FIFO return an error promptly instead of blocking in
// open(), and the FIFO is not replaced.
TEST_F(FileTest, FifoAtTheCachePathFailsPromptly) {
  ASSERT_EQ(mkfifo(path_.c_str(), 0600), 0);
  SessionCacheFile file = MustOpen(path_);
  auto cache = CacheFor(file, clock_);
  const absl::Status loaded =
      ReturnsPromptly<absl::Status>([&] { return file.Load(*cache).status(); },
                                    [&] { ReleaseFifoReader(path_); });
  EXPECT_EQ(loaded.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(Msg(loaded), HasSubstr("not a regular file"));
  InsertAll(*cache, "c", Tickets(1));
  const absl::Status saved = ReturnsPromptly<absl::Status>(
      [&] { return file.Save(*cache); }, [&] { ReleaseFifoReader(path_); });
  EXPECT_FALSE(saved.ok());
  struct stat st;
  ASSERT_EQ(lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(cache->session_count(), 1u);

  // A FIFO at the lock's path.
  const std::string other = dir_ + "/other";
  ASSERT_EQ(mkfifo((other + ".lock").c_str(), 0600), 0);
  SessionCacheFile locked = MustOpen(other);
  const absl::Status lock_loaded = ReturnsPromptly<absl::Status>(
      [&] { return locked.Load(*cache).status(); },
      [&] { ReleaseFifoReader(other + ".lock"); });
  EXPECT_FALSE(lock_loaded.ok());
  EXPECT_THAT(Msg(lock_loaded), HasSubstr("lock"));
}

// ---------------------------------------------------------------------------
// Defect 4: processes sharing one file.

// Two processes load one file in turn: the first takes its TLS 1.3 tickets
// out of the file, so the second gets none of them (only the reusable TLS
// 1.2 sessions, which both may offer).
TEST_F(FileTest, SecondLoaderGetsNoneOfTheFirstLoadersTickets) {
  SessionCacheFile writer = MustOpen(path_, key_file_);
  auto cache = CacheFor(writer, clock_);
  const std::vector<Session> tickets = Tickets(3);
  const Session tls12 = Tls12Session(kCtx);
  InsertAll(*cache, "a", tickets);
  InsertAll(*cache, "b", {tls12});
  ASSERT_TRUE(writer.Save(*cache).ok());

  SessionCacheFile file_a = MustOpen(path_, key_file_);
  SessionCacheFile file_b = MustOpen(path_, key_file_);
  auto cache_a = CacheFor(file_a, clock_);
  auto cache_b = CacheFor(file_b, clock_);
  auto loaded_a = file_a.Load(*cache_a);
  ASSERT_TRUE(loaded_a.ok()) << loaded_a.status();
  EXPECT_EQ(*loaded_a, 4u);
  std::set<std::string> all = Ids(tickets);
  all.insert(tls12.id());
  EXPECT_EQ(Ids(cache_a->store()), all);
  auto loaded_b = file_b.Load(*cache_b);
  ASSERT_TRUE(loaded_b.ok()) << loaded_b.status();
  EXPECT_EQ(*loaded_b, 1u);
  EXPECT_EQ(Ids(cache_b->store()), std::set<std::string>{tls12.id()});
  EXPECT_TRUE(cache_b->Lookup(KeyFor("a")).empty());
}

// Two processes that each loaded the file save in turn: the file then holds
// both's sessions (the last writer merges, it does not overwrite), tickets
// for one key included.
TEST_F(FileTest, SavesMergeNeitherProcessDropsTheOther) {
  SessionCacheFile file_a = MustOpen(path_);
  SessionCacheFile file_b = MustOpen(path_);
  auto cache_a = CacheFor(file_a, clock_);
  auto cache_b = CacheFor(file_b, clock_);
  ASSERT_TRUE(file_a.Load(*cache_a).ok());
  ASSERT_TRUE(file_b.Load(*cache_b).ok());
  const std::vector<Session> a_only = Tickets(2), b_only = Tickets(2);
  const std::vector<Session> a_shared = Tickets(1), b_shared = Tickets(2);
  const Session a_tls12 = Tls12Session(kCtx);
  InsertAll(*cache_a, "a", a_only);
  InsertAll(*cache_a, "shared", a_shared);
  InsertAll(*cache_a, "a12", {a_tls12});
  InsertAll(*cache_b, "b", b_only);
  InsertAll(*cache_b, "shared", b_shared);
  ASSERT_TRUE(file_a.Save(*cache_a).ok());
  ASSERT_TRUE(file_b.Save(*cache_b).ok());

  std::set<std::string> expected;
  for (const auto* v : {&a_only, &b_only, &a_shared, &b_shared}) {
    for (const Session& s : *v) expected.insert(s.id());
  }
  expected.insert(a_tls12.id());
  auto reader = CacheFor(file_a, clock_);
  auto loaded = file_a.Load(*reader);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Ids(reader->store()), expected);
  EXPECT_EQ(*loaded, expected.size());
  // The shared key's three tickets, newest (B's) first.
  EXPECT_EQ(reader->Lookup(KeyFor("shared")), b_shared[1]);
}

// A forked child process: it waits for Go(), runs its body and sends back
// what the body returns.
class ChildProcess {
 public:
  explicit ChildProcess(const std::function<std::string()>& body) {
    int go[2], result[2];
    if (pipe(go) != 0 || pipe(result) != 0) abort();
    pid_ = fork();
    if (pid_ == 0) {
      close(go[1]);
      close(result[0]);
      char c;
      if (read(go[0], &c, 1) != 1) _exit(3);
      const std::string out = body();
      size_t done = 0;
      while (done < out.size()) {
        const ssize_t n =
            write(result[1], out.data() + done, out.size() - done);
        if (n <= 0) _exit(4);
        done += static_cast<size_t>(n);
      }
      _exit(0);
    }
    close(go[0]);
    close(result[1]);
    go_ = go[1];
    result_ = result[0];
  }

  bool started() const { return pid_ > 0; }

  void Go() {
    EXPECT_EQ(write(go_, "g", 1), 1);
    close(go_);
    go_ = -1;
  }

  // What the child sent; fails the test unless it exited with status 0.
  std::string Wait() {
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = read(result_, buf, sizeof(buf))) != 0;) {
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    close(result_);
    int status = 0;
    EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    return out;
  }

 private:
  pid_t pid_ = -1;
  int go_ = -1;
  int result_ = -1;
};

// The single-use sessions' ids in |store|, hex, one per line.
std::string TicketLines(ClientSessionStore& store) {
  std::string out;
  for (const StoreEntry& e : store.exporter()->Export(false)) {
    for (const Session& s : e.sessions) {
      if (s.is_single_use()) {
        absl::StrAppend(&out, absl::BytesToHexString(s.id()), "\n");
      }
    }
  }
  return out;
}

// Two real processes load one file at the same time: every ticket of the
// file goes to exactly one of them. Then both save at the same time: the
// file holds both's tickets.
TEST_F(FileTest, TwoRealProcessesShareOneFile) {
  SessionCacheFile file = MustOpen(path_, key_file_);
  std::set<std::string> tickets;
  {
    auto cache = CacheFor(file, clock_);
    for (int host = 0; host < 6; ++host) {
      const std::vector<Session> t = Tickets(3);
      InsertAll(*cache, absl::StrCat("host", host), t);
      for (const Session& s : t) tickets.insert(absl::BytesToHexString(s.id()));
    }
    InsertAll(*cache, "tls12", {Tls12Session(kCtx)});
    ASSERT_TRUE(file.Save(*cache).ok());
  }

  // Concurrent loads.
  ChildProcess child([&] {
    auto cache = CacheFor(file, clock_);
    absl::StatusOr<size_t> loaded = file.Load(*cache);
    if (!loaded.ok()) return "ERROR " + loaded.status().ToString();
    return TicketLines(cache->store());
  });
  ASSERT_TRUE(child.started());
  auto mine = CacheFor(file, clock_);
  child.Go();
  auto loaded = file.Load(*mine);
  const std::string theirs = child.Wait();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_FALSE(absl::StartsWith(theirs, "ERROR")) << theirs;
  std::multiset<std::string> got;
  for (absl::string_view line : absl::StrSplit(
           TicketLines(mine->store()) + theirs, '\n', absl::SkipEmpty())) {
    got.insert(std::string(line));
  }
  EXPECT_EQ(got.size(), tickets.size());  // None loaded twice...
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), tickets);  // ...all.

  // Concurrent saves of distinct tickets.
  const std::vector<Session> parent_tickets = Tickets(4),
                             child_tickets = Tickets(4);
  ChildProcess saver([&] {
    auto cache = CacheFor(file, clock_);
    for (const Session& s : child_tickets) {
      if (!cache->Insert(KeyFor("child"), s).ok()) return std::string("ERROR");
    }
    absl::Status saved = file.Save(*cache);
    return saved.ok() ? std::string("saved") : "ERROR " + saved.ToString();
  });
  ASSERT_TRUE(saver.started());
  auto parent = CacheFor(file, clock_);
  InsertAll(*parent, "parent", parent_tickets);
  saver.Go();
  absl::Status saved = file.Save(*parent);
  EXPECT_EQ(saver.Wait(), "saved");
  ASSERT_TRUE(saved.ok()) << saved;
  auto reader = CacheFor(file, clock_);
  ASSERT_TRUE(file.Load(*reader).ok());
  const std::set<std::string> in_file = Ids(reader->store());
  for (const Session& s : parent_tickets) EXPECT_EQ(in_file.count(s.id()), 1u);
  for (const Session& s : child_tickets) EXPECT_EQ(in_file.count(s.id()), 1u);
}

// ---------------------------------------------------------------------------
// Privacy.

// Plain files keep host names out of the keys (digests only), but each
// session carries the server's certificate, which names the host: only an
// encrypted file hides the hosts visited. This pins that documented limit.
TEST_F(FileTest, PlainFileKeysAreDigestsButCertificatesNameTheHost) {
  SessionCacheFile file = MustOpen(path_);
  SessionSpec spec;
  spec.context_id = std::string(kCtx);
  spec.peer = GetTestPki().server.cert.get();
  auto cache = CacheFor(file, clock_);
  ClientSessionCache::Key key{std::string(kCtx), "localhost", 990, {"ftp"}};
  ASSERT_TRUE(cache->Insert(key, MakeSession(spec)).ok());
  ASSERT_TRUE(file.Save(*cache).ok());
  const std::string content = ReadFileOrEmpty(path_);
  uint8_t* der = nullptr;
  const int der_len = i2d_X509(GetTestPki().server.cert.get(), &der);
  ASSERT_GT(der_len, 0);
  const std::string cert_der(reinterpret_cast<char*>(der), der_len);
  OPENSSL_free(der);
  ASSERT_TRUE(Contains(content, cert_der));
  std::string rest = content;
  for (size_t at; (at = rest.find(cert_der)) != std::string::npos;) {
    rest.erase(at, cert_der.size());
  }
  EXPECT_FALSE(Contains(rest, "localhost"));
}

// An encrypted file holds neither the host name nor the certificate nor the
// session's secret, which a plain file of the same session does hold.
TEST_F(FileTest, EncryptedFileHidesHostsAndSecrets) {
  SessionSpec spec;
  spec.context_id = std::string(kCtx);
  spec.peer = GetTestPki().server.cert.get();
  spec.secret = std::string("SECRET-MASTER-KEY-0123456789abcd");
  const Session s = MakeSession(spec);
  const std::string secret = spec.secret;
  auto write = [&](const SessionCacheFile& file) {
    auto cache = CacheFor(file, clock_);
    ASSERT_TRUE(cache->Insert(KeyFor("localhost"), s).ok());
    ASSERT_TRUE(file.Save(*cache).ok());
  };
  const std::string plain_path = dir_ + "/plain";
  write(MustOpen(plain_path));
  write(MustOpen(path_, key_file_));
  const std::string plain = ReadFileOrEmpty(plain_path);
  const std::string encrypted = ReadFileOrEmpty(path_);
  EXPECT_TRUE(Contains(plain, secret));  // Control.
  EXPECT_TRUE(Contains(plain, "localhost"));
  EXPECT_FALSE(Contains(encrypted, secret));
  EXPECT_FALSE(Contains(encrypted, "localhost"));
  EXPECT_EQ(FileMode(path_), 0600);
}

}  // namespace
}  // namespace tlsession::testing
