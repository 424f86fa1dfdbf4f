"""Public face of the compiler (`from crawlspec.compiler import compile_spec`); the code lives in
`crawlspec.spec.compile`."""

from crawlspec.spec.compile import CompiledSpec, compile_spec, fingerprint

__all__ = ["CompiledSpec", "compile_spec", "fingerprint"]
