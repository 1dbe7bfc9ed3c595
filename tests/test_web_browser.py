"""A real browser on the web pages: headless Chromium driven by Selenium.

Opens the landing page, types a question and submits it with the keyboard, follows the
"Partager" link, finds the quote and the article link on the answer page; no console error,
no request to another host (other hosts do not even resolve), no horizontal scroll at 360 px.
Saves a screenshot of the answer page to docs/answer-page.png for the README.

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium
chromium-driver``) and Selenium (``pip install -e '.[dev]'``); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from web_fixtures import serving, web_services

REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "answer-page.png"
QUESTION = "Qu'est-ce que la vidéosurveillance algorithmique ?"
INSTALL = (
    "no browser: `apt-get install chromium chromium-driver` (Debian) and "
    "`pip install -e '.[dev]'` (selenium) to run the browser test"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
selenium = pytest.importorskip("selenium", reason=INSTALL)
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=INSTALL)


@pytest.fixture(scope="module")
def live(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web pages on their own event loop in a thread (Selenium's calls block)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    svc = web_services(engine, tmp_path_factory.mktemp("browser") / "bot.sqlite3")
    server = serving(svc)
    base = asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(60)
    try:
        yield base
    finally:
        asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        svc.store.close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    profile = tmp_path_factory.mktemp("chromium-profile")
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--window-size=1200,900", "--lang=fr-FR",
        f"--user-data-dir={profile}",
        # Any host but ours fails to resolve: a request elsewhere cannot go unnoticed.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):  # fmt: skip
        opts.add_argument(flag)
    opts.binary_location = CHROMIUM  # type: ignore[assignment]
    opts.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    browser.set_page_load_timeout(60)
    try:
        yield browser
    finally:
        browser.quit()


def requested_urls(driver: Any) -> list[str]:
    """Every request that left the browser (its own chrome:// pages and data: URLs aside)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if urlsplit(url).scheme in ("http", "https", "ws", "wss", "ftp"):
                urls.append(url)
    return urls


def no_horizontal_scroll(driver: Any) -> bool:
    return bool(
        driver.execute_script(
            "return document.documentElement.scrollWidth <= window.innerWidth"
            " && window.innerWidth <= 360"
        )
    )


def test_search_share_and_read_an_answer_in_a_browser(live: str, driver: Any, engine: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, 60)
    driver.get_log("browser"), driver.get_log("performance")  # start from empty logs
    driver.get(f"{live}/")
    box = driver.find_element(By.ID, "q")
    box.send_keys(QUESTION, Keys.ENTER)  # the keyboard alone submits the search
    wait.until(ec.url_contains("?q="))
    first_quote = driver.find_element(By.TAG_NAME, "blockquote").text
    assert first_quote
    share = driver.find_element(By.CSS_SELECTOR, "p.actions a.button")
    assert share.text == "Partager"
    share.click()
    wait.until(ec.url_contains("/a/"))
    answer_url = driver.current_url
    quotes = driver.find_elements(By.TAG_NAME, "blockquote")
    assert quotes and quotes[0].text == first_quote
    article = driver.find_element(By.CSS_SELECTOR, "figure.quote cite a")
    href = article.get_attribute("href") or ""
    article_hosts = {urlsplit(a.url).netloc for a in engine.articles()}
    assert "#:~:text=" in href and urlsplit(href).netloc in article_hosts
    telegram = driver.find_element(By.CSS_SELECTOR, "a.button[href^='https://t.me/']")
    assert telegram.is_displayed()

    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    requests = requested_urls(driver)
    assert requests and all(u.startswith(live + "/") for u in requests), requests
    assert any(u.endswith("/static/style.css") for u in requests)

    driver.set_window_size(360, 800)
    for url in (answer_url, f"{live}/", f"{live}/?q=" + "anticonstitutionnellement" * 8):
        driver.get(url)
        assert no_horizontal_scroll(driver), url
    driver.set_window_size(400, 1000)
    driver.get(answer_url)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    driver.save_screenshot(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
