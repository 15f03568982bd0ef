// resume_client: connects twice to a TLS server and says whether the second
// handshake resumed the first one's session. Any TLS server will do:
//
//   resume_client HOST PORT [CA_FILE]
//
// The first connection reads the server's session (TLS 1.3 tickets arrive
// after the handshake) and ends cleanly, which is what lets the session
// cache keep its sessions; the second connection, made from the same
// Context, offers one of them without any code at the call site.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tls/connection.h"
#include "tls/context.h"

namespace {

using tlsession::ClientSessionCache;
using tlsession::Connection;
using tlsession::Context;
using tlsession::ContextOptions;

// One connection: handshake, wait briefly for a session, clean close.
bool ConnectOnce(const std::shared_ptr<const Context>& context,
                 const std::string& host, uint16_t port, bool* resumed) {
  auto conn = Connection::Connect(context, host, port);
  if (!conn.ok()) {
    fprintf(stderr, "resume_client: %s\n",
            std::string(conn.status().message()).c_str());
    return false;
  }
  *resumed = (*conn)->session_reused();
  printf("handshake: %s, %s\n", (*conn)->version_name().c_str(),
         *resumed ? "resumed" : "full");
  (void)(*conn)->WaitForSession(absl::Seconds(2));
  (void)(*conn)->Shutdown();  // Only a clean end gives sessions back.
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: resume_client HOST PORT [CA_FILE]\n");
    return 2;
  }
  ContextOptions options;
  if (argc > 3) options.ca_file = argv[3];
  options.session_cache = std::make_shared<ClientSessionCache>();
  auto context = Context::Create(options);
  if (!context.ok()) {
    fprintf(stderr, "resume_client: %s\n",
            std::string(context.status().message()).c_str());
    return 1;
  }
  const uint16_t port = static_cast<uint16_t>(atoi(argv[2]));
  bool first = false, second = false;
  if (!ConnectOnce(*context, argv[1], port, &first) ||
      !ConnectOnce(*context, argv[1], port, &second)) {
    return 1;
  }
  printf("second handshake %s\n", second ? "RESUMED" : "did NOT resume");
  return second ? 0 : 3;
}
