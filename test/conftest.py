"""Shared fixtures: where the reference recordings and field cases live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _dir(env: str, default: Path) -> Path:
    return Path(os.environ.get(env, str(default))).resolve()


SHARED_DATA = _dir("RIDESCAN_SAMPLE_DATA", REPO.parent / "shared" / "data")
SHARED_CASES = _dir("RIDESCAN_CASES", REPO.parent / "shared" / "cases")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $RIDESCAN_SAMPLE_DATA); skips when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference recordings not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def cases_dir() -> Path:
    """../shared/cases (or $RIDESCAN_CASES); skips when absent."""
    if not SHARED_CASES.is_dir():
        pytest.skip(f"field cases not found at {SHARED_CASES}")
    return SHARED_CASES
