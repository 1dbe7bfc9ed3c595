"""`python -m index …`: a thin command line over the library."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from index.config import IndexSettings

if TYPE_CHECKING:
    from index.corpus.fetching.report import FetchReport


def _settings(args: argparse.Namespace) -> IndexSettings:
    overrides = {}
    for name in ("content_dir", "index_dir", "embedding_model"):
        value = getattr(args, name, None)
        if value:
            overrides[name] = value
    return IndexSettings(**overrides)


def cmd_import_seeds(args: argparse.Namespace) -> int:
    from index.corpus.folder import save_article
    from index.corpus.importers.seeds import import_seed_file

    settings = _settings(args)
    folder = Path(args.dir)
    files = sorted(folder.glob("*.txt"))
    if not files:
        print(f"no seed pages (*.txt) in {folder}", file=sys.stderr)
        return 1
    counts: dict[str, int] = {}
    failed = 0
    for path in files:
        try:
            result = import_seed_file(path)
        except (ValueError, OSError) as exc:
            print(f"{path.name}: skipped: {exc}", file=sys.stderr)
            failed += 1
            continue
        for warning in result.warnings:
            print(f"{path.name}: {warning}")
        for article in result.articles:
            status = save_article(settings.content_dir, article)
            counts[status] = counts.get(status, 0) + 1
            print(f"{status:9} {article.date} {article.title}")
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing imported")
    return 1 if failed == len(files) else 0


def cmd_import(args: argparse.Namespace) -> int:
    """Import hand-written Markdown files or saved HTML pages into content/."""
    from index.corpus.article import ArticleError, read_article
    from index.corpus.folder import save_article

    settings = _settings(args)
    failed = 0
    for name in args.files:
        path = Path(name)
        try:
            if path.suffix.lower() in (".html", ".htm"):
                from index.corpus.importers.html.page import article_from_html

                if not args.url:
                    raise ArticleError(f"{path}: --url is needed for an HTML page")
                article = article_from_html(
                    path.read_bytes(), args.url, source=args.source, lang=args.lang
                )
            else:
                article = read_article(path)
            status = save_article(settings.content_dir, article)
            print(f"{status:9} {article.date} {article.title}")
        except (ArticleError, ValueError, OSError) as exc:
            print(f"skipped: {exc}", file=sys.stderr)
            failed += 1
    return 1 if failed and failed == len(args.files) else 0


def cmd_build(args: argparse.Namespace) -> int:
    from index.build.pipeline import build_index

    report = build_index(_settings(args), force=args.force, progress=not args.quiet)
    print(report.summary())
    return 0


def _render_answer(answer) -> str:
    from index.messages import NOTHING_FOUND

    if not answer.answered:
        return NOTHING_FOUND
    blocks = []
    for i, r in enumerate(answer.results, 1):
        blocks.append(f"{i}. « {r.quote} »\n   — {r.title} ({r.date.isoformat()})\n   {r.url}")
    return "\n\n".join(blocks)


def _answer_line(engine, question: str, args: argparse.Namespace) -> str:
    """One question's output; with --json, a question that fails gets an error object."""
    try:
        answer = engine.search(question, k=args.k)
    except Exception as exc:  # one bad line never ends a batch
        logging.getLogger(__name__).exception("question failed")
        if not args.json:
            return f"erreur : {type(exc).__name__}"
        return json.dumps({"query": question, "error": type(exc).__name__}, ensure_ascii=False)
    if args.json:
        return json.dumps(answer.to_json(), ensure_ascii=False)
    return _render_answer(answer)


def cmd_ask(args: argparse.Namespace) -> int:
    from index.clean import clean_text
    from index.lifecycle import open_engine

    engine = open_engine(_settings(args))
    if args.question == "-":
        # Bytes that are not UTF-8 reach clean_text instead of ending the loop.
        sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        for line in sys.stdin:
            print(_answer_line(engine, clean_text(line.rstrip("\n")), args), flush=True)
        return 0
    print(_answer_line(engine, clean_text(args.question), args))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from index.lifecycle import open_engine
    from index.quality.evaluate import TABLE_HEAD, EvalReport, ablation, evaluate, load_jsonl

    engine = open_engine(_settings(args))
    sets = [(Path(f).name, load_jsonl(Path(f)), []) for f in args.files]
    sets += [(Path(f).name, [], load_jsonl(Path(f))) for f in args.ood or []]
    questions = [q for _, qs, _ in sets for q in qs]
    ood = [q for _, _, os_ in sets for q in os_]
    relevance = engine.relevance.trained_on if engine.relevance else "none (hand rules)"
    print(f"model          {engine.embedder.model_id} ({engine.embedder.backend})")
    print(f"relevance      {relevance}")
    if args.ablation:
        print(TABLE_HEAD.replace("| set |", "| step |"))
        for name, rep in ablation(engine, questions, ood):
            print(rep.row(name))
        return 0
    reports = [(name, evaluate(engine, qs, os_)) for name, qs, os_ in sets]
    overall = EvalReport.combine([r for _, r in reports])
    if len(reports) == 1:
        print(overall.render())
    else:
        print(TABLE_HEAD)
        for name, rep in reports:
            print(rep.row(name))
        print(overall.row("**all**"))
    kinds = overall.by_kind()
    if len(kinds) > 1 or "" not in kinds:
        print("\nby kind\n" + TABLE_HEAD.replace("| set |", "| kind |"))
        for kind, rep in sorted(kinds.items()):
            print(rep.row(kind or "(none)"))
    if args.verbose:
        print("missed:", " ".join(overall.misses) or "-")
        print(
            "refused:",
            " ".join(o.id for o in overall.outcomes if o.answerable and not o.answered) or "-",
        )
        print("answered unanswerable:", " ".join(overall.bluffs) or "-")
    if args.json:
        print(json.dumps({n: r.to_json() for n, r in [*reports, ("all", overall)]}))
    return 0


DEFAULT_EVAL = Path("../shared/eval")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from index.lifecycle import open_engine
    from index.quality.calibrate import DEFAULT_RECIPE, RECIPES, calibrate, summary
    from index.retrieval.relevance import model_path

    files = [Path(f) for f in args.files] or [
        DEFAULT_EVAL / "dev.jsonl",
        DEFAULT_EVAL / "dev_more.jsonl",
    ]
    ood = [Path(f) for f in args.ood or []] or [
        DEFAULT_EVAL / "dev_ood.jsonl",
        DEFAULT_EVAL / "dev_more_ood.jsonl",
    ]
    recipe = args.recipe or DEFAULT_RECIPE
    if recipe not in RECIPES:
        print(f"unknown recipe {recipe!r}: one of {', '.join(RECIPES)}", file=sys.stderr)
        return 2
    engine = open_engine(_settings(args))
    cal = calibrate(engine, files, ood, folds=args.folds, seed=args.seed, recipe=RECIPES[recipe])
    print(summary(cal))
    out = Path(args.out) if args.out else model_path(engine.family)
    if args.dry_run:
        return 0
    if not cal.generalises and not args.force:
        print(
            "not written: on held-out folds the model does worse than the hand rules "
            "(--force writes it anyway)"
        )
        return 0
    cal.model.save(out)
    print(f"written: {out}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    if args.action == "import-e5":
        from index.models.e5convert import DEFAULT_E5_DIR, convert_e5

        started = dt.datetime.now()
        out = convert_e5(Path(args.out) if args.out else DEFAULT_E5_DIR, force=args.force)
        print(
            f"multilingual-e5-small ready in {out} "
            f"({(dt.datetime.now() - started).total_seconds():.1f} s)"
        )
        return 0
    if args.action == "export-onnx":
        from index.models.onnx_export import export_onnx

        out = export_onnx(_settings(args), force=args.force)
        print(f"ONNX int8 model written: {out}")
        return 0
    return 2


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def cmd_fetch(args: argparse.Namespace) -> int:
    from index.corpus.fetch import main_fetch

    limits = {"delay": args.delay, "max_pages": args.max_pages}
    if args.backfill:
        from index.corpus.backfill import main_backfill

        settings = _settings(args)
        return main_backfill(settings, args.source, args.since, progress=not args.quiet, **limits)
    return main_fetch(_settings(args), args.source, args.since, **limits)


def _fetcher(args: argparse.Namespace) -> Callable[[IndexSettings], FetchReport]:
    """What ``update`` fetches with: the feeds, or with ``--backfill`` the whole archive."""
    from index.corpus.fetch import fetch_all
    from index.corpus.fetching.options import fetch_options

    if not args.backfill:
        return lambda s: fetch_all(
            s,
            source=args.source,
            since=args.since,
            options=fetch_options(s, delay=args.delay, max_pages=args.max_pages),
        )
    from index.corpus.backfill import DEFAULT_MAX_PAGES, backfill

    return lambda s: backfill(
        s,
        source=args.source,
        since=args.since,
        options=fetch_options(
            s, delay=args.delay, max_pages=args.max_pages, default_pages=DEFAULT_MAX_PAGES
        ),
        progress=not args.quiet,
    )


def cmd_update(args: argparse.Namespace) -> int:
    """The same update as the bot's /update: fetch, then build (no engine to switch here)."""
    from index.corpus.fetching.sources import SourceError
    from index.corpus.fetching.state import FetchError
    from index.lifecycle import update

    settings = _settings(args)
    report = update(settings, fetcher=_fetcher(args), progress=not args.quiet)
    print(report.fetch.render() if report.fetch else report.fetch_summary())
    print(report.build.summary())
    if report.fetch is None:
        return 2 if report.fetch_error in (SourceError.__name__, FetchError.__name__) else 1
    return report.fetch.exit_code


def _corpus_commands(sub: argparse._SubParsersAction) -> None:
    """Commands that fill content/ and build the index from it."""
    p = sub.add_parser("import-seeds", help="import the raw seed pages into content/")
    p.add_argument("dir", nargs="?", default="../shared/seeds")
    p.set_defaults(func=cmd_import_seeds)

    p = sub.add_parser("import", help="import Markdown articles or saved HTML pages")
    p.add_argument("files", nargs="+")
    p.add_argument("--url", help="canonical URL (HTML pages)")
    p.add_argument("--source", default="La Quadrature du Net")
    p.add_argument("--lang", default=None)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("build", help="build the index from content/ (incremental)")
    p.add_argument("--force", action="store_true", help="publish a new version even if unchanged")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_build)


def _engine_commands(sub: argparse._SubParsersAction) -> None:
    """Commands that query, measure and tune the engine, and prepare its models."""
    p = sub.add_parser("ask", help="ask a question ('-' reads one per line on stdin)")
    p.add_argument("question")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="Hit@1, Hit@5, MRR@10 and refusals on JSONL sets")
    p.add_argument("files", nargs="*", help="JSONL questions with gold evidence")
    p.add_argument("--ood", nargs="+", help="JSONL of questions the corpus cannot answer")
    p.add_argument("-v", "--verbose", action="store_true", help="list misses and bluffs")
    p.add_argument("--json", action="store_true", help="also print the figures as JSON")
    p.add_argument("--ablation", action="store_true", help="switch each step off in turn")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("calibrate", help="fit the relevance model on labelled questions")
    p.add_argument("files", nargs="*", help=f"JSONL with gold (default: {DEFAULT_EVAL}/dev*.jsonl)")
    p.add_argument("--ood", nargs="+", help="unanswerable questions (default: the *_ood files)")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="how the folds are drawn")
    p.add_argument("--recipe", help="what is fitted (default: residual; README → Calibration)")
    p.add_argument("--out", help="where to write the model (default: the family's file)")
    p.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    p.add_argument("--force", action="store_true", help="write even if the rules do better")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("model", help="prepare embedding models offline")
    p.add_argument("action", choices=["import-e5", "export-onnx"])
    p.add_argument("--out")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_model)


def _fetch_commands(sub: argparse._SubParsersAction) -> None:
    """``fetch`` and ``update``: the same options (source, --since, --backfill, limits)."""
    for name, func, helptext in (
        ("fetch", cmd_fetch, "fetch new posts from content/sources.toml"),
        ("update", cmd_update, "fetch, then build incrementally"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--source")
        p.add_argument(
            "--since", type=_date, help="only posts dated (or modified) since YYYY-MM-DD"
        )
        p.add_argument("--quiet", action="store_true")
        p.add_argument(
            "--backfill",
            action="store_true",
            help="the whole archive: the sources' sitemaps and paged feeds (resumable)",
        )
        p.add_argument("--max-pages", type=int, help="article pages to download at most")
        p.add_argument("--delay", type=float, help="seconds between requests to one site")
        p.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    """The command line: global options, then one subcommand per use case."""
    parser = argparse.ArgumentParser(prog="python -m index", description=__doc__)
    parser.add_argument("--content-dir", dest="content_dir")
    parser.add_argument("--index-dir", dest="index_dir")
    parser.add_argument(
        "--model",
        dest="embedding_model",
        help="'auto', 'e5', 'minilm', or a sentence-transformers name or path",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _corpus_commands(sub)
    _engine_commands(sub)
    _fetch_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    from index.models.resolve import ModelError
    from index.storage.versions import IndexUnavailable

    try:
        return int(args.func(args) or 0)
    except (ModelError, IndexUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
