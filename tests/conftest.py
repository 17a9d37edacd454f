import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

TINY = {"width": 16, "heads": 2}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
