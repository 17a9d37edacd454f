import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

TINY = {"width": 16, "heads": 2}

# Tiny models on a shared 2-core machine: more than one intra-op thread makes every op wait on
# the others (measured: 100 tiny training steps took 77 s with 2 threads under load, 1.7 s with 1).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    """The plugin tests that pip-install the example plugins and run them in fresh interpreters
    (tests/plugins, fixture ``installed``) are ``subprocess`` tests: not in ``make test-fast``."""
    for item in items:
        if "plugins" in item.path.parts and "installed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.subprocess)
