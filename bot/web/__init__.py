"""The web side: shared answers as pages anyone can open (``/a/<id>``), and a search page.

Served by the bot process when PUBLIC_URL is set, or alone with ``python -m bot web``; see
``app`` (routes, headers, caching), ``pages`` (HTML) and ``serve`` (starting and stopping).
"""
