import os
import sys
from pathlib import Path

import pytest
import torch

# RNNBENCH_FAKE_CUDA=1: torch reports a CUDA device while tensors stay on the CPU (tests/fakecuda says
# why), here and, through PYTHONPATH, in every Python subprocess a test starts. tests/test_fake_cuda.py
# runs a subset of the suite this way.
FAKECUDA = Path(__file__).parent / "fakecuda"
sys.path.insert(0, str(FAKECUDA))
from sitecustomize import fake_cuda_on, install  # noqa: E402

FAKE_CUDA = fake_cuda_on()
# Whether real CUDA kernels can run (read before the fake is installed): tests marked `cuda` need them.
REAL_CUDA = torch.cuda.is_available() and not FAKE_CUDA
if FAKE_CUDA:
    install()
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(FAKECUDA), os.environ.get("PYTHONPATH")) if p)
sys.path.remove(str(FAKECUDA))


def pytest_collection_modifyitems(config, items):
    """Tests marked `cuda` run CUDA kernels: skipped, with the reason, where no real CUDA device is (the
    faked one has none). The other tests must hold with and without CUDA: where a test checks a path that
    only one of the two takes, it branches on torch.cuda.is_available() (faked or real) and says why."""
    if REAL_CUDA:
        return
    why = "faked CUDA (RNNBENCH_FAKE_CUDA) runs no CUDA kernel" if FAKE_CUDA else "needs a CUDA device (none here)"
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=why))


@pytest.fixture(autouse=True)
def _float64_default():
    """Comparisons against torch.nn run in float64 so that differences are real, not rounding."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def one_thread():
    """One torch thread, as the pipeline's jobs train: a run's last bits depend on the kernels."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# Debian's packages (apt-get install chromium chromium-driver): a test tool's own browser download
# does not work on these machines, so the browser test drives the system's Chromium or skips.
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture
def chromium(tmp_path):
    """A headless Chromium driven by Selenium, with a fresh profile under ``tmp_path``; the test is
    skipped, saying why, where Selenium, Chromium or its driver is missing or will not start."""
    import os
    import shutil

    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as e:
        pytest.skip(f"selenium is not installed ({e}); pip install -e '.[test]'")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            pytest.skip(f"{path} not found: apt-get install chromium chromium-driver (as root; .ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tmp_path / "chromium-profile"
    # no sandbox (root in a container); no background networking: this machine's network is closed,
    # and Chromium's calls home would be refused many at a time
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--window-size=1400,1000", f"--user-data-dir={profile}"):  # fmt: skip
        options.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as e:
        pytest.skip(f"Chromium did not start: {str(e.msg or e).splitlines()[0]}")
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
