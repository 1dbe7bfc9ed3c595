"""Per-question latency of Engine.search on the seed corpus, by stage, and retrieval quality.

    python bench/latency.py [--model e5|minilm] [--backend torch|onnx] [--size seed|100k]

Warm: the model is loaded and the index built (from the shared embedding cache) before any
timing. "cold" clears the engine's query-embedding cache before each question, so every
question is embedded; "cached" asks the same questions again with the cache on. Quality:
Hit@1 / Hit@5 / MRR@10 on ../shared/eval with the same model and backend.
``--size 100k`` runs bench/scale.py (the generated 100k-passage corpus).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import _common as c
from questions import QUESTIONS

from index import Embedder, Engine, evaluate, load_jsonl, open_engine

STAGES = ["analyze", "embed", "bm25", "vector", "rescore", "fuse", "diversify", "quote"]


def run_pass(engine: Engine, rounds: int, *, cold: bool) -> dict:
    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    answered = 0
    for _ in range(rounds):
        for q in QUESTIONS:
            if cold:
                engine.clear_query_cache()  # every question is embedded
            timings: dict[str, float] = {}
            t = time.perf_counter()
            answer = engine.search(q, k=5, timings=timings)
            totals.append(time.perf_counter() - t)
            answered += answer.answered
            for s, v in timings.items():
                stages[s].append(v)
    return {
        "total": c.summary_ms(totals),
        "stages": {s: c.summary_ms(v) for s, v in stages.items() if v},
        "answered_share": round(answered / max(1, len(totals)), 3),
    }


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=5, help="passes over the questions")
    p.add_argument("--no-eval", action="store_true", help="skip the quality evaluation")
    args = p.parse_args(argv)
    if args.size == "100k":
        import scale

        return scale.main(argv)

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        settings = c.settings_for(args, index_dir=Path(tmp) / "index")
        t0 = time.perf_counter()
        embedder = Embedder(settings)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        engine = open_engine(settings, embedder)
        t_open = time.perf_counter() - t0
        info = engine.info()
        print(
            f"model {embedder.model_id} ({embedder.backend}), {info.passages} passages; "
            f"load {t_load:.1f} s, index build/open {t_open:.1f} s"
        )
        for q in QUESTIONS[:10]:  # warm-up: allocators, ONNX/torch kernels, caches
            engine.search(q)
        cold = run_pass(engine, args.rounds, cold=True)
        engine.clear_query_cache()
        for q in QUESTIONS:
            engine.search(q)
        cached = run_pass(engine, args.rounds, cold=False)

        quality = None
        if not args.no_eval:
            dev = c.SHARED / "eval" / "dev.jsonl"
            ood = c.SHARED / "eval" / "dev_ood.jsonl"
            if dev.exists():
                rep = evaluate(engine, load_jsonl(dev), load_jsonl(ood) if ood.exists() else None)
                quality = rep.to_json()

    rows = []
    for name, res in (("cold (query embedded)", cold), ("cached query vector", cached)):
        t = res["total"]
        rows.append([name, t["n"], t["p50"], t["p95"], t["p99"], t["mean"]])
    print()
    print(c.table(rows, ["per question, ms", "n", "p50", "p95", "p99", "mean"]))
    print()
    srows = [[s, v["p50"], v["p95"], v["p99"], v["mean"]] for s, v in cold["stages"].items()]
    print(c.table(srows, ["stage (cold), ms", "p50", "p95", "p99", "mean"]))
    if quality:
        print()
        print(
            f"quality on shared/eval ({quality['n']} q): Hit@1 {quality['hit1']:.3f}  "
            f"Hit@5 {quality['hit5']:.3f}  MRR@10 {quality['mrr10']:.3f}  refused answerable "
            f"{quality['refused_answerable']}  "
            f"refused OOD {quality['ood_refused']}/{quality['ood']}"
        )
    c.write_result(
        "latency",
        args,
        {
            "model_id": embedder.model_id,
            "backend": embedder.backend,
            "passages": info.passages,
            "questions": len(QUESTIONS),
            "load_s": round(t_load, 2),
            "open_s": round(t_open, 2),
            "cold": cold,
            "cached": cached,
            "quality": quality,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
