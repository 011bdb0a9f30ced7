"""Builders of tiny workspaces for the tests."""
