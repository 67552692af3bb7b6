"""Start Debian's Chromium headless through Selenium, for the tests that open Shochu's HTML pages.

Both binaries are given by path and the caller sets SE_OFFLINE, so Selenium Manager never
downloads a browser or a driver.
"""

from __future__ import annotations

from pathlib import Path

ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
             "--window-size=1280,1600", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-default-apps")


def start_chromium(chromium: Path, chromedriver: Path, profile: Path):
    """Return a WebDriver for a headless Chromium with its own profile folder and the console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(chromium)
    for argument in (*ARGUMENTS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=str(chromedriver)), options=options)
