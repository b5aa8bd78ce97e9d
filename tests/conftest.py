import pytest
import torch


@pytest.fixture(autouse=True)
def _float64_default():
    """Comparisons against torch.nn run in float64 so that differences are real, not rounding."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
