"""The layers of tlsession, enforced when BUILD files load.

base/ <- session/ <- tls/ <- ftp_adapter/, fleet/ <- tools/ <- demos/, with
testbed/ beside tools/ (it serves tests, benchmarks and demos), and tests/,
benchmarks/ and examples/ on top (ARCHITECTURE.md).

Two checks keep a lower layer from depending on a higher one:

- Package visibility: each package's default_visibility is the package
  group of the root BUILD that lists the packages above it, so a back edge
  to a target that is not public fails analysis ("target ... is not
  visible from target ...").
- This file: the library packages load cc_library and cc_binary from here
  instead of the native rules. These check, when the BUILD file loads, that
  every dependency is in the package itself, in a layer below (LAYERS) or in
  another repository; a back edge fails with the same words, "is not
  visible", also for a target that is //visibility:public (the library's API,
  public so that other workspaces can use it).
"""

_BELOW_ADAPTERS = ["base", "session", "tls"]
_LIBRARIES = _BELOW_ADAPTERS + ["ftp_adapter", "fleet"]

# The packages each layer's packages may depend on, besides their own.
LAYERS = {
    "base": [],
    "session": ["base"],
    "tls": ["base", "session"],
    "ftp_adapter": _BELOW_ADAPTERS,
    "fleet": _BELOW_ADAPTERS,
    "tools": _LIBRARIES,
    "testbed": _LIBRARIES,
    "demos": _LIBRARIES + ["testbed", "tools"],
}

def _package_of(label, here):
    """The package a dependency label names; None for another repository."""
    if label.startswith("@"):
        return None
    if label.startswith(":") or not label.startswith("//"):
        return here
    return label[2:].split(":")[0]

def _check_layers(name, attrs):
    """Fails on a dependency of //<this package>:name above its layer."""
    here = native.package_name()
    allowed = LAYERS.get(here)
    if allowed == None:
        fail("layers.bzl: package '%s' has no layer in LAYERS" % here)
    for attr, labels in attrs.items():
        if type(labels) != "list":
            continue  # A select(): not used in the layered packages.
        for label in labels:
            pkg = _package_of(label, here)
            if pkg == None or pkg == here or pkg in allowed:
                continue
            fail(("target '%s' is not visible from target '//%s:%s' " +
                  "(%s: %s/ may depend on %s only; see //:layers.bzl)") % (
                label,
                here,
                name,
                attr,
                here,
                ", ".join([p + "/" for p in allowed]) or "no package here",
            ))

def cc_library(name, deps = [], data = [], **kwargs):
    """native.cc_library, its deps and data checked against LAYERS."""
    _check_layers(name, {"deps": deps, "data": data})
    native.cc_library(name = name, deps = deps, data = data, **kwargs)

def cc_binary(name, deps = [], data = [], **kwargs):
    """native.cc_binary, its deps and data checked against LAYERS."""
    _check_layers(name, {"deps": deps, "data": data})
    native.cc_binary(name = name, deps = deps, data = data, **kwargs)
