"""A WordPress-like site on 127.0.0.1 for the backfill tests and the archive benchmark.

200 generated posts (deterministic French prose from a small word list, wrapped in menus), a
sitemap index (a post sitemap, a nested index holding a gzipped post sitemap, a tag sitemap),
a feed paged 10 per page (``/feed/?paged=N``, 404 past the end), a robots.txt with a
``Disallow``, a post that 404s, one whose listed URL redirects to its canonical URL, and URLs
that the source's include/exclude patterns leave out. Every request is logged.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

N_POSTS = 200
PER_FEED_PAGE = 10
INCLUDE = [r"^/\d{4}/\d{2}/\d{2}/"]
EXCLUDE = [r"/revue-de-presse"]

_SUBJECTS = [
    "la mairie",
    "la préfecture",
    "le ministère de l'Intérieur",
    "la police municipale",
    "le conseil régional",
    "l'entreprise prestataire",
    "la CNIL",
    "le collectif local",
    "le tribunal administratif",
    "l'association de quartier",
    "la métropole",
    "le Sénat",
]
_VERBS = [
    "a annoncé",
    "a contesté",
    "a financé",
    "a expérimenté",
    "a suspendu",
    "a défendu",
    "a documenté",
    "a refusé",
    "a publié",
    "a critiqué",
    "a autorisé",
    "a étendu",
]
_OBJECTS = [
    "un nouveau réseau de capteurs",
    "le déploiement de lampadaires connectés",
    "une plateforme de données urbaines",
    "un marché public de vidéoprojection",
    "le fichier des cartes grises",
    "un logiciel de gestion des parkings",
    "une application de signalement citoyen",
    "la numérisation des archives municipales",
    "un portail de démarches en ligne",
    "la mutualisation des serveurs communaux",
    "un programme de sobriété énergétique",
    "l'ouverture des données de transport",
]
_TAILS = [
    "après plusieurs mois de débats",
    "sans consultation préalable des habitants",
    "malgré l'avis défavorable des élus d'opposition",
    "dans le cadre du budget annuel",
    "selon un document obtenu par les journalistes",
    "lors de la dernière séance du conseil",
    "au grand dam des syndicats",
    "pour une durée de trois ans",
    "avec l'appui de l'État",
    "sous réserve d'une évaluation indépendante",
]
_TOWNS = [
    "Rennes",
    "Lille",
    "Grenoble",
    "Bordeaux",
    "Dijon",
    "Angers",
    "Brest",
    "Tours",
    "Limoges",
    "Amiens",
    "Metz",
    "Poitiers",
    "Pau",
    "Caen",
    "Nancy",
    "Orléans",
]


@dataclass
class Post:
    n: int
    date: dt.date
    slug: str
    title: str
    paragraphs: list[str]
    lastmod: dt.datetime

    @property
    def published(self) -> dt.datetime:
        """When the post went out (its feed's pubDate); ``lastmod`` moves when it is edited."""
        return dt.datetime.combine(self.date, dt.time(9, 30), dt.UTC)

    @property
    def path(self) -> str:
        return f"/{self.date:%Y/%m/%d}/{self.slug}/"


def _sentence(rng: random.Random) -> str:
    s = f"À {rng.choice(_TOWNS)}, {rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} "
    return s + f"{rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."


def generate_posts(n: int = N_POSTS, seed: int = 17) -> list[Post]:
    """``n`` posts, oldest first, one every ~11 days from 2019; same output for the same seed."""
    rng = random.Random(seed)
    start = dt.date(2019, 1, 7)
    posts = []
    for i in range(n):
        date = start + dt.timedelta(days=11 * i + rng.randrange(5))
        town = rng.choice(_TOWNS)
        ascii_town = unicodedata.normalize("NFKD", town).encode("ascii", "ignore").decode().lower()
        kind = "revue-de-presse" if i % 50 == 25 else f"{ascii_town}-{rng.choice(_OBJ_SLUGS)}"
        slug = f"{kind}-{i + 1}"
        title = (
            f"Revue de presse n°{i + 1}"
            if kind == "revue-de-presse"
            else f"{town} : {rng.choice(_OBJECTS)} ({i + 1})"
        )
        paragraphs = [" ".join(_sentence(rng) for _ in range(3)) for _ in range(3)]
        stamp = dt.datetime.combine(date, dt.time(9, 30), dt.UTC)
        posts.append(Post(i + 1, date, slug, title, paragraphs, stamp))
    return posts


_OBJ_SLUGS = ["capteurs", "lampadaires", "donnees", "marche", "logiciel", "portail", "budget"]


def page_html(post: Post, base: str) -> str:
    """The post inside a theme: header menu, sidebar, footer (boilerplate extraction drops)."""
    menu = "".join(
        f'<li><a href="{base}/category/{c}/">{c.title()}</a></li>'
        for c in ("actualites", "dossiers", "agenda", "contact")
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in post.paragraphs)
    published = f"{post.date.isoformat()}T09:30:00+00:00"
    return f"""<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{escape(post.title)} – Site test</title>
<link rel="canonical" href="{base}{post.path}">
<meta property="og:title" content="{escape(post.title)}">
<meta property="og:site_name" content="Site test">
<meta property="article:published_time" content="{published}">
</head><body>
<header><nav><ul>{menu}</ul></nav><form role="search"><input name="s"></form></header>
<main><article><h1>{escape(post.title)}</h1>
<time datetime="{published}">{post.date:%d/%m/%Y}</time>
<div class="entry-content">{body}</div></article></main>
<aside><h2>Étiquettes</h2><ul><li><a href="{base}/tag/videosurveillance/">VSA</a></li>
<li><a href="{base}/tag/reconnaissance-faciale/">RF</a></li></ul></aside>
<footer><p>Site test – mentions légales – nous soutenir</p></footer>
</body></html>"""


@dataclass
class WPSite:
    """The site's content and behaviour; the server reads it live, so tests may change it."""

    posts: list[Post] = field(default_factory=generate_posts)
    base: str = ""
    log: list[str] = field(default_factory=list)  # every requested path (with query)
    hits: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    no_lastmod: set[int] = field(default_factory=set)  # posts the sitemap lists without lastmod

    def __post_init__(self) -> None:
        by_n = {p.n: p for p in self.posts}
        self.missing = by_n[60]  # listed, but the server answers 404
        self.disallowed = by_n[120]  # robots.txt Disallow
        self.moved = by_n[150]  # listed under an old URL that redirects to its canonical one
        self.old_path = f"/{self.moved.date:%Y/%m/%d}/ancien-lien-{self.moved.n}/"

    # --- what the sitemap and feed list, and what a backfill should end with
    def listed_path(self, post: Post) -> str:
        return self.old_path if post is self.moved else post.path

    def excluded(self, post: Post) -> bool:
        return "revue-de-presse" in post.slug

    def expected_paths(self, since: dt.date | None = None) -> set[str]:
        """Canonical paths of the posts a backfill with the standard filters must import."""
        return {
            p.path
            for p in self.posts
            if p not in (self.missing, self.disallowed)
            and not self.excluded(p)
            and (since is None or p.lastmod.date() >= since)
        }

    def never_requested(self) -> set[str]:
        return (
            {self.disallowed.path}
            | {p.path for p in self.posts if self.excluded(p)}
            | {
                "/tag/videosurveillance/",
                "/tag/reconnaissance-faciale/",
            }
        )

    def post_hits(self) -> int:
        """Article page requests (sitemaps, feed pages and robots.txt excluded)."""
        paths = {p.path for p in self.posts} | {self.old_path}
        with self.lock:
            return sum(n for path, n in self.hits.items() if path in paths)

    # --- responses
    def sitemap_posts(self, posts: list[Post]) -> bytes:
        urls = "".join(
            f"<url><loc>{self.base}{self.listed_path(p)}</loc>"
            + ("" if p.n in self.no_lastmod else f"<lastmod>{p.lastmod.isoformat()}</lastmod>")
            + "</url>"
            for p in posts
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
        ).encode()

    def sitemap_index(self, locs: list[str]) -> bytes:
        items = "".join(f"<sitemap><loc>{self.base}{loc}</loc></sitemap>" for loc in locs)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}'
            "</sitemapindex>"
        ).encode()

    def feed_page(self, page: int) -> bytes | None:
        newest = sorted(self.posts, key=lambda p: p.date, reverse=True)
        chunk = newest[(page - 1) * PER_FEED_PAGE : page * PER_FEED_PAGE]
        if not chunk:
            return None
        items = "".join(
            f"<item><title>{escape(p.title)}</title><link>{self.base}{self.listed_path(p)}</link>"
            f"<pubDate>{format_datetime(p.published)}</pubDate>"
            f"<description>{escape(p.paragraphs[0][:120])}</description></item>"
            for p in chunk
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>Site test</title><link>{self.base}/</link>{items}</channel></rss>"
        ).encode()

    def respond(self, target: str) -> tuple[int, bytes, str, dict[str, str]]:
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        xml = "application/xml; charset=UTF-8"
        half = len(self.posts) // 2
        oldest = sorted(self.posts, key=lambda p: p.n)  # as WordPress lists them: by post id
        if path == "/robots.txt":
            text = f"User-agent: *\nDisallow: {self.disallowed.path}\nDisallow: /wp-admin/\n"
            return 200, text.encode(), "text/plain", {}
        if path == "/wp-sitemap.xml":
            locs = [
                "/wp-sitemap-posts-post-1.xml",
                "/wp-sitemap-posts-index.xml",
                "/wp-sitemap-taxonomies-post_tag-1.xml",
            ]
            return 200, self.sitemap_index(locs), xml, {}
        if path == "/wp-sitemap-posts-post-1.xml":
            return 200, self.sitemap_posts(oldest[:half]), xml, {}
        if path == "/wp-sitemap-posts-index.xml":  # a nested index
            return 200, self.sitemap_index(["/wp-sitemap-posts-post-2.xml.gz"]), xml, {}
        if path == "/wp-sitemap-posts-post-2.xml.gz":
            body = gzip.compress(self.sitemap_posts(oldest[half:]), mtime=0)
            return 200, body, "application/x-gzip", {}
        if path == "/wp-sitemap-taxonomies-post_tag-1.xml":
            urls = "".join(
                f"<url><loc>{self.base}/tag/{t}/</loc></url>"
                for t in ("videosurveillance", "reconnaissance-faciale")
            )
            body = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
            return 200, body.encode(), xml, {}
        if path == "/feed/":
            got = self.feed_page(int(query.get("paged", ["1"])[0]))
            if got is None:
                return 404, b"not found", "text/html", {}
            return 200, got, "application/rss+xml; charset=UTF-8", {}
        if path == self.old_path:
            return 301, b"", "text/html", {"Location": f"{self.base}{self.moved.path}"}
        for post in self.posts:
            if post.path == path and post is not self.missing:
                return 200, page_html(post, self.base).encode(), "text/html; charset=utf-8", {}
        return 404, b"<html><body>Introuvable</body></html>", "text/html", {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (a killed backfill) is not a test failure


def _handler(site: WPSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            with site.lock:
                site.log.append(self.path)
                site.hits[urlsplit(self.path).path] += 1
            status, body, ctype, extra = site.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(site: WPSite | None = None) -> Iterator[WPSite]:
    """Serve ``site`` (a fresh one by default) on a free 127.0.0.1 port until the block ends."""
    site = site or WPSite()
    server = _Server(("127.0.0.1", 0), _handler(site))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def _toml_literals(patterns: list[str]) -> str:
    """TOML literal strings: regular expressions need no escaping there."""
    return "[" + ", ".join(f"'{p}'" for p in patterns) + "]"


def sources_toml(site: WPSite, *, sitemap: bool = True, paged_feed: bool = False) -> str:
    """A sources.toml with one source for the site and the standard filters."""
    lines = [
        "[[source]]",
        'name = "Site test"',
        f'feed = "{site.base}/feed/"',
        'lang = "fr"',
        f"paged_feed = {'true' if paged_feed else 'false'}",
        f"include = {_toml_literals(INCLUDE)}",
        f"exclude = {_toml_literals(EXCLUDE)}",
    ]
    if sitemap:
        lines.insert(4, f'sitemap = "{site.base}/wp-sitemap.xml"')
    return "\n".join(lines) + "\n"
