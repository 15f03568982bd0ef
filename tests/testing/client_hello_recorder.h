// ClientHelloRecorder: records, on a server's SSL_CTX, what each ClientHello
// offered for resumption, read from the ClientHello bytes themselves: the
// TLS 1.3 pre_shared_key identities, the TLS 1.2 session_ticket extension
// and session ID. Tests use it to prove, from the server's side, that a
// session was (or was not) offered, and that no ticket is offered twice.
#ifndef TLSESSION_TESTS_TESTING_CLIENT_HELLO_RECORDER_H_
#define TLSESSION_TESTS_TESTING_CLIENT_HELLO_RECORDER_H_

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "tls/context.h"

namespace tlsession::testing {

// What one ClientHello offered.
struct ClientHelloFacts {
  std::vector<std::string> psk_identities;  // TLS 1.3 tickets offered.
  std::string session_ticket;               // TLS 1.2 ticket (may be empty).
  std::string session_id;                   // Legacy session ID.
  uint16_t local_port = 0;  // The server port it arrived on (0: unknown).

  // True when the hello offered a session to resume: a PSK or a non-empty
  // TLS 1.2 ticket.
  bool offers_ticket() const {
    return !psk_identities.empty() || !session_ticket.empty();
  }
};

class ClientHelloRecorder {
 public:
  ClientHelloRecorder() = default;
  ClientHelloRecorder(const ClientHelloRecorder&) = delete;
  ClientHelloRecorder& operator=(const ClientHelloRecorder&) = delete;
  ~ClientHelloRecorder();

  // Records every ClientHello that |context| (a server Context) receives
  // from now on, until this recorder is destroyed; keeps |context| alive
  // until then. Replaces its SSL_CTX's select-certificate callback.
  void Install(std::shared_ptr<const Context> context);

  // A copy of the facts so far, in arrival order.
  std::vector<ClientHelloFacts> hellos() const;
  // Every ticket identity (PSK identity or TLS 1.2 ticket) offered, in
  // arrival order, restricted to hellos that arrived on |port| when it is
  // not zero.
  std::vector<std::string> tickets_offered(uint16_t port = 0) const;

 private:
  static enum ssl_select_cert_result_t OnClientHello(
      const SSL_CLIENT_HELLO* hello);
  void Record(ClientHelloFacts facts);

  mutable std::mutex mu_;
  std::vector<ClientHelloFacts> hellos_;                  // Guarded by mu_.
  std::vector<std::shared_ptr<const Context>> contexts_;  // Guarded by mu_.
};

}  // namespace tlsession::testing

#endif  // TLSESSION_TESTS_TESTING_CLIENT_HELLO_RECORDER_H_
