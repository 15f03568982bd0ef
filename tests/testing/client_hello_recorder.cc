#include "tests/testing/client_hello_recorder.h"

#include <netinet/in.h>
#include <openssl/bytestring.h>
#include <sys/socket.h>

#include <algorithm>

namespace tlsession::testing {
namespace {

constexpr uint16_t kSessionTicketExtension = 35;
constexpr uint16_t kPreSharedKeyExtension = 41;

int RecorderIndex() {
  static const int index =
      SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// The identities of a pre_shared_key extension (RFC 8446, 4.2.11).
std::vector<std::string> PskIdentities(const uint8_t* data, size_t len) {
  std::vector<std::string> out;
  CBS ext, identities;
  CBS_init(&ext, data, len);
  if (!CBS_get_u16_length_prefixed(&ext, &identities)) return out;
  while (CBS_len(&identities) > 0) {
    CBS identity;
    uint32_t age;
    if (!CBS_get_u16_length_prefixed(&identities, &identity) ||
        !CBS_get_u32(&identities, &age)) {
      break;
    }
    out.emplace_back(reinterpret_cast<const char*>(CBS_data(&identity)),
                     CBS_len(&identity));
  }
  return out;
}

std::string Extension(const SSL_CLIENT_HELLO* hello, uint16_t type) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_early_callback_ctx_extension_get(hello, type, &data, &len)) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(data), len);
}

uint16_t LocalPort(SSL* ssl) {
  const int fd = SSL_get_fd(ssl);
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  if (fd < 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
}

}  // namespace

ClientHelloRecorder::~ClientHelloRecorder() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& context : contexts_) {
    SSL_CTX_set_ex_data(context->ssl_ctx(), RecorderIndex(), nullptr);
  }
}

void ClientHelloRecorder::Install(std::shared_ptr<const Context> context) {
  SSL_CTX* ctx = context->ssl_ctx();
  {
    std::lock_guard<std::mutex> lock(mu_);
    contexts_.push_back(std::move(context));
  }
  SSL_CTX_set_ex_data(ctx, RecorderIndex(), this);
  SSL_CTX_set_select_certificate_cb(ctx, OnClientHello);
}

enum ssl_select_cert_result_t ClientHelloRecorder::OnClientHello(
    const SSL_CLIENT_HELLO* hello) {
  auto* self = static_cast<ClientHelloRecorder*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(hello->ssl), RecorderIndex()));
  if (self == nullptr) return ssl_select_cert_success;
  ClientHelloFacts facts;
  const std::string psk = Extension(hello, kPreSharedKeyExtension);
  facts.psk_identities =
      PskIdentities(reinterpret_cast<const uint8_t*>(psk.data()), psk.size());
  facts.session_ticket = Extension(hello, kSessionTicketExtension);
  facts.session_id.assign(reinterpret_cast<const char*>(hello->session_id),
                          hello->session_id_len);
  facts.local_port = LocalPort(hello->ssl);
  self->Record(std::move(facts));
  return ssl_select_cert_success;
}

void ClientHelloRecorder::Record(ClientHelloFacts facts) {
  std::lock_guard<std::mutex> lock(mu_);
  hellos_.push_back(std::move(facts));
}

std::vector<ClientHelloFacts> ClientHelloRecorder::hellos() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hellos_;
}

std::vector<std::string> ClientHelloRecorder::tickets_offered(
    uint16_t port) const {
  std::vector<std::string> out;
  for (const ClientHelloFacts& h : hellos()) {
    if (port != 0 && h.local_port != port) continue;
    out.insert(out.end(), h.psk_identities.begin(), h.psk_identities.end());
    if (!h.session_ticket.empty()) out.push_back(h.session_ticket);
  }
  return out;
}

}  // namespace tlsession::testing
