// The Context identity (tls/context_identity.h): every ContextOptions field
// either changes id() or is on the documented list of fields that do not
// decide trust or identity; files enter by their contents.
#include "tls/context_identity.h"

#include <unistd.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testbed/certs.h"
#include "tests/tls_test_util.h"
#include "tls/context.h"

namespace tlsession {
namespace {

using testing::CertOptions;
using testing::GetTestPki;
using testing::MakeCertificate;
using testing::MakeTempDir;
using testing::WriteFileOrDie;

// Every ContextOptions field by name. The structured binding stops compiling
// when a field is added or removed: classify the new field (an input in
// IdentityInputs, or FieldsOutsideIdentity) and add it here and below.
std::vector<std::string> AllFieldNames() {
  ContextOptions o;
  [[maybe_unused]] auto& [role, min_version, max_version, cipher_list, groups,
                          alpn_protocols, ca_file, ca_dir, ca_pem,
                          insecure_skip_verify, certificate_chain_file,
                          private_key_file, certificate_chain_pem,
                          private_key_pem, require_client_certificate,
                          session_id_cache, session_cache_size, session_store,
                          session_timeout, session_tickets, tls13_tickets,
                          ticket_keys, session_id_context, early_data,
                          session_cache, keylog_file, io_timeout, clock] = o;
  return {"role",
          "min_version",
          "max_version",
          "cipher_list",
          "groups",
          "alpn_protocols",
          "ca_file",
          "ca_dir",
          "ca_pem",
          "insecure_skip_verify",
          "certificate_chain_file",
          "private_key_file",
          "certificate_chain_pem",
          "private_key_pem",
          "require_client_certificate",
          "session_id_cache",
          "session_cache_size",
          "session_store",
          "session_timeout",
          "session_tickets",
          "tls13_tickets",
          "ticket_keys",
          "session_id_context",
          "early_data",
          "session_cache",
          "keylog_file",
          "io_timeout",
          "clock"};
}

// A second CA, unrelated to the test PKI's.
const testing::CertAndKey& OtherCa() {
  static const auto* ca = [] {
    CertOptions o;
    o.common_name = "another CA";
    o.is_ca = true;
    return new testing::CertAndKey(*MakeCertificate(o, nullptr));
  }();
  return *ca;
}

std::string OtherCaFile() {
  static const std::string path = [] {
    std::string p = MakeTempDir() + "/other-ca.pem";
    WriteFileOrDie(p, OtherCa().cert_pem);
    return p;
  }();
  return path;
}

ContextOptions ClientBase() {
  ContextOptions o = testing::ClientOptions();
  o.alpn_protocols = {"a", "b"};
  return o;
}

ContextOptions ClientWithCertificateFiles() {
  const testing::TestPki& pki = GetTestPki();
  ContextOptions o = ClientBase();
  o.certificate_chain_file = pki.client_cert_file();
  o.private_key_file = pki.client_key_file();
  return o;
}

ContextOptions ServerBase() { return testing::ServerOptions(); }

// A change to one field (and, where the field cannot change alone, its
// partner), applied to a base that the change is meaningful for.
struct FieldChange {
  std::function<ContextOptions()> base;
  std::function<void(ContextOptions&)> change;
};

std::map<std::string, FieldChange> IdentityFieldChanges() {
  const testing::TestPki& pki = GetTestPki();
  const testing::TestPki& rsa = GetTestPki(testing::KeyType::kRsa2048);
  return {
      {"role", {ServerBase, [](ContextOptions& o) { o.role = Role::kClient; }}},
      {"min_version",
       {ClientBase, [](ContextOptions& o) { o.min_version = TLS1_3_VERSION; }}},
      {"max_version",
       {ClientBase, [](ContextOptions& o) { o.max_version = TLS1_2_VERSION; }}},
      {"cipher_list",
       {ClientBase,
        [](ContextOptions& o) {
          o.cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
        }}},
      {"groups", {ClientBase, [](ContextOptions& o) { o.groups = "P-256"; }}},
      // {"a","b"} and {"a,b"} are different lists.
      {"alpn_protocols",
       {ClientBase, [](ContextOptions& o) { o.alpn_protocols = {"a,b"}; }}},
      {"ca_file",
       {ClientBase, [](ContextOptions& o) { o.ca_file = OtherCaFile(); }}},
      {"ca_dir",
       {ClientBase,
        [](ContextOptions& o) {
          o.ca_dir = MakeTempDir();
          WriteFileOrDie(o.ca_dir + "/other.pem", OtherCa().cert_pem);
        }}},
      {"ca_pem",
       {ClientBase, [](ContextOptions& o) { o.ca_pem += OtherCa().cert_pem; }}},
      {"insecure_skip_verify",
       {ClientBase, [](ContextOptions& o) { o.insecure_skip_verify = true; }}},
      {"certificate_chain_file",
       {ClientWithCertificateFiles,
        [&rsa](ContextOptions& o) {
          o.certificate_chain_file = rsa.client_cert_file();
          o.private_key_file = rsa.client_key_file();
        }}},
      {"private_key_file",
       {ClientBase,
        [&pki](ContextOptions& o) {
          o.private_key_file = pki.client_key_file();
          o.certificate_chain_file = pki.client_cert_file();
        }}},
      {"certificate_chain_pem",
       {ServerBase,
        [&pki](ContextOptions& o) {
          o.certificate_chain_pem = pki.server.cert_pem + pki.ca.cert_pem;
        }}},
      {"private_key_pem",
       {ServerBase,
        [&rsa](ContextOptions& o) {
          o.private_key_pem = rsa.server.key_pem;
          o.certificate_chain_pem = rsa.server.cert_pem;
        }}},
      {"require_client_certificate",
       {ServerBase,
        [](ContextOptions& o) { o.require_client_certificate = true; }}},
      {"session_id_context",
       {ServerBase, [](ContextOptions& o) { o.session_id_context = "fleet"; }}},
  };
}

std::map<std::string, FieldChange> ExemptFieldChanges() {
  return {
      {"session_id_cache",
       {ServerBase, [](ContextOptions& o) { o.session_id_cache = false; }}},
      {"session_cache_size",
       {ServerBase, [](ContextOptions& o) { o.session_cache_size = 7; }}},
      {"session_store",
       {ServerBase,
        [](ContextOptions& o) {
          o.session_store = std::make_shared<MemoryServerSessionStore>();
        }}},
      {"session_timeout",
       {ServerBase,
        [](ContextOptions& o) { o.session_timeout = absl::Minutes(5); }}},
      {"session_tickets",
       {ServerBase, [](ContextOptions& o) { o.session_tickets = false; }}},
      {"tls13_tickets",
       {ServerBase, [](ContextOptions& o) { o.tls13_tickets = 1; }}},
      {"ticket_keys",
       {ServerBase,
        [](ContextOptions& o) {
          o.ticket_keys =
              std::make_shared<TicketKeyRing>(TicketKey::Generate());
        }}},
      {"early_data",
       {ServerBase, [](ContextOptions& o) { o.early_data = true; }}},
      {"session_cache",
       {ClientBase,
        [](ContextOptions& o) {
          o.session_cache = std::make_shared<ClientSessionCache>();
        }}},
      {"keylog_file",
       {ClientBase,
        [](ContextOptions& o) { o.keylog_file = MakeTempDir() + "/keys"; }}},
      {"io_timeout",
       {ClientBase,
        [](ContextOptions& o) { o.io_timeout = absl::Seconds(1); }}},
      {"clock",
       {ServerBase,
        [](ContextOptions& o) {
          o.clock = [] { return absl::UnixEpoch() + absl::Hours(24 * 365); };
        }}},
  };
}

std::string IdOf(ContextOptions o) { return testing::MustCreate(o)->id(); }

// Every field is classified: an identity input, or on the documented list.
TEST(ContextIdentity, EveryFieldIsClassified) {
  std::set<std::string> classified;
  for (const auto& [name, change] : IdentityFieldChanges()) {
    classified.insert(name);
  }
  std::set<std::string> documented;
  for (const FieldOutsideIdentity& f : FieldsOutsideIdentity()) {
    documented.insert(std::string(f.field));
    EXPECT_FALSE(f.why.empty()) << f.field;
  }
  std::set<std::string> exempt;
  for (const auto& [name, change] : ExemptFieldChanges()) exempt.insert(name);
  EXPECT_EQ(exempt, documented);
  for (const std::string& name : AllFieldNames()) {
    EXPECT_TRUE(classified.count(name) + exempt.count(name) == 1)
        << name << " must be an identity input or on FieldsOutsideIdentity";
  }
  EXPECT_EQ(classified.size() + exempt.size(), AllFieldNames().size());
}

// Changing any identity field changes id().
TEST(ContextIdentity, EveryIdentityFieldChangesTheId) {
  for (const auto& [name, field] : IdentityFieldChanges()) {
    ContextOptions changed = field.base();
    field.change(changed);
    EXPECT_NE(IdOf(field.base()), IdOf(changed)) << name;
  }
}

// Changing a field outside the identity leaves id() as it was.
TEST(ContextIdentity, ExemptFieldsLeaveTheIdAlone) {
  for (const auto& [name, field] : ExemptFieldChanges()) {
    ContextOptions changed = field.base();
    field.change(changed);
    EXPECT_EQ(IdOf(field.base()), IdOf(changed)) << name;
  }
}

// Equal configurations give equal identities (what lets a saved session
// resume after a restart).
TEST(ContextIdentity, StableAcrossContexts) {
  EXPECT_EQ(IdOf(ClientBase()), IdOf(ClientBase()));
  EXPECT_EQ(IdOf(ServerBase()), IdOf(ServerBase()));
  EXPECT_EQ(IdOf(ClientBase()).size(), 32u);
}

// ca_file enters by what it holds: the same certificates at another path
// give the same identity.
TEST(ContextIdentity, CaFileByContentsNotPath) {
  ContextOptions a = ClientBase(), b = ClientBase();
  a.ca_pem.clear();
  b.ca_pem.clear();
  a.ca_file = GetTestPki().ca_file();
  b.ca_file = MakeTempDir() + "/copy.pem";
  WriteFileOrDie(b.ca_file, GetTestPki().ca.cert_pem);
  EXPECT_EQ(IdOf(a), IdOf(b));
}

// Removing a CA from ca_dir changes the identity of a Context built anew
// with the same options, so sessions verified under the removed CA are
// never offered again.
TEST(ContextIdentity, CaDirByItsCertificates) {
  ContextOptions o = ClientBase();
  o.ca_pem.clear();
  o.ca_dir = MakeTempDir();
  WriteFileOrDie(o.ca_dir + "/test.pem", GetTestPki().ca.cert_pem);
  WriteFileOrDie(o.ca_dir + "/other.pem", OtherCa().cert_pem);
  // c_rehash-style links to a file already there change nothing.
  ASSERT_EQ(symlink("test.pem", (o.ca_dir + "/abcd1234.0").c_str()), 0);
  const std::string with_both = IdOf(o);
  ASSERT_EQ(unlink((o.ca_dir + "/abcd1234.0").c_str()), 0);
  EXPECT_EQ(IdOf(o), with_both);
  ASSERT_EQ(unlink((o.ca_dir + "/other.pem").c_str()), 0);
  EXPECT_NE(IdOf(o), with_both);
}

// A ca_dir with no certificate in it is a clear error.
TEST(ContextIdentity, EmptyCaDirIsAnError) {
  ContextOptions o = ClientBase();
  o.ca_pem.clear();
  o.ca_dir = MakeTempDir();
  auto context = Context::Create(o);
  ASSERT_FALSE(context.ok());
  EXPECT_THAT(std::string(context.status().message()),
              ::testing::HasSubstr("holds no PEM certificate"));
}

// The inputs are named after the fields they come from.
TEST(ContextIdentity, InputsNameTheirFields) {
  auto material = LoadContextMaterial(ClientBase());
  ASSERT_TRUE(material.ok());
  std::set<std::string> named;
  for (const IdentityInput& input : IdentityInputs(ClientBase(), *material)) {
    for (absl::string_view f : absl::StrSplit(input.fields, ' ')) {
      named.insert(std::string(f));
    }
  }
  for (const auto& [name, change] : IdentityFieldChanges()) {
    EXPECT_EQ(named.count(name), 1u) << name;
  }
}

// The session-ID context of a fleet server (one that sets
// session_id_context): what decides resumption changes it; what does not
// leaves it alone, so differently tuned instances still share sessions.
TEST(ServerSessionIdContext, CoversCertificateClientAuthAndItsRoots) {
  const testing::TestPki& rsa = GetTestPki(testing::KeyType::kRsa2048);
  const auto fleet = [] {
    ContextOptions o = ServerBase();
    o.session_id_context = "fleet";
    return o;
  };
  const auto sid_ctx = [](const ContextOptions& o) {
    auto material = LoadContextMaterial(o);
    EXPECT_TRUE(material.ok()) << material.status();
    return material.ok() ? ServerSessionIdContext(o, *material) : "";
  };
  const std::string base = sid_ctx(fleet());
  EXPECT_EQ(base.size(), 32u);
  EXPECT_EQ(sid_ctx(fleet()), base);
  const std::function<void(ContextOptions&)> deciding[] = {
      [](ContextOptions& o) { o.session_id_context = "other fleet"; },
      [&rsa](ContextOptions& o) {
        o.certificate_chain_pem = rsa.server.cert_pem;
        o.private_key_pem = rsa.server.key_pem;
      },
      [](ContextOptions& o) { o.require_client_certificate = true; },
  };
  for (const auto& change : deciding) {
    ContextOptions o = fleet();
    change(o);
    EXPECT_NE(sid_ctx(o), base);
  }
  // Client certificates required, against other roots.
  ContextOptions required = fleet();
  required.require_client_certificate = true;
  ContextOptions other_roots = required;
  other_roots.ca_pem = rsa.ca.cert_pem;
  EXPECT_NE(sid_ctx(required), sid_ctx(other_roots));
  // Neither the versions nor the timeouts decide whether a session resumes.
  ContextOptions tuned = fleet();
  tuned.max_version = TLS1_2_VERSION;
  tuned.session_timeout = absl::Minutes(5);
  EXPECT_EQ(sid_ctx(tuned), base);
}

}  // namespace
}  // namespace tlsession
