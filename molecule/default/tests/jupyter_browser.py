"""Drive Debian's Chromium (headless, through chromedriver and Selenium) against a JupyterLab server.

Used by test_jupyterlab.py. Nothing is downloaded: the browser and its driver are the host's packages
(chromium, chromium-driver; molecule/resources/host-prereqs.sh installs them), and Selenium is given
the driver's path, so its own driver manager never runs.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
T = TypeVar("T")


def make_driver(profile: Path | None = None) -> WebDriver:
    """Headless Chromium with a fresh profile; self-signed certificates are accepted (the tests
    compare the served certificate's fingerprint with the role's file themselves)."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    user_data = profile or Path(tempfile.mkdtemp(prefix="dlrig-chromium-"))
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1400,950",
        f"--user-data-dir={user_data}",
    ):
        options.add_argument(arg)
    options.accept_insecure_certs = True
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    return driver


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 120.0, every: float = 0.5) -> T:
    """Poll ``probe`` until it returns something truthy; AssertionError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (StaleElementReferenceException, WebDriverException, OSError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what}" + (f" ({last})" if last else "")
    )


def login(driver: WebDriver, base: str, password: str, after: str = "/lab") -> None:
    """Open the login page and submit ``password`` (the caller checks where it lands: ``after`` when
    the password is right)."""
    driver.get(f"{base}/login?next={quote(after, safe='')}")
    field = wait_for(
        "the password field", lambda: driver.find_elements(By.CSS_SELECTOR, "input[type=password]"), 300
    )[0]
    field.clear()
    field.send_keys(password)
    driver.find_element(
        By.CSS_SELECTOR, "form button[type=submit], form input[type=submit], #login_submit"
    ).click()


def on_login_page(driver: WebDriver) -> bool:
    return "/login" in driver.current_url and bool(
        driver.find_elements(By.CSS_SELECTOR, "input[type=password]")
    )


def launcher_cards(driver: WebDriver, timeout: float = 180.0) -> list[str]:
    """The titles of the launcher's Notebook cards (the kernels' display names)."""

    def cards() -> list[str] | None:
        found = driver.find_elements(By.CSS_SELECTOR, ".jp-LauncherCard[data-category='Notebook']")
        titles = [c.get_attribute("title") or c.text for c in found]
        return titles or None

    return wait_for("the launcher's notebook cards", cards, timeout)


def api(driver: WebDriver, path: str) -> tuple[int, Any]:
    """GET an API path with the browser's own session (cookies + XSRF), as the page itself would."""
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || "";
        fetch(arguments[0], {headers: {"X-XSRFToken": xsrf}, credentials: "same-origin"})
          .then(r => r.text().then(t => done([r.status, t])))
          .catch(e => done([0, String(e)]));
        """,
        path,
    )
    status, text = result
    try:
        return int(status), json.loads(text)
    except ValueError:
        return int(status), text


def run_all_cells(driver: WebDriver) -> None:
    """Run > Run All Cells, through JupyterLab's own command (the menu entry)."""
    menu = wait_for(
        "the Run menu",
        lambda: [
            m for m in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item") if m.text.strip() == "Run"
        ],
    )
    menu[0].click()
    item = wait_for(
        "Run All Cells",
        lambda: driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item[data-command='runmenu:run-all']"),
    )
    item[0].click()


def output_line(driver: WebDriver, marker: str, timeout: float) -> str:
    """The text of the first output line that starts with ``marker``, once the page shows it; an
    error output (a traceback) fails at once, with its text."""

    def probe() -> str | None:
        errors = driver.find_elements(
            By.CSS_SELECTOR,
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        )
        # Warnings on stderr are fine; a traceback is the cell's failure.
        tracebacks = [e.text for e in errors if "Traceback (most recent call last)" in e.text]
        if tracebacks:
            raise AssertionError(f"the cell failed:\n{tracebacks[0][-3000:]}")
        for out in driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"):
            for line in out.text.splitlines():
                if line.startswith(marker):
                    return line
        return None

    return wait_for(f"an output line starting with {marker!r}", probe, timeout, every=1.0)
