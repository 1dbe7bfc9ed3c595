"""Resident memory: the terminal chat's peak after N questions, and what holds it.

    python bench/memory.py [--model e5|minilm] [--backend torch|onnx] [--questions 1000]
                           [--corpus FOLDER kept by bench/scale.py --workdir]

1. ``python -m bot --terminal`` (a separate process) reads ``--questions`` questions from
   stdin (bench/questions.py, repeated); its peak resident memory is the kernel's maxrss of
   the process (wait4), its answers are counted.
2. The breakdown: a fresh process imports what the bot imports, library by library, then loads
   the model, the index and answers questions, printing VmRSS after each step (RSS deltas:
   what each step added and kept; shared libraries' code counts where first mapped).
The index must exist (``python -m index build``, or any bench run). Which heavy libraries are
in the process at the end is listed too (torch, transformers... must not be, with ONNX).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import _common as c
from questions import QUESTIONS

HEAVY = ("torch", "transformers", "sentence_transformers", "onnx", "sklearn", "wordfreq")

# Run in a fresh process: one line of JSON per step, (step, VmRSS, VmHWM, RssFile MB): RssFile
# is the part of VmRSS that is pages of mapped files (code, memory-mapped index segments).
BREAKDOWN = r"""
import json, sys
def step(name):
    st = {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status")
          if l.startswith(("VmRSS", "VmHWM", "RssFile"))}
    print(json.dumps([name, *(round(st[k], 1) for k in ("VmRSS", "VmHWM", "RssFile"))]),
          flush=True)
step("python")
import numpy; step("numpy")
import faiss; step("faiss")
import onnxruntime; step("onnxruntime")
import tokenizers; step("tokenizers")
import telegram.ext, httpx; step("python-telegram-bot, httpx")
import bot.app, bot.terminal, index.retrieval.engine; step("the bot's and the engine's own modules")
from index import Embedder, Engine, IndexSettings
settings = IndexSettings()
embedder = Embedder(settings)
if embedder.onnx is not None:
    step(f"embedding model: session + tokenizer ({embedder.onnx.model_path.name}, "
         f"{embedder.onnx.tokenizer.get_vocab_size()} tokens)")
else:
    step("embedding model (torch)")
engine = Engine.open(settings, embedder); step("index loaded")
questions = sys.stdin.read().splitlines()
for q in questions:
    engine.search(q)
step(f"after {len(questions)} searches")
texts = (engine.passage_source(i) for i in range(engine.info().passages))
passages = sorted(texts, key=len)[-40:]
embedder.encode_uncached(passages, embedder.passage_prompt)
step("after embedding the 40 longest passages (what a build does)")
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps(["heavy libraries imported: " + (", ".join(heavy) or "none"), 0, 0, 0]))
"""


def terminal_peak(env: dict[str, str], questions: list[str]) -> tuple[float, int]:
    """(peak RSS in MB, answers printed) of the terminal chat over ``questions``."""
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--terminal"], cwd=c.REPO, env=env,
            stdin=subprocess.PIPE, stdout=out, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write("\n".join(questions) + "\n")
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        replies = out.read().count("\n\n")
    return usage.ru_maxrss / 1024, replies


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0], size=False)
    p.add_argument("--questions", type=int, default=1000)
    p.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="a folder kept by `bench/scale.py --workdir` (100k passages) instead of the seed",
    )
    args = p.parse_args(argv)
    args.size = "100k" if args.corpus else "seed"
    dirs = {k: args.corpus / k for k in ("content", "index", "cache")} if args.corpus else {}
    settings = c.settings_for(args, **{f"{k}_dir": v for k, v in dirs.items()})
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "",
        "CONTENT_DIR": str(settings.content_dir),
        "INDEX_DIR": str(settings.index_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "EMBEDDING_MODEL": args.model,
        "EMBEDDING_BACKEND": args.backend,
        "STORE_PATH": str(Path(tempfile.mkdtemp(prefix="bench-mem-")) / "bot.sqlite3"),
        "LOG_LEVEL": "WARNING",
    }
    questions = (QUESTIONS * (args.questions // len(QUESTIONS) + 1))[: args.questions]
    peak, replies = terminal_peak(env, questions)
    steps = subprocess.run(
        [sys.executable, "-c", BREAKDOWN, ",".join(HEAVY)], cwd=c.REPO, env=env,
        input="\n".join(questions[:100]), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows, last = [], 0.0
    for name, rss, hwm, mapped in (json.loads(line) for line in steps.splitlines()):
        added = f"{rss - last:+.0f}" if rss else ""
        rows.append([name, f"{rss:.0f}", added, f"{hwm:.0f}", f"{mapped:.0f}"])
        last = rss or last
    print(f"terminal chat, {args.questions} questions: peak RSS {peak:.0f} MB ({replies} replies)")
    print()
    print(c.table(rows, ["step (a fresh process)", "RSS MB", "added", "peak MB", "of which files"]))
    c.write_result(
        "memory",
        args,
        {"questions": args.questions, "terminal_peak_rss_mb": round(peak, 1), "steps": rows},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
