"""The question flow every surface shares: rate limit → search off the loop → save → count.

Private chats, groups, inline mode, the terminal and the web pages differ in how they read a
question and show an answer, not in what happens between: that part lives here once, so a
rule (what is counted, what is stored: the quotes only, never the question) holds everywhere.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Literal

from bot.ratelimit import RateLimiter
from bot.render import Quote, clean_text, quotes_of
from bot.services import Services

log = logging.getLogger(__name__)
Outcome = Literal["answered", "nothing", "rate_limited"]


@dataclass(frozen=True)
class Asked:
    """What became of one question; ``reason`` says why nothing was found ("empty",
    "no_match", "too_long"); ``first_refusal`` asks the surface to say "slow down" once."""

    outcome: Outcome
    quotes: tuple[Quote, ...] = field(default=())
    answer_id: str | None = None
    reason: str = ""
    first_refusal: bool = False


async def ask(
    svc: Services,
    question: str,
    *,
    limiter: RateLimiter,
    who: int | str | None,
    counter: str = "questions",
) -> Asked:
    """Answer ``question`` for the client ``who`` (a user id, a client address: only its salted
    hash is kept, in memory, by ``limiter``); the quotes are saved under their share id."""
    allowed, first_refusal = limiter.check(who)
    if not allowed:
        await svc.count("rate_limited")
        log.info("question refused by the rate limit")
        return Asked("rate_limited", first_refusal=first_refusal)
    question = clean_text(question)
    if not question:
        return Asked("nothing", reason="empty")
    engine = svc.require_engine()
    answer = await asyncio.to_thread(engine.search, question, svc.settings.results_per_question)
    await svc.count(counter)
    if not answer.answered or not answer.results:
        await svc.count("not_answered")
        log.info("question not answered (%s)", answer.reason or "no_match")
        return Asked("nothing", reason=answer.reason or "no_match")
    quotes = tuple(quotes_of(answer.results))
    aid = await svc.save_answer(list(quotes))  # None when it cannot be kept: sent all the same
    await svc.count("answered")
    log.info("question answered with %d passages", len(quotes))
    return Asked("answered", quotes, aid)
