"""Every file of an index on disk, by name, in one place. Each component loads and writes
its own files (the module named beside each); the build only orchestrates.

    <index_dir>/CURRENT                       the published version's name (versions.py)
    <index_dir>/versions/<version>/           one version, immutable once published:
        manifest.json                         what it is, checksums of every file (versions.py)
        build_state.json                      what the next build reuses (build/state.py)
        segments.json                         its segments, in storage order (segments.py)
        segments/<name>/*.npy                 row files shared by later versions (segments.py)
        passages.jsonl, articles.json,
        acronyms.json                         (retrieval/snapshot.py)
        bm25/, idf.json, vocab.json           (retrieval/lexical.py)
        passage_rows.npy, ivf_centroids.npy   (retrieval/vector.py)
        sentence_ranges.npy                   (retrieval/sentences.py)

Changing a name or a file's content changes the format: bump versions.FORMAT."""

from __future__ import annotations

# In the index folder.
POINTER = "CURRENT"
VERSIONS_DIR = "versions"

# In a version's folder.
MANIFEST = "manifest.json"
BUILD_STATE = "build_state.json"
SEGMENTS_FILE = "segments.json"
SEGMENTS_DIR = "segments"
PASSAGES = "passages.jsonl"  # one JSON passage a line, in passage order
ARTICLES = "articles.json"  # each article's info, in passage order
ACRONYMS = "acronyms.json"  # initialism → its expansions in the corpus
BM25_DIR = "bm25"  # bm25s' own files
IDF = "idf.json"  # term → inverse document frequency
VOCABULARY = "vocab.json"  # the query vocabulary (spelling, forms)
PASSAGE_ROWS = "passage_rows.npy"  # int64, each passage's global row in PASSAGE_VECTORS
SENTENCE_RANGES = "sentence_ranges.npy"  # int64 per passage, its sentences' rows [start, end)
IVF_CENTROIDS = "ivf_centroids.npy"  # float32 (lists, dim), only past ann_threshold

# In each segment (segments/<name>/): one row file per kind, see segments.SEGMENT_ROWS.
PASSAGE_VECTORS = "passages.npy"  # float32, one row per passage
SENTENCE_VECTORS = "sentences.npy"  # float16, one row per embedded sentence
SENTENCE_SPANS = "spans.npy"  # int32 (start, end) of each sentence in its passage's text
PASSAGE_META = "passage_meta.npy"  # int32 per passage: sentences, term pairs, BM25 length
TERM_COUNTS = "terms.npy"  # int32 per passage: (term id, count) pairs
WORD_COUNTS = "words.npy"  # int32 per article text: vocabulary pair, count, first position, ...
