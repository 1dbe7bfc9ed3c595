"""What ``fetch`` and ``fetch --backfill`` share: sources, options, report, state, the polite
HTTP client and the per-entry pipeline."""
