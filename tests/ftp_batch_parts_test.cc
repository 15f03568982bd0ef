// The socket-free parts of ftps batches: remote globs (fnmatch semantics),
// LIST lines, and the mirror's comparison of two trees.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ftp_adapter/glob.h"
#include "ftp_adapter/list_line.h"
#include "ftp_adapter/remote_tree.h"
#include "gtest/gtest.h"
#include "tools/ftps_mirror.h"

namespace tlsession::ftp {
namespace {

TEST(Glob, FnmatchSemantics) {
  EXPECT_TRUE(HasGlob("*.csv"));
  EXPECT_TRUE(HasGlob("f?.txt"));
  EXPECT_TRUE(HasGlob("[ab].txt"));
  EXPECT_FALSE(HasGlob("plain.txt"));
  EXPECT_TRUE(GlobMatches("*.csv", "one.csv"));
  EXPECT_FALSE(GlobMatches("*.csv", "one.csv.bak"));
  EXPECT_FALSE(GlobMatches("*.csv", ".hidden.csv"));  // As a shell.
  EXPECT_TRUE(GlobMatches(".*.csv", ".hidden.csv"));
  EXPECT_TRUE(GlobMatches("f?.txt", "f1.txt"));
  EXPECT_FALSE(GlobMatches("f?.txt", "f12.txt"));
  EXPECT_TRUE(GlobMatches("[ab]*", "beta"));
  EXPECT_FALSE(GlobMatches("[ab]*", "gamma"));
  EXPECT_TRUE(GlobMatches("\\*", "*"));
  EXPECT_FALSE(GlobMatches("\\*", "x"));
  EXPECT_TRUE(GlobMatches("a b*", "a b c"));
}

TEST(ListLine, UnixFormsWithTimesAndYears) {
  const absl::Time now = absl::FromCivil(
      absl::CivilSecond(2026, 12, 5, 0, 30, 0), absl::UTCTimeZone());
  auto f = ParseListLine(
      "-rw-r--r--    1 1000     1000       307200 Dec 04 23:10 d e.txt", now);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->type, '-');
  EXPECT_EQ(f->size, 307200u);
  EXPECT_EQ(f->name, "d e.txt");
  EXPECT_EQ(f->precision, absl::Minutes(1));
  EXPECT_EQ(f->modify, absl::FromCivil(absl::CivilMinute(2026, 12, 4, 23, 10),
                                       absl::UTCTimeZone()));
  // A date later than tomorrow is last year's.
  auto last_year = ParseListLine("-rw-r--r--    1 u g 1 Dec 24 10:00 x", now);
  ASSERT_TRUE(last_year.ok());
  EXPECT_EQ(absl::ToCivilYear(last_year->modify, absl::UTCTimeZone()).year(),
            2025);
  auto old = ParseListLine("drwxr-xr-x 2 u g 4096 Jan  3  2019 old dir", now);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ(old->type, 'd');
  EXPECT_EQ(old->name, "old dir");
  EXPECT_EQ(old->precision, absl::Hours(24));
  auto link = ParseListLine("lrwxrwxrwx 1 u g 4 Dec 01 10:00 l -> /etc", now);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->type, 'l');
  EXPECT_EQ(link->name, "l");
  EXPECT_FALSE(ParseListLine("total 12", now).ok());
  EXPECT_FALSE(ParseListLine("-rw-r--r-- 1 u g big Dec 01 10:00 x", now).ok());
  EXPECT_FALSE(ParseListLine("-rw-r--r-- 1 u g 1 Foo 01 10:00 x", now).ok());
  EXPECT_FALSE(ParseListLine("-rw-r--r-- 1 u g 1 Dec 01 10:00 ", now).ok());
}

TEST(RemoteTree, SafeNamesAndJoins) {
  EXPECT_TRUE(IsSafeName("a b"));
  EXPECT_FALSE(IsSafeName(""));
  EXPECT_FALSE(IsSafeName("."));
  EXPECT_FALSE(IsSafeName(".."));
  EXPECT_FALSE(IsSafeName("a/b"));
  EXPECT_FALSE(IsSafeName(std::string("a\0b", 3)));
  EXPECT_EQ(JoinRemote("", "a"), "a");
  EXPECT_EQ(JoinRemote("d/", "a"), "d/a");
  EXPECT_EQ(JoinRemote("d", ""), "d");
}

TreeEntry File(std::string path, uint64_t size, int minute,
               absl::Duration precision = absl::Seconds(1)) {
  TreeEntry e;
  e.path = std::move(path);
  e.size = size;
  e.modify = absl::FromUnixSeconds(1700000000) + absl::Minutes(minute) +
             absl::Seconds(30);
  e.precision = precision;
  return e;
}

TreeEntry Dir(std::string path) {
  TreeEntry e;
  e.path = std::move(path);
  e.dir = true;
  return e;
}

TEST(Mirror, ChangedBySizeOrLaterTimeAtTheCoarserPrecision) {
  EXPECT_FALSE(NeedsTransfer(File("a", 1, 0), File("a", 1, 0)));
  EXPECT_TRUE(NeedsTransfer(File("a", 2, 0), File("a", 1, 0)));
  EXPECT_TRUE(NeedsTransfer(File("a", 1, 1), File("a", 1, 0)));
  EXPECT_FALSE(NeedsTransfer(File("a", 1, 0), File("a", 1, 1)));  // Older.
  // LIST gives minutes: 30 s into the same minute is no change.
  TreeEntry listed = File("a", 1, 0, absl::Minutes(1));
  listed.modify = *listed.modify - absl::Seconds(30);
  EXPECT_FALSE(NeedsTransfer(File("a", 1, 0), listed));
  EXPECT_FALSE(NeedsTransfer(listed, File("a", 1, 0)));
  TreeEntry unknown = File("a", 1, 5);
  unknown.modify.reset();
  EXPECT_FALSE(NeedsTransfer(unknown, File("a", 1, 0)));
}

TEST(Mirror, PlanMakesFoldersTransfersAndDeletesOnlyWhenAsked) {
  const std::vector<TreeEntry> source = {Dir("d"), File("d/new", 1, 0),
                                         File("same", 1, 0), File("x", 1, 0)};
  const std::vector<TreeEntry> dest = {
      File("extra", 1, 0), Dir("old"), File("old/f", 1, 0),
      File("same", 1, 0),  Dir("x"),   File("x/in", 1, 0)};
  MirrorPlan keep = PlanMirror(source, dest, /*delete_extra=*/false);
  EXPECT_EQ(keep.make_dirs, std::vector<std::string>{"d"});
  ASSERT_EQ(keep.transfers.size(), 1u);
  EXPECT_EQ(keep.transfers[0].path, "d/new");
  EXPECT_TRUE(keep.deletes.empty());
  EXPECT_EQ(keep.conflicts, std::vector<std::string>{"x"});

  MirrorPlan del = PlanMirror(source, dest, /*delete_extra=*/true);
  std::vector<std::string> deleted;
  for (const TreeEntry& e : del.deletes) deleted.push_back(e.path);
  EXPECT_EQ(deleted,
            (std::vector<std::string>{"x/in", "x", "old/f", "old", "extra"}));
  ASSERT_EQ(del.transfers.size(), 2u);
  EXPECT_EQ(del.transfers[1].path, "x");  // Replaces the folder.
  EXPECT_TRUE(del.conflicts.empty());
}

}  // namespace
}  // namespace tlsession::ftp
