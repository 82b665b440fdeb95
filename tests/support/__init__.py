"""Helpers the tests share: test modules import them from here, never from a conftest
module (conftest modules hold fixtures only)."""
