// persistent_client: an HTTPS-style client (GET /, response read to the
// server's close_notify) that keeps its TLS sessions across restarts in a
// cache file, so that the next run's first handshake resumes.
//
//   persistent_client CACHE_FILE HOST PORT [CA_FILE]
//
// Run it twice: the second run says "resumed". The file is private (mode
// 0600) and shared safely by processes that run at once; a TLS 1.3 ticket
// loaded by one run is never offered by another.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "session/session_cache_file.h"
#include "tls/connection.h"
#include "tls/context.h"

namespace {

using tlsession::ClientSessionCache;
using tlsession::Connection;
using tlsession::Context;
using tlsession::ContextOptions;
using tlsession::SessionCacheFile;

int Fail(const absl::Status& status) {
  fprintf(stderr, "persistent_client: %s\n",
          std::string(status.message()).c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: persistent_client CACHE_FILE HOST PORT [CA]\n");
    return 2;
  }
  auto file = SessionCacheFile::Open(argv[1]);
  if (!file.ok()) return Fail(file.status());
  ClientSessionCache::Config config;
  config.digest_key = file->digest_key();
  auto cache = std::make_shared<ClientSessionCache>(config);
  auto loaded = file->Load(*cache);
  if (!loaded.ok()) return Fail(loaded.status());
  printf("loaded %zu session(s) from %s\n", *loaded, argv[1]);

  ContextOptions options;
  if (argc > 4) options.ca_file = argv[4];
  options.session_cache = cache;
  auto context = Context::Create(options);
  if (!context.ok()) return Fail(context.status());
  auto conn = Connection::Connect(*context, argv[2],
                                  static_cast<uint16_t>(atoi(argv[3])));
  if (!conn.ok()) return Fail(conn.status());
  const bool resumed = (*conn)->session_reused();
  printf("handshake: %s, %s\n", (*conn)->version_name().c_str(),
         resumed ? "resumed" : "full");
  auto sent = (*conn)->Write(std::string("GET / HTTP/1.0\r\nHost: ") + argv[2] +
                             "\r\n\r\n");
  if (!sent.ok()) return Fail(sent);
  for (char buf[4096];;) {  // To the server's close_notify: a clean end.
    auto n = (*conn)->Read(buf, sizeof(buf));
    if (!n.ok()) return Fail(n.status());
    if (*n == 0) break;
  }
  (void)(*conn)->Shutdown();
  conn->reset();
  if (auto s = file->Save(*cache); !s.ok()) return Fail(s);
  printf("saved sessions to %s\n", argv[1]);
  return 0;
}
