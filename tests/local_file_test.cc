// PartFile and SourceFile (ftp_adapter/local_file.h) on the real file
// system, in a folder anyone may write to, where another user could have
// planted symlinks and hard links.
#include "ftp_adapter/local_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "ftp_adapter/error_category.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "testbed/subprocess.h"
#include "tests/testing/files.h"

namespace tlsession::testing {
namespace {

using ftp::ErrorCategory;
using ftp::PartFile;
using ftp::SourceFile;
using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

class LocalFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    shared_ = dir_ + "/shared";
    ASSERT_EQ(mkdir(shared_.c_str(), 0777), 0);
    ASSERT_EQ(chmod(shared_.c_str(), 0777), 0);
    victim_ = dir_ + "/victim.conf";
    WriteFileOrDie(victim_, "precious\n");
    dest_ = shared_ + "/report.txt";
    part_ = dest_ + ".part";
  }

  // |status| failed as a local-file error saying |why|.
  void ExpectLocalError(const absl::Status& status, const std::string& why) {
    EXPECT_FALSE(status.ok());
    EXPECT_EQ(ftp::CategoryOf(status), ErrorCategory::kLocalFile) << status;
    EXPECT_THAT(Msg(status), HasSubstr(why)) << status;
  }

  void ExpectVictimIntact() {
    EXPECT_EQ(ReadFileOrEmpty(victim_), "precious\n");
  }

  std::string dir_, shared_, victim_, dest_, part_;
};

TEST_F(LocalFileTest, AFreshDownloadCreatesNothingBeforeItsFirstByte) {
  {
    auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
    ASSERT_TRUE(part.ok()) << part.status();
    EXPECT_EQ(part->size(), 0u);
    EXPECT_EQ(LinkMode(part_), 0u);
  }
  EXPECT_EQ(LinkMode(part_), 0u);  // Abandoned before any byte: nothing.
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Write("abc").ok());
  ASSERT_TRUE(part->Write("def").ok());
  EXPECT_EQ(part->size(), 6u);
  EXPECT_TRUE(S_ISREG(LinkMode(part_)));
  EXPECT_EQ(LinkMode(part_) & 07777, 0600u);
  EXPECT_EQ(LinkMode(dest_), 0u);  // Nothing that looks complete yet.
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), "abcdef");
  EXPECT_EQ(LinkMode(dest_) & 07777, 0600u);
  EXPECT_EQ(LinkMode(part_), 0u);
}

TEST_F(LocalFileTest, AnEmptyDownloadCommitsAnEmptyFile) {
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_TRUE(S_ISREG(LinkMode(dest_)));
  EXPECT_EQ(ReadFileOrEmpty(dest_), "");
}

TEST_F(LocalFileTest, AFreshDownloadReplacesAnOldPartFileOrAPlantedSymlink) {
  WriteFileOrDie(part_, "old bytes");
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Write("new").ok());
  // Replaced, not continued ("new" is still gathered in memory).
  EXPECT_TRUE(S_ISREG(LinkMode(part_)));
  EXPECT_EQ(ReadFileOrEmpty(part_), "");

  ASSERT_EQ(unlink(part_.c_str()), 0);
  ASSERT_EQ(symlink(victim_.c_str(), part_.c_str()), 0);
  auto again = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(again->Write("mine").ok());
  ASSERT_TRUE(again->Commit().ok());
  ExpectVictimIntact();
  EXPECT_TRUE(S_ISREG(LinkMode(dest_)));
  EXPECT_EQ(ReadFileOrEmpty(dest_), "mine");
}

TEST_F(LocalFileTest, AResumeContinuesARegularFileOfOurs) {
  WriteFileOrDie(part_, "abc");
  ASSERT_EQ(chmod(part_.c_str(), 0600), 0);
  auto part = PartFile::Open(dest_, PartFile::Start::kResume);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->size(), 3u);
  ASSERT_TRUE(part->Write("def").ok());
  EXPECT_EQ(part->size(), 6u);
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), "abcdef");
}

TEST_F(LocalFileTest, AResumeWithoutAPartFileStartsFromZero) {
  auto part = PartFile::Open(dest_, PartFile::Start::kResume);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->size(), 0u);
  EXPECT_EQ(LinkMode(part_), 0u);
}

TEST_F(LocalFileTest, RestartEmptiesThePartFile) {
  WriteFileOrDie(part_, "stale");
  auto part = PartFile::Open(dest_, PartFile::Start::kResume);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Restart().ok());
  EXPECT_EQ(part->size(), 0u);
  ASSERT_TRUE(part->Write("x").ok());
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), "x");
}

TEST_F(LocalFileTest, AResumeRefusesWhatIsNotARegularFileOfOursAlone) {
  ASSERT_EQ(symlink(victim_.c_str(), part_.c_str()), 0);
  ExpectLocalError(PartFile::Open(dest_, PartFile::Start::kResume).status(),
                   "symlink");
  ASSERT_EQ(unlink(part_.c_str()), 0);

  ASSERT_EQ(link(victim_.c_str(), part_.c_str()), 0);
  ExpectLocalError(PartFile::Open(dest_, PartFile::Start::kResume).status(),
                   "other hard links");
  ASSERT_EQ(unlink(part_.c_str()), 0);

  WriteFileOrDie(part_, "theirs");
  ASSERT_EQ(chown(part_.c_str(), 12345, 12345), 0);
  ExpectLocalError(PartFile::Open(dest_, PartFile::Start::kResume).status(),
                   "owned by user 12345");
  ASSERT_EQ(unlink(part_.c_str()), 0);

  // A FIFO without a reader would block a plain open for writing forever.
  ASSERT_EQ(mkfifo(part_.c_str(), 0600), 0);
  ExpectLocalError(PartFile::Open(dest_, PartFile::Start::kResume).status(),
                   "report.txt.part");
  ASSERT_EQ(unlink(part_.c_str()), 0);

  ASSERT_EQ(mkdir(part_.c_str(), 0700), 0);
  ExpectLocalError(PartFile::Open(dest_, PartFile::Start::kResume).status(),
                   "report.txt.part");
  ExpectVictimIntact();
}

TEST_F(LocalFileTest, CommitNeverReplacesASymlinkOrAFolder) {
  ASSERT_EQ(symlink(victim_.c_str(), dest_.c_str()), 0);
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Write("data").ok());
  ExpectLocalError(part->Commit(), "is a symlink");
  ExpectVictimIntact();
  EXPECT_TRUE(S_ISLNK(LinkMode(dest_)));
  EXPECT_EQ(ReadFileOrEmpty(part_), "data");  // Kept.

  const std::string folder = shared_ + "/folder";
  ASSERT_EQ(mkdir(folder.c_str(), 0700), 0);
  auto into_folder = PartFile::Open(folder, PartFile::Start::kFresh);
  ASSERT_TRUE(into_folder.ok());
  ExpectLocalError(into_folder->Commit(), "not a regular file");
  EXPECT_TRUE(S_ISDIR(LinkMode(folder)));
}

TEST_F(LocalFileTest, CommitRefusesAPartFileSwappedDuringTheDownload) {
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Write("ours").ok());
  // Someone moves ours away and puts theirs (or a symlink) in its place.
  ASSERT_EQ(rename(part_.c_str(), (shared_ + "/moved").c_str()), 0);
  ASSERT_EQ(symlink(victim_.c_str(), part_.c_str()), 0);
  ExpectLocalError(part->Commit(), "replaced during the download");
  EXPECT_EQ(LinkMode(dest_), 0u);
  ExpectVictimIntact();
}

// A batch's downloads: nothing has its name until DeferredRenames::Commit,
// which renames every part file that is still the one written, never over
// a symlink, and reports the others.
TEST_F(LocalFileTest, DeferredRenamesNameFilesOnlyAtCommit) {
  ftp::DeferredRenames later;
  const std::string a = shared_ + "/a.txt", b = shared_ + "/b.txt",
                    c = shared_ + "/c.txt";
  for (const std::string& path : {a, b, c}) {
    auto part = PartFile::Open(path, PartFile::Start::kFresh);
    ASSERT_TRUE(part.ok()) << part.status();
    ASSERT_TRUE(part->Write("bytes of " + path).ok());
    ASSERT_TRUE(part->CommitLater(0644, &later).ok());
  }
  EXPECT_EQ(later.size(), 3u);
  EXPECT_FALSE(PathExists(a));  // Not before Commit().
  EXPECT_TRUE(PathExists(a + ".part"));
  // b's part file swapped, c's destination a planted symlink.
  ASSERT_EQ(unlink((b + ".part").c_str()), 0);
  WriteFileOrDie(b + ".part", "someone else's");
  ASSERT_EQ(symlink(victim_.c_str(), c.c_str()), 0);
  const std::vector<ftp::DeferredRenames::Failure> failed = later.Commit();
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].path, b);
  EXPECT_THAT(Msg(failed[0].status), HasSubstr("replaced"));
  EXPECT_EQ(failed[1].path, c);
  EXPECT_THAT(Msg(failed[1].status), HasSubstr("symlink"));
  EXPECT_EQ(ReadFileOrEmpty(a), "bytes of " + a);
  struct stat st;
  ASSERT_EQ(stat(a.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_EQ(ReadFileOrEmpty(victim_), "precious\n");
  EXPECT_EQ(later.size(), 0u);
  EXPECT_TRUE(later.Commit().empty());
}

TEST_F(LocalFileTest, AnAbandonedDownloadKeepsItsPartFile) {
  {
    auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE(part->Write("half").ok());
  }
  EXPECT_EQ(ReadFileOrEmpty(part_), "half");
  EXPECT_EQ(LinkMode(dest_), 0u);
}

// Writes are gathered (a download arrives a TLS record at a time): the bytes
// land in order whatever the chunk sizes, all of them before Commit renames
// and before an abandoned download's part file is closed.
std::string Pattern(size_t n, size_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 31 + seed) % 251);
  return s;
}

TEST_F(LocalFileTest, GatheredWritesLandInOrder) {
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  std::string expected;
  // Small chunks, then one bigger than the gathering size behind gathered
  // bytes, then one on its own, then small ones again.
  const size_t sizes[] = {
      1,    16384, 700,  PartFile::kFlushAt + 3, 5, PartFile::kFlushAt * 2,
      9000, 16384, 16384};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
    const std::string chunk = Pattern(sizes[i], i);
    expected += chunk;
    ASSERT_TRUE(part->Write(chunk).ok());
    EXPECT_EQ(part->size(), expected.size());
  }
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), expected);
}

TEST_F(LocalFileTest, AnAbandonedDownloadKeepsEveryGatheredByte) {
  const std::string first = Pattern(PartFile::kFlushAt + 100, 1);
  const std::string rest = Pattern(1000, 2);
  {
    auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE(part->Write(first).ok());
    ASSERT_TRUE(part->Write(rest).ok());
  }
  EXPECT_EQ(ReadFileOrEmpty(part_), first + rest);
  // And a resume continues after them.
  auto part = PartFile::Open(dest_, PartFile::Start::kResume);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(part->size(), first.size() + rest.size());
}

TEST_F(LocalFileTest, RestartDropsGatheredBytes) {
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  ASSERT_TRUE(part->Write("stale bytes").ok());
  ASSERT_TRUE(part->Restart().ok());
  ASSERT_TRUE(part->Write("fresh").ok());
  ASSERT_TRUE(part->Commit().ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), "fresh");
}

TEST_F(LocalFileTest, CommitWithoutFsyncMakesTheSameFile) {
  auto part = PartFile::Open(dest_, PartFile::Start::kFresh);
  ASSERT_TRUE(part.ok());
  const std::string bytes = Pattern(PartFile::kFlushAt + 77, 3);
  ASSERT_TRUE(part->Write(bytes).ok());
  ASSERT_TRUE(part->Commit(PartFile::Sync::kPageCache).ok());
  EXPECT_EQ(ReadFileOrEmpty(dest_), bytes);
  EXPECT_EQ(LinkMode(dest_) & 07777, 0600u);
  EXPECT_EQ(LinkMode(part_), 0u);
}

TEST_F(LocalFileTest, SourceFileReadsFromAnyOffset) {
  const std::string path = dir_ + "/up.bin";
  WriteFileOrDie(path, "0123456789");
  auto file = SourceFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 10u);
  ASSERT_TRUE(file->Seek(4).ok());
  char buf[16];
  absl::StatusOr<size_t> n = file->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "456789");
  n = file->Read(buf, sizeof(buf));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);

  ExpectLocalError(SourceFile::Open(dir_ + "/nope").status(), "nope");
  EXPECT_EQ(SourceFile::Open(dir_ + "/nope").status().code(),
            absl::StatusCode::kNotFound);
  ExpectLocalError(SourceFile::Open(dir_).status(), "folder");
}

}  // namespace
}  // namespace tlsession::testing
