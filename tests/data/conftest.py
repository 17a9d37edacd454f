"""Shared fixtures of the data tests."""
from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def stockfish():
    """A reproducible Stockfish engine; the test is skipped when Stockfish is not installed."""
    from loopzoo.data import stockfish as sf

    if sf.find() is None:
        pytest.skip("Stockfish is not installed (apt-get install stockfish)")
    with sf.Engine() as engine:
        yield engine
