"""The feed fetcher against a local HTTP server on 127.0.0.1 (faults included)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from index.config import IndexSettings
from index.corpus.article import read_article
from index.corpus.fetch import fetch_all, main_fetch
from index.corpus.fetching.options import FetchOptions
from index.corpus.fetching.sources import SourceError, load_sources
from index.corpus.fetching.state import FetchError, FetchState, fetch_state_path, run_lock
from index.corpus.folder import articles_dir, load_corpus

FIXTURES = Path(__file__).parent / "webfixtures"

VSA = "/2024/05/02/vsa-et-jeux-olympiques-lexperimentation-qui-ne-devait-pas-durer/"
MARSEILLE = "/2024/04/20/reconnaissance-faciale-marseille/"
RURAL = "/2023/11/08/cameras-communes-rurales/"
DRONES = "/blog/2024/06/drones-manifestations/"
LQDN_PAGES = (VSA, MARSEILLE, RURAL)


# ------------------------------------------------------------------------------ the server


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    fail_first: int = 0  # answer 500 to the first N requests
    length: bool = True  # False: no Content-Length, the body is streamed until close
    location: str | None = None  # with a 3xx status


@dataclass
class Site:
    base: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    agents: list[str] = field(default_factory=list)

    def page(self, path: str, name: str, **kw: object) -> None:
        self.routes[path] = Route(self.fixture(name), **kw)  # type: ignore[arg-type]

    def feed(self, path: str, name: str, **kw: object) -> None:
        kw.setdefault("content_type", "application/rss+xml; charset=UTF-8")
        self.routes[path] = Route(self.fixture(name), **kw)  # type: ignore[arg-type]

    def fixture(self, name: str) -> bytes:
        return (FIXTURES / name).read_bytes().replace(b"{{BASE}}", self.base.encode())

    def page_hits(self, paths: tuple[str, ...] = LQDN_PAGES) -> int:
        return sum(self.hits[p] for p in paths)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            site.hits[self.path] += 1
            site.agents.append(self.headers.get("User-Agent", ""))
            route = site.routes.get(self.path)
            if route is None:
                self._send(404, b"<html><body>Page introuvable</body></html>", "text/html")
                return
            if site.hits[self.path] <= route.fail_first:
                self._send(500, b"erreur interne", "text/plain")
                return
            if route.delay:
                time.sleep(route.delay)
            if route.status != 200:
                where = {"Location": route.location} if route.location else {}
                self._send(route.status, b"", "text/plain", where)
                return
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if (route.etag and inm == route.etag) or (
                route.last_modified and not inm and ims == route.last_modified
            ):
                self.send_response(304)
                self.end_headers()
                return
            extra = {}
            if route.etag:
                extra["ETag"] = route.etag
            if route.last_modified:
                extra["Last-Modified"] = route.last_modified
            self._send(200, route.body, route.content_type, extra, route.length)

        def _send(self, status: int, body: bytes, ctype: str, extra: dict | None = None,
                  length: bool = True) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout, size cap): expected in these tests

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()
    server = QuietServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(tmp_path: Path) -> IndexSettings:
    # The fixture sites listen on 127.0.0.1: only reachable with the SSRF guard lifted.
    return IndexSettings(content_dir=tmp_path / "content", index_dir=tmp_path / "data" / "index",
                         cache_dir=tmp_path / "data" / "cache", fetch_allow_private_addresses=True)


OPTIONS = FetchOptions(timeout=0.5, max_retries=2, backoff_base=0.01, backoff_max=0.05,
                       min_delay=0.0, max_bytes=100_000, respect_robots=False)


def write_sources(settings: IndexSettings, site: Site, *entries: tuple[str, str]) -> Path:
    """``entries``: (name, feed path); all in French."""
    path = Path(settings.content_dir) / "sources.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f'[[source]]\nname = "{name}"\nfeed = "{site.base}{feed}"\nlang = "fr"\n\n'
                   for name, feed in entries)
    path.write_text(text, encoding="utf-8")
    return path


def standard_site(site: Site) -> None:
    site.feed("/lqdn/feed/", "rss-summary.xml", etag='"feed-v1"')
    site.feed("/technopolice/feed/", "rss-full.xml",
              last_modified="Tue, 12 Mar 2024 10:00:00 GMT")
    site.feed("/atom/feed", "atom.xml", content_type="application/atom+xml")  # no validators
    site.page(VSA, "page-vsa-jo.html", etag='"vsa-v1"')
    site.page(MARSEILLE, "page-marseille.html")
    site.page(RURAL, "page-latin1.html")  # cp1252 bytes served as charset=utf-8
    site.page(DRONES, "page-drones.html")


SOURCES = (("La Quadrature du Net", "/lqdn/feed/"), ("Technopolice", "/technopolice/feed/"),
           ("Carnet", "/atom/feed"))


def run(settings: IndexSettings, **kw: object):
    kw.setdefault("options", OPTIONS)
    return fetch_all(settings, **kw)  # type: ignore[arg-type]


def files(settings: IndexSettings) -> dict[str, str]:
    folder = articles_dir(settings.content_dir)
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


# ------------------------------------------------------------------------------- the tests


def test_first_run_imports_every_source(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, *SOURCES)
    report = run(settings)

    by_name = {s.name: s for s in report.sources}
    assert (by_name["La Quadrature du Net"].added, by_name["Technopolice"].added,
            by_name["Carnet"].added) == (3, 2, 2)
    assert report.updated == 0 and report.skipped == [] and report.exit_code == 0 and report.ok
    assert by_name["Technopolice"].page_requests == 0  # full text in content:encoded
    assert site.hits[DRONES] == 1 and site.page_hits() == 3
    assert all(a.startswith("campaign-bot/") for a in site.agents)

    corpus = load_corpus(settings.content_dir)
    assert corpus.errors == []
    assert len(corpus.articles) == 7 == len(report.changed_ids)
    arts = {a.url.removeprefix(site.base): a for a in corpus.articles}
    vsa = arts[VSA]
    assert vsa.title == "VSA et Jeux Olympiques : l’expérimentation qui ne devait pas durer"
    assert vsa.date == dt.date(2024, 5, 2) and vsa.lang == "fr"
    assert vsa.source == "La Quadrature du Net"
    assert "## Une expérimentation sans évaluation sérieuse" in vsa.body
    assert "rendue publique[^1]." in vsa.body
    for junk in ("Accepter", "Laisser un commentaire", "Mentions légales", "Partager",
                 "Article précédent", "Qui sommes-nous"):
        assert junk not in vsa.body
    rural = arts[RURAL]
    assert "À Saint-Étienne-de-Crossey" in rural.body and "Ã" not in rural.body
    nice = arts["/blog/2024/03/12/nice-capteurs-sonores/"]
    assert nice.source == "Technopolice" and nice.body.endswith(
        "[^1]: Délibération du conseil municipal du 8 février 2024.")

    text = (articles_dir(settings.content_dir) / f"{vsa.id}.md").read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: 'VSA et Jeux Olympiques : l’expérimentation")
    assert "\ndate: '2024-05-02'\n" in text and "\nsource: La Quadrature du Net\n" in text
    assert "\nlang: fr\n" in text

    rendered = report.render()
    assert "La Quadrature du Net" in rendered and "total" in rendered
    assert fetch_state_path(settings).is_file()


def test_second_run_changes_nothing_and_fetches_no_page(site: Site,
                                                        settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, *SOURCES)
    run(settings)
    before = files(settings)
    mtimes = {p: p.stat().st_mtime_ns for p in articles_dir(settings.content_dir).iterdir()}
    state_mtime = fetch_state_path(settings).stat().st_mtime_ns
    site.hits.clear()

    report = run(settings)
    by_name = {s.name: s for s in report.sources}
    assert by_name["La Quadrature du Net"].feed_status == "not modified"  # ETag → 304
    assert by_name["Technopolice"].feed_status == "not modified"  # Last-Modified → 304
    assert by_name["Carnet"].feed_status == "fetched"  # no validators: parsed again...
    assert by_name["Carnet"].unchanged == 2  # ...but its entries' stamps did not change
    assert report.added == report.updated == 0 and report.changed_ids == []
    assert site.page_hits((*LQDN_PAGES, DRONES)) == 0
    assert files(settings) == before
    assert {p: p.stat().st_mtime_ns for p in articles_dir(settings.content_dir).iterdir()} \
        == mtimes
    assert fetch_state_path(settings).stat().st_mtime_ns == state_mtime  # not rewritten
    assert report.exit_code == 0
    assert "not modified" in report.render()


def test_changed_article_replaces_its_file(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, *SOURCES)
    first = run(settings)
    vsa_id = next(i for i in first.changed_ids if i.startswith("vsa-"))
    site.hits.clear()

    feed = site.routes["/lqdn/feed/"]
    feed.body = feed.body.replace(b"Thu, 02 May 2024 08:31:12 +0000",
                                  b"Mon, 06 May 2024 08:02:40 +0000")
    feed.etag = '"feed-v2"'
    page = site.routes[VSA]
    page.body = page.body.replace("Nous demandons l’interdiction".encode(),
                                  "Nous exigeons l’interdiction".encode())
    page.etag = '"vsa-v2"'

    report = run(settings)
    lqdn = report.sources[0]
    assert (lqdn.updated, lqdn.unchanged, lqdn.added) == (1, 2, 0)
    assert report.changed_ids == [vsa_id]
    assert site.hits[VSA] == 1 and site.hits[MARSEILLE] == site.hits[RURAL] == 0
    article = read_article(articles_dir(settings.content_dir) / f"{vsa_id}.md")
    assert "Nous exigeons l’interdiction" in article.body
    assert "Nous demandons l’interdiction" not in article.body


def test_entry_updated_but_page_not_modified(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, SOURCES[0])
    run(settings)
    feed = site.routes["/lqdn/feed/"]
    feed.body = feed.body.replace(b"Thu, 02 May 2024", b"Fri, 03 May 2024")
    feed.etag = '"feed-v2"'
    site.hits.clear()
    report = run(settings)
    assert report.sources[0].unchanged == 3 and report.sources[0].updated == 0
    assert site.hits[VSA] == 1  # a conditional GET answered 304


def fault_feed(site: Site, paths: list[str], path: str = "/faults/feed") -> None:
    items = "".join(
        f"<item><title>Article {i}</title><link>{p if p.startswith('http') else site.base + p}"
        f"</link><pubDate>Mon, 0{1 + i % 9} Apr 2024 10:00:00 +0200</pubDate>"
        f"<description>Résumé {i} […]</description></item>"
        for i, p in enumerate(paths)
    )
    site.routes[path] = Route(
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Pannes'
        f"</title>{items}</channel></rss>".encode(),
        content_type="application/rss+xml",
    )


def test_faults_are_reported_and_skipped(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    site.routes["/flaky/"] = Route(site.fixture("page-marseille.html").replace(
        b"/2024/04/20/reconnaissance-faciale-marseille/", b"/flaky/"), fail_first=1)
    site.routes["/down/"] = Route(b"", fail_first=99)
    site.routes["/slow/"] = Route(site.fixture("page-vsa-jo.html"), delay=2.0)
    site.routes["/rapport.pdf"] = Route(b"%PDF-1.7 ...", content_type="application/pdf")
    big = b"<html><body><p>" + b"surveillance " * 20_000 + b"</p></body></html>"
    site.routes["/big/"] = Route(big)
    site.routes["/big-stream/"] = Route(big, length=False)
    site.routes["/vide/"] = Route(b"<html><head><title>Vide</title></head><body><nav>Menu"
                                  b"</nav><p>Rien.</p></body></html>")
    garbled = "<p>" + "La vidÃ©osurveillance Ã¿ï¿½ algorithmique. " * 10 + "</p>"
    site.routes["/mojibake/"] = Route(
        f"<html lang='fr'><head><title>Garbled</title></head><body><article>{garbled}"
        "</article></body></html>".encode())
    site.routes["/renamed/"] = Route(b"", status=301, location="/flaky/")
    site.routes["/off-site/"] = Route(b"", status=302, location="http://localhost:9/x/")
    fault_feed(site, ["/absent/", "/flaky/", "/down/", "/slow/", "/rapport.pdf", "/big/",
                      "/big-stream/", "/vide/", "https://ailleurs.example.org/article/",
                      "/mojibake/", "/renamed/", "/off-site/"])
    site.feed("/broken/feed", "broken-feed.xml")
    write_sources(settings, site, ("Cassé", "/broken/feed"), ("Pannes", "/faults/feed"),
                  ("Absent", "/no-such-feed/"), SOURCES[0])

    started = time.monotonic()
    report = run(settings)
    assert time.monotonic() - started < 10

    broken, faults, absent, lqdn = report.sources
    assert broken.feed_status == "failed" and "not a usable feed" in broken.skipped[0][1]
    assert absent.feed_status == "failed" and absent.skipped[0][1] == "feed: HTTP 404"
    assert lqdn.added == 3  # the others went on
    assert faults.added == 1 and faults.unchanged == 1  # /flaky/, then again via /renamed/
    assert site.hits["/flaky/"] == 3  # 500, then 200 on retry; then 200 after the redirect
    reasons = {url.removeprefix(site.base): why for url, why in faults.skipped}
    assert reasons["/absent/"] == "HTTP 404"
    assert reasons["/down/"] == "HTTP 500 (after 3 tries)" and site.hits["/down/"] == 3
    assert reasons["/slow/"].startswith("timed out")
    assert reasons["/rapport.pdf"] == "not an HTML page (application/pdf)"
    assert reasons["/big/"].startswith("too large (") and "> 100000" in reasons["/big/"]
    assert reasons["/big-stream/"] == "too large (more than 100000 bytes)"
    assert reasons["/vide/"].startswith("extraction failed: ")
    assert reasons["https://ailleurs.example.org/article/"].startswith("link outside")
    assert reasons["/mojibake/"] == "extraction failed: text is mis-decoded " \
        "(mixed-up character encodings)"
    assert reasons["/off-site/"] == "redirect refused: host localhost is outside the source's site"
    assert "/renamed/" not in reasons  # followed to /flaky/, same article: unchanged
    assert site.hits["/absent/"] == 1  # no retry on 4xx
    assert report.exit_code == 0

    folder = articles_dir(settings.content_dir)
    assert not [p for p in folder.iterdir() if not p.name.endswith(".md")]  # no temp files
    assert len(load_corpus(settings.content_dir).articles) == 4
    rendered = report.render()
    assert "skipped in Pannes:" in rendered and "not an HTML page" in rendered


def test_transient_failures_are_retried_next_run_permanent_ones_not(
        site: Site, settings: IndexSettings) -> None:
    site.routes["/down/"] = Route(b"", fail_first=3)  # 500 for the whole first run
    site.routes["/absent-page/"] = Route(b"", status=404)
    fault_feed(site, ["/down/", "/absent-page/"])
    write_sources(settings, site, ("Pannes", "/faults/feed"))
    first = run(settings)
    assert len(first.skipped) == 2 and first.exit_code == 1  # nothing came of it

    site.routes["/down/"] = Route(site.fixture("page-marseille.html"))
    site.hits.clear()
    second = run(settings)
    assert second.sources[0].added == 1 and site.hits["/down/"] == 1
    assert site.hits["/absent-page/"] == 0  # known 404, entry unchanged: not asked again
    assert "not retried until the entry changes" in second.skipped[0][1]
    assert second.exit_code == 0


def test_exit_code_when_nothing_could_be_fetched(site: Site, settings: IndexSettings,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    site.feed("/broken/feed", "broken-feed.xml")
    site.routes["/down/feed"] = Route(b"", fail_first=99)
    write_sources(settings, site, ("Cassé", "/broken/feed"), ("En panne", "/down/feed"))
    report = run(settings)
    assert not report.ok and report.exit_code == 1
    assert report.sources[1].skipped[0][1] == "feed: HTTP 500 (after 3 tries)"
    assert "nothing could be fetched" in report.render()


def test_main_fetch_prints_report(site: Site, settings: IndexSettings,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    site.feed("/technopolice/feed/", "rss-full.xml")
    write_sources(settings, site, SOURCES[1])
    assert main_fetch(settings, None, None) == 0  # default options: one feed request only
    out = capsys.readouterr().out
    assert "Technopolice" in out and "added" in out
    assert main_fetch(settings, "nope", None) == 2
    assert "no source named 'nope'" in capsys.readouterr().err


def test_page_cap_since_and_source_selection(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, *SOURCES)
    capped = replace(OPTIONS, max_pages=1)
    report = run(settings, source="la-quadrature-du-net", options=capped)
    assert [s.name for s in report.sources] == ["La Quadrature du Net"]
    assert report.added == 1 and site.page_hits() == 1
    assert [why for _, why in report.skipped] == [
        "page limit reached (max_pages=1); next run"] * 2

    report = run(settings, source="La Quadrature du Net", since=dt.date(2024, 1, 1))
    lqdn = report.sources[0]
    assert lqdn.added == 1 and lqdn.unchanged == 1 and lqdn.ignored == 1  # 2023 left alone
    assert "older than --since" in report.render()
    with pytest.raises(SourceError, match="no source named 'inconnue'"):
        run(settings, source="inconnue")


def test_robots_txt_is_respected(site: Site, settings: IndexSettings) -> None:
    standard_site(site)
    site.routes["/robots.txt"] = Route(b"User-agent: *\nDisallow: /2024/04/\n",
                                       content_type="text/plain")
    write_sources(settings, site, SOURCES[0])
    report = run(settings, options=replace(OPTIONS, respect_robots=True))
    assert report.sources[0].added == 2
    assert report.skipped == [(site.base + MARSEILLE, "disallowed by robots.txt")]
    assert site.hits["/robots.txt"] == 1 and site.hits[MARSEILLE] == 0


def test_existing_corpus_article_is_adopted_not_refetched(site: Site,
                                                          settings: IndexSettings) -> None:
    standard_site(site)
    write_sources(settings, site, SOURCES[0])
    run(settings)
    fetch_state_path(settings).unlink()  # as if another importer had written the files
    site.hits.clear()
    report = run(settings)
    assert report.sources[0].unchanged == 3 and site.page_hits() == 0
    forced = run(settings, options=replace(OPTIONS, force=True))
    assert forced.sources[0].unchanged == 3 and site.page_hits() == 3


def test_corrupt_state_and_lock(site: Site, settings: IndexSettings) -> None:
    site.feed("/technopolice/feed/", "rss-full.xml")
    write_sources(settings, site, SOURCES[1])
    state = fetch_state_path(settings)
    state.parent.mkdir(parents=True)
    state.write_text("{not json", encoding="utf-8")
    assert run(settings).added == 2  # a broken state file only costs a full pass
    assert FetchState.load(state).entries
    with run_lock(state), pytest.raises(FetchError, match="another fetch is running"):
        run(settings)


def test_load_sources_errors_name_the_file_and_entry(tmp_path: Path) -> None:
    real = load_sources(Path(__file__).parent.parent / "content" / "sources.toml")
    assert [(s.name, s.feed, s.lang) for s in real] == [
        ("La Quadrature du Net", "https://www.laquadrature.net/feed/", "fr"),
        ("Technopolice", "https://technopolice.fr/blog/feed/", "fr"),
    ]
    path = tmp_path / "sources.toml"
    cases = {
        '[[source]]\nname = "A"\nlang = "fr"\n': "source 'A': 'feed' is required",
        '[[source]]\nname = "A"\nfeed = "ftp://x/feed"\nlang = "fr"\n': "not an http(s) URL",
        '[[source]]\nname = "A"\nfeed = "https://x/f"\nlang = "fr"\nfoo = 1\n':
            "unknown key(s) ['foo']",
        '[[source]]\nfeed = "https://x/f"\nlang = "fr"\n': "[[source]] #1: 'name' is required",
        '[[source]]\nname = "A"\nfeed = "https://x/f"\nlang = "fr"\nbody_xpath = "//div["\n':
            "not valid XPath",
        '[[source]]\nname = "A"\nfeed = "https://x/f"\nlang = "fr"\n' * 2: "duplicate",
        "[[source]\n": "not valid TOML",
        "": "no [[source]] entries",
    }
    for text, message in cases.items():
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SourceError) as info:
            load_sources(path)
        assert str(path) in str(info.value) and message in str(info.value), text
    with pytest.raises(SourceError, match="no such file"):
        load_sources(tmp_path / "absent.toml")


def test_edited_post_with_same_pubdate_is_refetched(site: Site, settings: IndexSettings) -> None:
    """WordPress keeps pubDate on edits; a changed summary is enough to look again."""
    standard_site(site)
    write_sources(settings, site, SOURCES[0])
    run(settings)
    feed = site.routes["/lqdn/feed/"]
    feed.body = feed.body.replace("Malgré l’avis défavorable".encode(),
                                  "En dépit de l’avis défavorable".encode())
    feed.etag = '"feed-v2"'
    page = site.routes[MARSEILLE]
    page.body = page.body.replace("L’audience devrait avoir lieu à l’automne".encode(),
                                  "L’audience aura lieu le 3 octobre".encode())
    site.hits.clear()
    report = run(settings)
    assert (report.updated, report.unchanged) == (1, 2)
    assert site.hits[MARSEILLE] == 1 and site.hits[VSA] == site.hits[RURAL] == 0


def test_unexpected_error_on_one_entry_spares_the_others(
        site: Site, settings: IndexSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    import index.corpus.fetching.run

    real = index.corpus.fetching.run.save_article

    def flaky_save(content_dir: Path, article):  # type: ignore[no-untyped-def]
        if "marseille" in article.url:
            raise OSError(28, "No space left on device")
        return real(content_dir, article)

    monkeypatch.setattr(index.corpus.fetching.run, "save_article", flaky_save)
    standard_site(site)
    write_sources(settings, site, SOURCES[0])
    report = run(settings)
    assert report.added == 2
    assert report.skipped == [(site.base + MARSEILLE,
                               "unexpected error (OSError: [Errno 28] No space left on device)")]
    monkeypatch.setattr(index.corpus.fetching.run, "save_article", real)
    assert run(settings).added == 1  # not marked done: retried next run
