"""Reuse the workspace's small world (practices, people, staff, a current segmentation run)."""

from tests.web.conftest import fast_password_hashing, segmented, world  # noqa: F401
