"""The mlxk test suite (a package, so examples and benchmarks can import tests.factory)."""
