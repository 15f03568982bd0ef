// One-off generator of the session_fuzzer and cache_file_fuzzer seeds: real
// sessions from loopback handshakes against the test server (TLS 1.3 with
// ECDSA and RSA certificates, TLS 1.2 by ticket and by session ID), written
// with Session::ToBytes(), and cache files written by SessionCacheFile::Save
// (plain, empty, and encrypted with fuzz_common.h's key file).
//
//   bazel run //tests/fuzz:make_seeds -- $PWD/tests/fuzz/corpus
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "session/client_session_cache.h"
#include "session/session.h"
#include "session/session_cache_file.h"
#include "testbed/certs.h"
#include "testbed/tls_server.h"
#include "tests/fuzz/fuzz_common.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace tlsession {
namespace {

using testing::GetTestPki;
using testing::KeyType;
using testing::TestTlsServer;

void Die(absl::string_view what, const absl::Status& status) {
  fprintf(stderr, "make_seeds: %s: %s\n", std::string(what).c_str(),
          status.ToString().c_str());
  exit(1);
}

template <typename T>
T Must(absl::string_view what, absl::StatusOr<T> value) {
  if (!value.ok()) Die(what, value.status());
  return *std::move(value);
}

void Write(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.good()) Die(path, absl::InternalError("write failed"));
  printf("wrote %s (%zu bytes)\n", path.c_str(), bytes.size());
}

enum class Mode { kTls13, kTls12Ticket, kTls12SessionId };

std::shared_ptr<const Context> ServerContext(Mode mode, KeyType key_type) {
  const testing::TestPki& pki = GetTestPki(key_type);
  ContextOptions o;
  o.role = Role::kServer;
  o.certificate_chain_pem = pki.server.cert_pem;
  o.private_key_pem = pki.server.key_pem;
  o.io_timeout = absl::Seconds(10);
  if (mode != Mode::kTls13) o.max_version = TLS1_2_VERSION;
  if (mode == Mode::kTls12SessionId) o.session_tickets = false;
  if (mode == Mode::kTls12Ticket) o.session_id_cache = false;
  return Must("server Context", Context::Create(std::move(o)));
}

// Handshakes with a fresh server of |mode| and returns the client's
// resumable session.
Session GetSession(const std::shared_ptr<const Context>& client, Mode mode,
                   KeyType key_type) {
  std::unique_ptr<TestTlsServer> server =
      Must("test server", TestTlsServer::Start(ServerContext(mode, key_type)));
  std::unique_ptr<Connection> conn =
      Must("connect", Connection::Connect(client, "localhost", server->port()));
  Session session = Must("session", conn->WaitForSession(absl::Seconds(5)));
  if (absl::Status s = conn->Shutdown(); !s.ok()) Die("shutdown", s);
  return session;
}

}  // namespace
}  // namespace tlsession

int main(int argc, char** argv) {
  using namespace tlsession;
  if (argc != 2) {
    fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
    return 2;
  }
  const std::string corpus = argv[1];
  const std::string session_dir = corpus + "/session_fuzzer";
  const std::string cache_dir = corpus + "/cache_file_fuzzer";
  mkdir(session_dir.c_str(), 0755);
  mkdir(cache_dir.c_str(), 0755);

  std::shared_ptr<const Context> client =
      Must("client Context", Context::Create(fuzz::FuzzClientOptions()));
  const Session tls13 = GetSession(client, Mode::kTls13, KeyType::kEcdsaP256);
  const Session tls13b = GetSession(client, Mode::kTls13, KeyType::kEcdsaP256);
  const Session tls13_rsa = GetSession(client, Mode::kTls13, KeyType::kRsa2048);
  const Session ticket =
      GetSession(client, Mode::kTls12Ticket, KeyType::kEcdsaP256);
  const Session sid =
      GetSession(client, Mode::kTls12SessionId, KeyType::kEcdsaP256);

  Write(session_dir + "/tls13_ecdsa.bin", Must("ToBytes", tls13.ToBytes()));
  Write(session_dir + "/tls13_rsa.bin", Must("ToBytes", tls13_rsa.ToBytes()));
  Write(session_dir + "/tls12_ticket.bin", Must("ToBytes", ticket.ToBytes()));
  Write(session_dir + "/tls12_session_id.bin", Must("ToBytes", sid.ToBytes()));

  // Cache files, written through a scratch folder.
  char scratch[] = "/tmp/make_seeds.XXXXXX";
  if (mkdtemp(scratch) == nullptr) return 1;
  const std::string dir = scratch;
  const std::string key_file = dir + "/key";
  {
    std::ofstream out(key_file, std::ios::binary);
    out << fuzz::kCacheKeyFileContents;
  }
  chmod(key_file.c_str(), 0600);
  auto save = [&](const std::string& name, bool encrypted,
                  const std::vector<std::pair<std::string, Session>>& add) {
    const std::string path = dir + "/" + name;
    SessionCacheFile file =
        Must("Open", SessionCacheFile::Open(path, encrypted ? key_file : ""));
    ClientSessionCache::Config config;
    config.digest_key = file.digest_key();
    ClientSessionCache cache(config);
    for (const auto& [host, session] : add) {
      ClientSessionCache::Key key{client->id(), host, 990, {}};
      if (absl::Status s = cache.Insert(key, session); !s.ok())
        Die("Insert", s);
    }
    if (absl::Status s = file.Save(cache); !s.ok()) Die("Save", s);
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    Write(cache_dir + "/" + name, bytes);
    unlink(path.c_str());
  };
  save("plain_empty.cache", false, {});
  save("plain_one.cache", false, {{"ftp.example.org", tls13}});
  save("plain_three_peers.cache", false,
       {{"ftp.example.org", tls13},
        {"ftp.example.org", tls13b},
        {"files.example.net", ticket},
        {"127.0.0.1", sid},
        {"127.0.0.1", tls13_rsa}});
  save("encrypted_two_peers.cache", true,
       {{"ftp.example.org", tls13}, {"files.example.net", ticket}});
  unlink(key_file.c_str());
  rmdir(dir.c_str());

  // The test PKI's scratch files.
  for (KeyType type : {KeyType::kEcdsaP256, KeyType::kRsa2048}) {
    const testing::TestPki& pki = GetTestPki(type);
    for (const std::string& f :
         {pki.ca_file(), pki.server_cert_file(), pki.server_key_file(),
          pki.client_cert_file(), pki.client_key_file()}) {
      unlink(f.c_str());
    }
    rmdir(pki.dir.c_str());
  }
  return 0;
}
