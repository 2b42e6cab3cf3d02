import os
import sys
from pathlib import Path

import pytest
import torch

# notebooks/toy_cogvideox.py builds the random CogVideoX folders of week 9 and of the parity tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notebooks"))

os.environ.setdefault("MINICOG_FAST", "1")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny tensors: one thread avoids oversubscription slowdowns on a busy 2-core box
    (use with `pytestmark = pytest.mark.usefixtures("one_thread")`)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
