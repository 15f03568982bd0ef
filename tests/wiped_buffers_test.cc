// Every buffer that held a password or key material is wiped before it is
// freed: AppendWiping, PrivateFile::ReadAll and ReadKeyFile (growing
// reads), .netrc parsing (LookupNetrc), Redis URLs (ParseRedisUrl), Redis
// password files (ReadRedisPasswordFile) and fleet key files
// (FleetKey::FromFile). This test binary replaces operator delete: while a
// check runs, every freed block is searched for a marker password, and a
// block that still holds it is counted. A control (std::string's own
// growth) shows that the detector sees what it looks for. No sockets.
#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/cleanse.h"
#include "base/private_file.h"
#include "fleet/fleet_key.h"
#include "fleet/fleet_setup.h"
#include "fleet/redis_url.h"
#include "ftp_adapter/netrc.h"
#include "testbed/certs.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TLSESSION_WATCH_FREES 0  // Sanitizers own operator delete.
#else
#define TLSESSION_WATCH_FREES 1
#endif

namespace {

// Longer than std::string's inline buffer, so it lives on the heap.
constexpr char kMarker[] = "M4RKER-PASSWORD-0123456789abcdef";

std::atomic<bool> g_watch{false};
std::atomic<int> g_unwiped{0};

// Counts |p| when it still holds kMarker.
void InspectFreed(void* p) {
  if (p == nullptr || !g_watch.load(std::memory_order_relaxed)) return;
  const size_t n = malloc_usable_size(p);
  if (memmem(p, n, kMarker, sizeof(kMarker) - 1) != nullptr) ++g_unwiped;
}

}  // namespace

#if TLSESSION_WATCH_FREES
void* operator new(size_t n) {
  void* p = malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept {
  InspectFreed(p);
  free(p);
}
void operator delete(void* p, size_t) noexcept {
  InspectFreed(p);
  free(p);
}
#endif

namespace tlsession {
namespace {

// The number of blocks freed during |run| that still held kMarker.
int UnwipedFreesDuring(const std::function<void()>& run) {
  g_unwiped = 0;
  g_watch = true;
  run();
  g_watch = false;
  return g_unwiped.load();
}

// Writes |contents| to a new 0600 file in a fresh folder; returns its path.
std::string PrivateFileWith(const std::string& contents) {
  const std::string path = testing::MakeTempDir() + "/secret";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, contents.data(), contents.size()),
            static_cast<ssize_t>(contents.size()));
  close(fd);
  return path;
}

class WipedBuffersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!TLSESSION_WATCH_FREES) GTEST_SKIP() << "operator delete is ASan's";
  }
};

TEST_F(WipedBuffersTest, TheDetectorSeesStdStringGrowth) {
  EXPECT_GT(UnwipedFreesDuring([] {
              std::string s = kMarker;
              s.append(4096, 'x');  // Frees the old buffer unwiped.
              CleanseString(&s);
            }),
            0);
}

TEST_F(WipedBuffersTest, AppendWipingGrowsWithoutLeavingCopies) {
  EXPECT_EQ(UnwipedFreesDuring([] {
              std::string s;
              for (int i = 0; i < 200; ++i) {
                AppendWiping(&s, kMarker, sizeof(kMarker) - 1);
              }
              EXPECT_EQ(s.size(), 200 * (sizeof(kMarker) - 1));
              EXPECT_EQ(s.compare(0, sizeof(kMarker) - 1, kMarker), 0);
              CleanseString(&s);
            }),
            0);
}

TEST_F(WipedBuffersTest, PrivateFileReadsAndKeyFiles) {
  std::string big = kMarker;
  big.append(200 << 10, 'k');  // Several reads of 64 KiB.
  const std::string path = PrivateFileWith(big);
  CleanseString(&big);
  EXPECT_EQ(UnwipedFreesDuring([&] {
              auto file = PrivateFile::Open(path, "test file");
              ASSERT_TRUE(file.ok()) << file.status();
              absl::StatusOr<std::string> all = file->ReadAll(path, 1 << 20);
              ASSERT_TRUE(all.ok()) << all.status();
              EXPECT_EQ(all->size(), sizeof(kMarker) - 1 + (200 << 10));
              CleanseString(&*all);
              // Too large: refused, and what was read is wiped.
              EXPECT_FALSE(file->ReadAll(path, 100 << 10).ok());
              EXPECT_FALSE(ReadKeyFile(path, "key file", 32).ok());
            }),
            0);
}

TEST_F(WipedBuffersTest, NetrcParsing) {
  std::string netrc =
      absl::StrCat("machine a login u password first-", kMarker, "\n",
                   "machine b login v password \"", kMarker, " quoted\"\n",
                   "  password again-", kMarker, "\n");
  for (int i = 0; i < 40; ++i) {  // The entries' vector grows.
    absl::StrAppend(&netrc, "machine m", i, " login w password ", kMarker, i,
                    "\n");
  }
  // Made outside the watch: the test's own strings are not wiped.
  std::string again = absl::StrCat("again-", kMarker);
  std::string first = absl::StrCat("first-", kMarker);
  std::string cut_short = absl::StrCat(netrc, "password");
  std::string bogus = absl::StrCat(netrc, "bogus ", kMarker);
  EXPECT_EQ(UnwipedFreesDuring([&] {
              auto b = ftp::LookupNetrc(netrc, "b");
              ASSERT_TRUE(b.ok()) << b.status();
              ASSERT_TRUE(b->has_value());
              EXPECT_EQ((*b)->password, again);
              auto a = ftp::LookupNetrc(netrc, "A");
              ASSERT_TRUE(a.ok() && a->has_value());
              EXPECT_EQ((*a)->password, first);
              // A malformed file: the error path wipes too.
              EXPECT_FALSE(ftp::LookupNetrc(cut_short, "a").ok());
              EXPECT_FALSE(ftp::LookupNetrc(bogus, "a").ok());
            }),
            0);
  for (std::string* s : {&netrc, &again, &first, &cut_short, &bogus}) {
    CleanseString(s);
  }
}

TEST_F(WipedBuffersTest, RedisUrlsPasswordFilesAndFleetKeys) {
  const std::string url = absl::StrCat("redis://user:", kMarker, "@h:1");
  const std::string password_file =
      PrivateFileWith(absl::StrCat(kMarker, "\nrest\n"));
  const std::string key_file = PrivateFileWith(absl::StrCat(kMarker, kMarker));
  EXPECT_EQ(UnwipedFreesDuring([&] {
              auto ep = fleet::ParseRedisUrl(url);
              ASSERT_TRUE(ep.ok()) << ep.status();
              EXPECT_EQ(ep->password.view(), kMarker);
              auto password = fleet::ReadRedisPasswordFile(password_file);
              ASSERT_TRUE(password.ok()) << password.status();
              EXPECT_EQ(password->view(), kMarker);
              auto key = fleet::FleetKey::FromFile(key_file);
              ASSERT_TRUE(key.ok()) << key.status();
            }),
            0);
}

}  // namespace
}  // namespace tlsession
