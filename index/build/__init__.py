"""Building an index version from ``content/``: scan what changed, analyse each article once
(passages, sentences, terms), embed through the cache, write every component, publish."""
