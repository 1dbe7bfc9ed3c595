"""The corpus: articles as Markdown files in ``content/``, how outside material becomes one
(importers for web pages, feeds and the seed pages; the polite fetcher and the archive backfill
with the URL guard they share), and how an article is cut into quotable passages."""
