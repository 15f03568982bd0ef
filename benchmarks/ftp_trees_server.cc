// A vsftpd on loopback (testbed/ftp_servers.h, require_ssl_reuse=YES) with
// the trees that benchmarks/ftps_tools_compare.sh times other FTPS clients
// against: small/ (200 x 4 KiB in 10 nested folders) and large/ (20 x
// 10 MiB in 4 nested folders), and an empty up/ for uploads.
//
//   ftp_trees_server OUT_DIR 1.2|1.3
//
// Writes OUT_DIR/ca.pem, OUT_DIR/port and OUT_DIR/root (the served folder),
// then OUT_DIR/ready; serves until its standard input closes.
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "testbed/certs.h"
#include "testbed/data.h"
#include "testbed/ftp_servers.h"

namespace {

using tlsession::testing::FtpServer;

// Makes the folder |rel| under |server|'s root, owned by the FTP user.
void Folder(const FtpServer& server, const std::string& rel) {
  const std::string path = absl::StrCat(server.root(), "/", rel);
  mkdir(path.c_str(), 0755);
  if (passwd* user = getpwnam(FtpServer::kUser)) {
    (void)chown(path.c_str(), user->pw_uid, user->pw_gid);
  }
}

// |files| files of |size| bytes spread over |folders| nested folders
// (tree/d0, tree/d0/d1, ...).
void Tree(const FtpServer& server, const std::string& tree, int files,
          size_t size, int folders) {
  Folder(server, tree);
  std::string dir = tree;
  std::vector<std::string> dirs;
  for (int d = 0; d < folders; ++d) {
    dir = absl::StrCat(dir, "/d", d);
    Folder(server, dir);
    dirs.push_back(dir);
  }
  for (int i = 0; i < files; ++i) {
    server.PutFile(absl::StrCat(dirs[i % folders], "/f", i, ".bin"),
                   tlsession::testing::PseudoRandomBytes(size, i));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ftp_trees_server OUT_DIR 1.2|1.3\n");
    return 2;
  }
  tlsession::testing::FtpServerOptions options;
  options.max_version =
      std::string(argv[2]) == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
  auto server = FtpServer::Start(options);
  if (!server.ok()) {
    fprintf(stderr, "ftp_trees_server: %s\n",
            std::string(server.status().message()).c_str());
    return 1;
  }
  Tree(**server, "small", 200, 4096, 10);
  Tree(**server, "large", 20, 10 << 20, 4);
  Folder(**server, "up");
  const std::string out = argv[1];
  tlsession::testing::WriteFileOrDie(out + "/ca.pem", (*server)->ca_pem());
  tlsession::testing::WriteFileOrDie(out + "/port",
                                     absl::StrCat((*server)->port()));
  tlsession::testing::WriteFileOrDie(out + "/root", (*server)->root());
  tlsession::testing::WriteFileOrDie(out + "/ready", "1");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}
