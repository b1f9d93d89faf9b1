"""Reuse the workspace's small world (practices, people, staff)."""

from tests.web.conftest import fast_password_hashing, world  # noqa: F401
