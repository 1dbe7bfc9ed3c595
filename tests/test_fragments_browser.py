"""Quote links in a real browser: every link of the dev answers, opened in headless Chromium
against its article rendered as the site renders it (Markdown, footnotes as superscript
links), scrolls to the quoted words. Skipped when Chromium or its driver is not installed."""

from __future__ import annotations

import html
import json
import shutil
import tempfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from index.corpus.folder import load_corpus

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
SPACER = 4000  # px above the article: a page that did not scroll stays at 0
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--window-size=1200,900")  # fmt: skip


def _driver(profile: Path):
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.skip(
            "no Chromium: `apt-get install chromium chromium-driver` runs the browser tests"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="pip install selenium")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for flag in (*CHROME_FLAGS, f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    opts.binary_location = CHROMIUM
    return webdriver.Chrome(options=opts, service=Service(DRIVER))


def render_site(content_dir: Path, root: Path) -> None:
    """Each article at its URL's path, as the campaign site shows it: Markdown to HTML,
    footnote markers as superscript links, a tall spacer above."""
    markdown = pytest.importorskip("markdown", reason="pip install markdown")
    for article in load_corpus(content_dir).articles:
        body = markdown.markdown(article.body, extensions=["footnotes"])
        page = (
            f"<!doctype html><html lang='fr'><meta charset='utf-8'>"
            f"<title>{html.escape(article.title)}</title><body>"
            f"<div style='height:{SPACER}px'></div><article><h1>{html.escape(article.title)}"
            f"</h1>{body}</article><div style='height:{SPACER}px'></div></body></html>"
        )
        folder = root / urlsplit(article.url).path.strip("/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(page, encoding="utf-8")


# Where the fragment's first words are, once the browser has (or has not) scrolled to them:
# the smallest element holding them, and whether it is in the viewport.
_FIND = """
const words = arguments[0].replace(/\\s+/g, ' ');
const norm = s => s.replace(/\\s+/g, ' ');
let best = null;
for (const el of document.querySelectorAll('article p, article li, article h1, article h2,'
                                           + ' article h3, article h4')) {
  if (norm(el.textContent).includes(words)) { best = el; }
  if (best) break;
}
if (!best) return {found: false, scroll: window.scrollY};
const r = best.getBoundingClientRect();
return {found: true, scroll: window.scrollY,
        visible: r.bottom > 0 && r.top < window.innerHeight};
"""


@pytest.fixture(scope="module")
def site(index_settings, engine):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        render_site(index_settings.content_dir, root)
        handler = partial(SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_every_dev_quote_link_scrolls_to_its_quote(engine, site: str, tmp_path: Path) -> None:
    if not DEV.exists():
        pytest.skip(f"{DEV} not found")
    questions = [json.loads(line)["q"] for line in DEV.read_text("utf-8").splitlines() if line]
    links = sorted({r.url for q in questions for r in engine.search(q, k=5).results})
    assert len(links) > 20
    driver = _driver(tmp_path / "profile")
    failed = []
    try:
        driver.set_page_load_timeout(20)
        for link in links:
            parts = urlsplit(link)
            local = f"{site}{parts.path}#{parts.fragment}"
            start = unquote(parts.fragment.removeprefix(":~:text=").split(",")[0])
            driver.get("about:blank")  # each link a new navigation: fragments re-matched
            driver.get(local)
            state = {}
            for _ in range(20):  # the scroll follows the load
                state = driver.execute_script(_FIND, start)
                if state.get("scroll", 0) > 0 and state.get("visible"):
                    break
                driver.execute_script("return new Promise(r => setTimeout(r, 50))")
            if not (state.get("found") and state.get("visible") and state["scroll"] > 0):
                failed.append(f"{link} → {state}")
    finally:
        driver.quit()
    assert not failed, f"{len(failed)}/{len(links)} links did not scroll:\n" + "\n".join(failed)
