"""What a fetch or a backfill did, per source: added / updated / unchanged / skipped with
reasons, and the plain-text table the command line prints."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceReport:
    name: str
    feed: str
    feed_status: str = "pending"  # fetched | not modified | failed
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0  # entries older than --since
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    changed_ids: list[str] = field(default_factory=list)
    page_requests: int = 0

    @property
    def yielded(self) -> bool:
        """Something came of this source: a feed answer and not only failed entries."""
        if self.feed_status == "not modified":
            return True
        if self.feed_status != "fetched":
            return False
        return bool(self.added + self.updated + self.unchanged + self.ignored) or not self.skipped


@dataclass
class FetchReport:
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(s.added for s in self.sources)

    @property
    def updated(self) -> int:
        return sum(s.updated for s in self.sources)

    @property
    def unchanged(self) -> int:
        return sum(s.unchanged for s in self.sources)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        return [item for s in self.sources for item in s.skipped]

    @property
    def changed_ids(self) -> list[str]:
        """Ids of added or updated articles: what an incremental build must (re)index."""
        return [i for s in self.sources for i in s.changed_ids]

    @property
    def ok(self) -> bool:
        """False only when nothing at all could be fetched (every source failed)."""
        return any(s.yielded for s in self.sources)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def render(self, max_reasons: int = 20) -> str:
        """A plain-text table, then the skipped entries with their reasons."""
        head = ("source", "feed", "added", "updated", "unchanged", "skipped")
        rows = [
            (
                s.name,
                s.feed_status,
                str(s.added),
                str(s.updated),
                str(s.unchanged),
                str(len(s.skipped)),
            )
            for s in self.sources
        ]
        rows.append(
            (
                "total",
                "",
                str(self.added),
                str(self.updated),
                str(self.unchanged),
                str(len(self.skipped)),
            )
        )
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]

        def line(r: tuple[str, ...]) -> str:
            cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1])]
            cells += [c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)]
            return "  ".join(cells).rstrip()

        out = [line(head), "  ".join("-" * w for w in widths)]
        out += [line(r) for r in rows[:-1]]
        out += ["  ".join("-" * w for w in widths), line(rows[-1])]
        ignored = sum(s.ignored for s in self.sources)
        if ignored:
            out.append(f"({ignored} entries older than --since ignored)")
        for s in self.sources:
            if not s.skipped:
                continue
            out.append("")
            out.append(f"skipped in {s.name}:")
            for url, reason in s.skipped[:max_reasons]:
                out.append(f"  {url}: {reason}")
            if len(s.skipped) > max_reasons:
                out.append(f"  … and {len(s.skipped) - max_reasons} more")
        if not self.sources:
            out.append("")
            out.append("no source to fetch (are they all disabled in sources.toml?)")
        elif not self.ok:
            out.append("")
            out.append("nothing could be fetched")
        return "\n".join(out)
