"""tlsession_dependencies(): every repository tlsession's targets need.

A consumer's WORKSPACE is three lines:

    local_repository(name = "tlsession", path = "/path/to/tlsession")
    load("@tlsession//:deps.bzl", "tlsession_dependencies")
    tlsession_dependencies()

Each repository is declared only when the workspace has not declared it
already, so a consumer may bring its own. Everything is local: Bazel's
default rules_cc, rules_java and remote_coverage_tools are satisfied by
offline shims from tlsession's tree, platforms and skylib come from Debian's
bazel-platforms and bazel-skylib, BoringSSL from the source tree setup.sh
unpacks, Abseil, GoogleTest, Benchmark and hiredis from Debian's packages.
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")

def _tree_repository_impl(rctx):
    # The folder |folder| of tlsession's third_party/, linked file by file.
    third_party = rctx.path(Label("//third_party:BUILD")).dirname
    source = third_party.get_child(rctx.attr.folder)
    for child in source.readdir():
        rctx.symlink(child, child.basename)

_tree_repository = repository_rule(
    implementation = _tree_repository_impl,
    attrs = {"folder": attr.string(mandatory = True)},
    local = True,
    doc = "A repository made of one folder of tlsession's third_party/.",
)

# Where setup.sh unpacks Debian's android-platform-external-boringssl.
BORINGSSL_SOURCE = "/opt/tlsession/boringssl-src"

def tlsession_dependencies():
    """Declares what tlsession needs, unless already declared."""
    for shim in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        maybe(_tree_repository, name = shim, folder = shim)
    maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )
    maybe(
        native.local_repository,
        name = "bazel_skylib",
        path = "/usr/share/bazel/tools/skylib",
    )
    maybe(native.local_repository, name = "boringssl", path = BORINGSSL_SOURCE)
    maybe(
        native.new_local_repository,
        name = "system",
        build_file = str(Label("//third_party:system.BUILD")),
        path = "/usr",
    )
