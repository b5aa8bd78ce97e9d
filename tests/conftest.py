import pytest
import torch


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
