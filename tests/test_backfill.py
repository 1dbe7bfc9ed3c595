"""The archive backfill against a WordPress-like site on 127.0.0.1 (tests/wpsite.py)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import wpsite

from index.config import IndexSettings
from index.corpus.article import read_article
from index.corpus.backfill import backfill, backfill_state_path, path_filter
from index.corpus.fetching.options import FetchOptions
from index.corpus.fetching.sources import SourceError, load_sources
from index.corpus.folder import articles_dir
from index.corpus.sitemap import SitemapError, parse_sitemap

ROOT = Path(__file__).resolve().parents[1]
OPTIONS = FetchOptions(
    timeout=2.0,
    max_retries=1,
    backoff_base=0.01,
    backoff_max=0.05,
    min_delay=0.0,
    max_pages=10_000,
)


@pytest.fixture
def site() -> Iterator[wpsite.WPSite]:
    with wpsite.serve() as served:
        yield served


def make_settings(root: Path, site: wpsite.WPSite, **toml: bool) -> IndexSettings:
    content = root / "content"
    articles_dir(content).mkdir(parents=True)
    (content / "sources.toml").write_text(wpsite.sources_toml(site, **toml), encoding="utf-8")
    return IndexSettings(
        content_dir=content,
        index_dir=root / "data" / "index",
        cache_dir=root / "data" / "cache",
        fetch_allow_private_addresses=True,
    )


def corpus(settings: IndexSettings, base: str) -> dict[str, str]:
    """URL path -> file text, the server's address left out (each test has its own port)."""
    return {
        urlsplit(read_article(p).url).path: p.read_text(encoding="utf-8").replace(base, "BASE")
        for p in sorted(articles_dir(settings.content_dir).glob("*.md"))
    }


def imported_paths(settings: IndexSettings) -> list[str]:
    folder = articles_dir(settings.content_dir)
    return [urlsplit(read_article(p).url).path for p in sorted(folder.glob("*.md"))]


def assert_never_requested(site: wpsite.WPSite) -> None:
    requested = {urlsplit(target).path for target in site.log}
    assert not requested & site.never_requested()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The corpus a complete, uninterrupted backfill of a fresh site produces."""
    with wpsite.serve() as fresh:
        settings = make_settings(tmp_path_factory.mktemp("reference"), fresh)
        report = backfill(settings, options=OPTIONS)
        assert report.added == len(fresh.expected_paths())
        return corpus(settings, fresh.base)


def test_backfill_imports_the_archive_then_downloads_nothing(
    site: wpsite.WPSite, tmp_path: Path, reference: dict[str, str]
) -> None:
    settings = make_settings(tmp_path, site)
    report = backfill(settings, options=OPTIONS)

    paths = imported_paths(settings)
    assert sorted(paths) == sorted(site.expected_paths())  # each once, canonical URLs
    assert site.moved.path in paths and site.old_path not in paths  # the redirect followed
    assert corpus(settings, site.base) == reference
    reasons = dict(report.skipped)
    assert reasons[f"{site.base}{site.missing.path}"] == "HTTP 404"
    assert reasons[f"{site.base}{site.disallowed.path}"] == "disallowed by robots.txt"
    assert "6 URLs left out by include/exclude" in reasons[f"{site.base}/wp-sitemap.xml"]
    assert_never_requested(site)
    assert site.hits["/wp-sitemap-posts-post-2.xml.gz"] == 1  # nested index, gzipped sitemap
    # Newest first: the first article page requested is the newest post.
    first_post = next(t for t in site.log if t.startswith("/20"))
    assert first_post == max(site.posts, key=lambda p: p.lastmod).path

    pages = site.post_hits()
    again = backfill(settings, options=OPTIONS)
    assert site.post_hits() == pages  # not one article page downloaded again
    assert (again.added, again.updated, again.unchanged) == (0, 0, len(site.expected_paths()))

    # A post edited on the site (newer lastmod) is the only page downloaded next time.
    edited = site.posts[10]
    edited.paragraphs[0] = "À Rennes, le conseil municipal a retiré la délibération contestée."
    edited.lastmod += dt.timedelta(days=400)
    third = backfill(settings, options=OPTIONS)
    assert (third.added, third.updated) == (0, 1)
    assert site.post_hits() == pages + 1
    assert_never_requested(site)


def test_since_limits_the_backfill(site: wpsite.WPSite, tmp_path: Path) -> None:
    since = dt.date(2024, 1, 1)
    settings = make_settings(tmp_path, site)
    report = backfill(settings, since=since, options=OPTIONS)
    expected = site.expected_paths(since)
    assert 0 < len(expected) < len(site.expected_paths())
    assert sorted(imported_paths(settings)) == sorted(expected)
    assert report.sources[0].ignored > 100
    old = {p.path for p in site.posts if p.lastmod.date() < since}
    assert not {urlsplit(t).path for t in site.log} & old  # older posts never requested



def undated_in_sitemap(site: wpsite.WPSite, since: dt.date) -> tuple[list, list]:
    """Three importable posts older than ``since`` and two newer ones, listed without lastmod."""
    ok = [p for p in site.posts if p.path in site.expected_paths() and p is not site.moved]
    old = [p for p in ok if p.date < since][-3:]
    new = [p for p in ok if p.date >= since][:2]
    site.no_lastmod = {p.n for p in [*old, *new]}
    return old, new


def test_since_without_lastmod_decides_by_the_page_date_once(
    site: wpsite.WPSite, tmp_path: Path
) -> None:
    since = dt.date(2024, 1, 1)
    old, new = undated_in_sitemap(site, since)
    settings = make_settings(tmp_path, site)
    first = backfill(settings, since=since, options=OPTIONS)
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths(since))
    assert all(site.hits[p.path] == 1 for p in [*old, *new])  # downloaded to learn their date
    listed_old = {site.listed_path(p) for p in site.posts if p.date < since}
    listed_old -= {p.path for p in site.posts if site.excluded(p)}
    assert first.sources[0].ignored == len(listed_old)  # the undated old ones counted too
    assert not {urlsplit(t).path for t in site.log} & (listed_old - {p.path for p in old})

    pages = site.post_hits()
    again = backfill(settings, since=since, options=OPTIONS)
    assert site.post_hits() == pages  # the page's date is remembered: no download again
    assert again.sources[0].ignored == first.sources[0].ignored
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths(since))

    backfill(settings, options=OPTIONS)  # an earlier --since (here none) still gets them
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths())


def test_feed_dates_decide_without_a_download(site: wpsite.WPSite, tmp_path: Path) -> None:
    since = dt.date(2024, 1, 1)
    old, _ = undated_in_sitemap(site, since)
    settings = make_settings(tmp_path, site, paged_feed=True)
    backfill(settings, since=since, options=OPTIONS)
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths(since))
    assert not any(site.hits[p.path] for p in old)  # the paged feed dated them
    assert_never_requested(site)

def test_since_keeps_a_post_modified_since(site: wpsite.WPSite, tmp_path: Path) -> None:
    """Published before --since, edited after (the sitemap's lastmod; the feed keeps its
    pubDate): "dated (or modified) since" imports it."""
    since = dt.date(2024, 1, 1)
    kept = site.expected_paths()
    post = next(p for p in reversed(site.posts) if p.date < since and p.path in kept)
    post.lastmod = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)
    settings = make_settings(tmp_path, site, paged_feed=True)
    backfill(settings, since=since, options=OPTIONS)
    assert post.path in imported_paths(settings)
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths(since))


def test_paged_feed_discovery(site: wpsite.WPSite, tmp_path: Path) -> None:
    since = dt.date(2024, 6, 1)
    settings = make_settings(tmp_path, site, sitemap=False, paged_feed=True)
    backfill(settings, since=since, options=OPTIONS)
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths(since))
    pages = [t for t in site.log if t.startswith("/feed/")]
    last = len(site.posts) // wpsite.PER_FEED_PAGE
    assert pages[0] == "/feed/" and pages[-1] == f"/feed/?paged={last + 1}"  # the 404 ends it
    assert not [t for t in site.log if "sitemap" in t]
    assert_never_requested(site)


def test_max_pages_leaves_the_rest_for_the_next_run(site: wpsite.WPSite, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, site)
    first = backfill(settings, options=replace(OPTIONS, max_pages=20))
    assert site.post_hits() == 20
    assert any("left for the next run" in reason for _, reason in first.skipped)
    backfill(settings, options=OPTIONS)
    assert sorted(imported_paths(settings)) == sorted(site.expected_paths())


def test_killed_backfill_resumes_without_duplicates(
    site: wpsite.WPSite, tmp_path: Path, reference: dict[str, str]
) -> None:
    settings = make_settings(tmp_path, site)
    folder = articles_dir(settings.content_dir)
    env = {**os.environ, "FETCH_ALLOW_PRIVATE_ADDRESSES": "true", "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "index",
        "--content-dir",
        str(settings.content_dir),
        "--index-dir",
        str(settings.index_dir),
        "fetch",
        "--backfill",
        "--quiet",
        "--delay",
        "0.01",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while len(list(folder.glob("*.md"))) < 40:
            assert proc.poll() is None, "the backfill ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    done = len(list(folder.glob("*.md")))
    assert 40 <= done < len(site.expected_paths())  # killed midway
    json.loads(backfill_state_path(settings).read_text(encoding="utf-8"))  # never torn
    assert not list(folder.glob(".*")) and not list(folder.glob("*.tmp*"))  # no half-written

    before = Counter(site.hits)
    backfill(settings, options=OPTIONS)
    assert corpus(settings, site.base) == reference
    paths = imported_paths(settings)
    assert len(paths) == len(set(paths))
    # The resumed run downloads only what was left (at most the article in flight twice).
    redone = [
        p for p in site.hits if p.startswith("/20") and before[p] and site.hits[p] > before[p]
    ]
    assert len(redone) <= 1
    assert_never_requested(site)


def test_sources_toml_archive_keys_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    head = '[[source]]\nname = "X"\nfeed = "https://example.org/feed/"\nlang = "fr"\n'
    for extra, message in (
        ("include = ['([']\n", "include pattern '(['"),
        ('sitemap = "ftp://example.org/s.xml"\n', "is not an http(s) URL"),
        ('paged_feed = "yes"\n', "'paged_feed' must be true or false"),
        ('exclude = "tag"\n', "'exclude' must be a list"),
    ):
        path.write_text(head + extra, encoding="utf-8")
        with pytest.raises(SourceError, match=re.escape(message)):
            load_sources(path)
    path.write_text(head + "include = ['^/\\d{4}/']\nsitemap = 'https://example.org/s.xml'\n")
    (source,) = load_sources(path)
    assert source.include == (r"^/\d{4}/",) and source.sitemap == "https://example.org/s.xml"



def test_real_sources_keep_posts_and_leave_out_listings() -> None:
    """content/sources.toml on the URL shapes a WordPress sitemap lists besides posts."""
    sources = {s.name: s for s in load_sources(ROOT / "content" / "sources.toml")}
    lqdn = "https://www.laquadrature.net"
    posts = [read_article(p).url for p in articles_dir(ROOT / "content").glob("*.md")]
    cases = {
        "La Quadrature du Net": (
            [u for u in posts if u.startswith(f"{lqdn}/20")],
            ["/tag/vsa/", "/category/actualites/", "/author/bastien/", "/page/2/", "/soutenir/",
             "/2024/05/02/revue-de-presse-du-2-mai-2024/", "/2023/06/01/newsletter-juin/"],
        ),
        "Technopolice": (
            ["https://technopolice.fr/blog/la-vsa-aux-jeux-olympiques-et-apres/"],
            ["/blog/tag/vsa/", "/blog/category/actualites/", "/blog/author/x/", "/blog/page/2/",
             "/blog/feed/", "/blog/wp-json/wp/v2/posts", "/", "/marseille/"],
        ),
    }
    for name, (kept, dropped) in cases.items():
        src = sources[name]
        assert src.sitemap and src.allows(src.sitemap) and src.paged_feed
        keep = path_filter(src)
        assert kept and all(keep(url) for url in kept), name
        site = f"{urlsplit(src.feed).scheme}://{urlsplit(src.feed).netloc}"
        assert not [path for path in dropped if keep(site + path)], name

def test_sitemap_parser_refuses_entities_bombs_and_other_xml() -> None:
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://example.org/&x;</loc></url></urlset>"
    )
    assert all("root" not in u.url for u in parse_sitemap(xxe).urls)
    bomb = gzip.compress(b"<urlset>" + b" " * 60_000_000 + b"</urlset>")
    with pytest.raises(SitemapError, match="inflated"):
        parse_sitemap(bomb)
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(b"<rss><channel/></rss>")
    plain = parse_sitemap(
        b"<urlset><url><loc>https://e.org/a/</loc><lastmod>2024-05-02</lastmod></url>"
        b"<url><loc>javascript:alert(1)</loc></url></urlset>"
    )
    assert [(u.url, u.lastmod.date()) for u in plain.urls if u.lastmod] == [
        ("https://e.org/a/", dt.date(2024, 5, 2))
    ]


def test_cli_refuses_a_bad_date_and_an_unknown_source(
    site: wpsite.WPSite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from index.cli import main

    settings = make_settings(tmp_path, site)
    base = ["--content-dir", str(settings.content_dir), "--index-dir", str(settings.index_dir)]
    for command in ("fetch", "update"):
        with pytest.raises(SystemExit) as exited:
            main([*base, command, "--backfill", "--since", "2024-13-01"])
        assert exited.value.code == 2
        assert "'2024-13-01' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    assert main([*base, "fetch", "--backfill", "--source", "nope"]) == 2
    assert "no source named 'nope'" in capsys.readouterr().err
    assert not site.log  # nothing requested
