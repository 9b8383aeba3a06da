"""Size limits: every offending file named with a human size, and the project total."""

from __future__ import annotations

import pytest

from projectdesk.core.errors import LimitExceeded
from projectdesk.core.limits import DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_PROJECT_BYTES, Limits

MB = 1_000_000


def test_defaults_are_the_web_backends() -> None:
    assert DEFAULT_MAX_FILE_BYTES == 10 * MB
    assert DEFAULT_MAX_PROJECT_BYTES == 100 * MB


def test_exactly_at_the_limits_passes() -> None:
    limits = Limits(max_file_bytes=10 * MB, max_project_bytes=30 * MB)
    limits.check([("a.bin", 10 * MB), ("b.bin", 10 * MB), ("c.bin", 10 * MB)])
    assert limits.oversize([("a.bin", 10 * MB)]) == []


def test_one_byte_over_file_limit_fails() -> None:
    limits = Limits(max_file_bytes=1000, max_project_bytes=10_000)
    with pytest.raises(LimitExceeded) as info:
        limits.check([("x.bin", 1001)])
    assert "x.bin" in info.value.message


def test_one_byte_over_project_limit_fails() -> None:
    limits = Limits(max_file_bytes=1000, max_project_bytes=2000)
    with pytest.raises(LimitExceeded):
        limits.check([("a", 1000), ("b", 1000), ("c", 1)])


def test_message_names_each_offending_file_with_human_size() -> None:
    files = [
        ("small.txt", 1_000),
        ("assets/video.mp4", 12_500_000),
        ("data/dump.sql", 47_300_000),
        ("ok.png", 9_999_999),
    ]
    with pytest.raises(LimitExceeded) as info:
        Limits().check(files)
    message = info.value.message
    assert "assets/video.mp4 (12.5 MB)" in message
    assert "data/dump.sql (47.3 MB)" in message
    assert "small.txt" not in message
    assert "ok.png" not in message
    assert "10.0 MB" in message or "10 MB" in message  # the limit itself
    # Largest first.
    assert message.index("data/dump.sql") < message.index("assets/video.mp4")


def test_message_names_project_total() -> None:
    files = [(f"part{i}.bin", 9 * MB) for i in range(17)]  # 153 MB, each file fine
    with pytest.raises(LimitExceeded) as info:
        Limits().check(files)
    message = info.value.message
    assert "153.0 MB" in message or "153 MB" in message
    assert "100.0 MB" in message or "100 MB" in message
    assert "part" not in message  # no file is too big on its own


def test_both_problems_reported_together() -> None:
    with pytest.raises(LimitExceeded) as info:
        Limits(max_file_bytes=1000, max_project_bytes=1500).check([("huge.bin", 2_500), ("b", 10)])
    message = info.value.message
    assert "huge.bin (2.5 KB)" in message
    assert "2.5 KB, over" in message or "is 2.5 KB" in message


def test_many_oversize_files_are_summarised() -> None:
    files = [(f"f{i:02}.bin", 2000 + i) for i in range(12)]
    with pytest.raises(LimitExceeded) as info:
        Limits(max_file_bytes=1000, max_project_bytes=10**9).check(files)
    message = info.value.message
    assert "12 file(s)" in message
    assert "and 2 more" in message
    assert "f11.bin" in message  # the largest is shown
    assert "f00.bin" not in message  # the smallest is among the summarised


def test_check_accepts_a_generator() -> None:
    with pytest.raises(LimitExceeded) as info:
        Limits(max_file_bytes=10, max_project_bytes=100).check(x for x in [("a", 11)])
    assert "a (11 B)" in info.value.message
