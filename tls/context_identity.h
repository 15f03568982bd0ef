// A Context's identity: the one place that decides which ContextOptions
// fields enter it, in the manner of Chromium's TieKeyFields.
//
// The identity is a SHA-256 over a list of named, length-prefixed inputs
// (IdentityInputs): every option that decides whom a connection trusts or
// who it is. Files enter by what they hold, never by their path: trust
// roots by the certificates read (ca_file, every certificate in ca_dir,
// ca_pem or the system store), this side's chain and key by their bytes.
// Sessions carry the identity, so a session is never offered under a
// configuration other than the one it was made with.
//
// Every ContextOptions field is either an identity input or on the short
// list FieldsOutsideIdentity(), each with the reason; a test walks every
// field and fails when one is on neither list or its change does not change
// the identity.
#ifndef TLSESSION_TLS_CONTEXT_IDENTITY_H_
#define TLSESSION_TLS_CONTEXT_IDENTITY_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "tls/context_material.h"
#include "tls/context_options.h"

namespace tlsession {

// One input of the identity: the ContextOptions field(s) it comes from, and
// its bytes.
struct IdentityInput {
  absl::string_view fields;
  std::string value;
};

// The identity's inputs, in order. The one list.
std::vector<IdentityInput> IdentityInputs(const ContextOptions& options,
                                          const ContextMaterial& material);

// The 32-byte identity: SHA-256 over IdentityInputs, each input's name and
// value length-prefixed.
std::string ContextIdentity(const ContextOptions& options,
                            const ContextMaterial& material);

// The inputs that decide whether a server may resume a session, whatever
// else differs among the servers that share |options.session_id_context|
// (a fleet): that context, this side's certificate chain and key (whom the
// session authenticated), the client-certificate mode and the trust roots
// client certificates are verified against (what a resumed session skips).
std::vector<IdentityInput> ResumptionInputs(const ContextOptions& options,
                                            const ContextMaterial& material);

// The 32-byte session-ID context of a server that sets
// |options.session_id_context|: SHA-256 over ResumptionInputs. Servers that
// share the context string but differ in a resumption input never resume
// each other's sessions (an instance requiring client certificates never
// resumes a session made where none was asked for).
std::string ServerSessionIdContext(const ContextOptions& options,
                                   const ContextMaterial& material);

// A ContextOptions field that does not enter the identity, and why.
struct FieldOutsideIdentity {
  absl::string_view field;
  absl::string_view why;
};
const std::vector<FieldOutsideIdentity>& FieldsOutsideIdentity();

}  // namespace tlsession

#endif  // TLSESSION_TLS_CONTEXT_IDENTITY_H_
