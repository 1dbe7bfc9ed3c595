"""Shared fixtures: one embedding model and one real index per test session.

Tests run the packaged MiniLM (fast to load, small) over a copy of the repository's
``content/``; the multilingual model is exercised by its own conversion tests.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (fakebotapi, ...)

try:  # property-based tests: bounded, so that `make test` stays within minutes
    from hypothesis import HealthCheck
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile(
        "default",
        max_examples=60,
        deadline=2000,  # ms per example: a search embeds its query
        suppress_health_check=[HealthCheck.too_slow],
    )
    hypothesis_settings.load_profile("default")
except ImportError:  # without the dev extra: the property tests skip themselves
    pass


@pytest.fixture(scope="session")
def index_settings(tmp_path_factory: pytest.TempPathFactory):
    from index.config import IndexSettings

    tmp = tmp_path_factory.mktemp("engine")
    content = tmp / "content"
    shutil.copytree(REPO / "content", content)
    return IndexSettings(
        content_dir=content,
        index_dir=tmp / "index",
        cache_dir=tmp / "cache",
        embedding_model="minilm",
        embedding_backend="torch",
    )


@pytest.fixture(scope="session")
def embedder(index_settings):
    from index.models.embed import Embedder

    return Embedder(index_settings)


@pytest.fixture(scope="session")
def engine(index_settings, embedder):
    """A real engine over the seed corpus: model loaded once, index built once."""
    from index import open_engine

    return open_engine(index_settings, embedder)


@pytest.fixture(scope="session")
def e5_deployment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkout-like folder holding the default model as ``make run`` prepares it: the
    packaged multilingual-e5-small converted, exported to ONNX int8 with its French + English
    vocabulary (~45 s, once a session). Tests of the default serving path use it, so none of
    them skips on a fresh machine."""
    from index.config import IndexSettings
    from index.models.e5convert import convert_e5
    from index.models.onnx_export import export_onnx
    from index.models.resolve import E5_DIR

    root = tmp_path_factory.mktemp("deployment")
    model = convert_e5(root / E5_DIR)
    settings = IndexSettings(
        content_dir=root / "content", index_dir=root / "index", cache_dir=root / "cache",
        embedding_model=str(model), embedding_backend="onnx",
    )  # fmt: skip
    export_onnx(settings, str(model))
    return root


ARCHIVE_POSTS = 80  # enough to narrow the spread as the 200-post archive does (e5: ~40 s)


def write_posts(articles: Path, n: int) -> None:
    """The fixture site's first ``n`` generated posts, as corpus articles."""
    from wpsite import generate_posts

    for post in generate_posts(n):
        title = "'" + post.title.replace("'", "''") + "'"
        body = "\n\n".join(post.paragraphs)
        (articles / f"fixture-{post.n:03d}.md").write_text(
            f"---\ntitle: {title}\ndate: '{post.date}'\nurl: https://example.org{post.path}\n"
            f"source: Fixture\nlang: fr\n---\n\n{body}\n",
            encoding="utf-8",
        )


@pytest.fixture(scope="session")
def e5_engines(tmp_path_factory: pytest.TempPathFactory, e5_deployment: Path):
    """The default model (e5, ONNX int8) over the seed corpus, and over it plus
    ``ARCHIVE_POSTS`` look-alike posts of the fixture site (the archive's distractors)."""
    from index.build.pipeline import build_index
    from index.config import IndexSettings
    from index.models.embed import Embedder
    from index.models.resolve import E5_DIR
    from index.retrieval.engine import Engine

    root = tmp_path_factory.mktemp("archive")
    built = []
    for name, posts in (("seed", 0), ("archive", ARCHIVE_POSTS)):
        content = root / name / "content"
        shutil.copytree(REPO / "content", content)
        write_posts(content / "articles", posts)
        settings = IndexSettings(
            content_dir=content,
            index_dir=root / name / "index",
            cache_dir=root / "cache",  # shared: the seed's passages are embedded once
            embedding_model=str(e5_deployment / E5_DIR),
            embedding_backend="onnx",
        )
        embedder = built[0].embedder if built else Embedder(settings)
        assert build_index(settings, embedder, progress=False).articles == 6 + posts
        built.append(Engine.open(settings, embedder))
    return built[0], built[1]
