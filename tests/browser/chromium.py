"""Debian's Chromium, headless, driven by Selenium through Debian's chromedriver.

Nothing is downloaded: the browser and the driver are the Debian packages `chromium` and
`chromium-driver` (hack/cluster/system-deps.sh installs them), passed to Selenium by path, so
Selenium Manager never looks for a browser of its own. The flags keep Chromium off the network
(this machine refuses its background connections) and out of the user's profile.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1500,1000"]


def missing() -> str | None:
    """Why the browser cannot start here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists() and not shutil.which(Path(path).name):
            return f"{path} is missing: install the Debian packages chromium and chromium-driver (make deps)"
    return None


def start() -> tuple[webdriver.Chrome, str]:
    """A headless Chromium with a fresh profile; returns the driver and the profile directory."""
    profile = tempfile.mkdtemp(prefix="dw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=CHROMEDRIVER if Path(CHROMEDRIVER).exists() else str(shutil.which("chromedriver")))
    return webdriver.Chrome(options=options, service=service), profile
