"""Tests of the `mlxk` command line, in-process and as a real subprocess."""
