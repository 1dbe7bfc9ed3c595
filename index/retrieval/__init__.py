"""The reading side: a loaded index version (``snapshot``) and the ``Engine`` that answers a
question over it — query analysis (French as typed, acronyms, English), BM25 and vector
candidates, fusion, the relevance judgement, dated ranking, and the quote. Never imports the
writing side (an import-linter contract)."""
