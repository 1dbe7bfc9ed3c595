"""Telegram handlers, grouped by concern; :func:`register` wires them in order."""

from __future__ import annotations

from telegram.ext import Application

from bot.handlers import admin, callbacks, commands, conversation, errors, inline


def register(application: Application, admin_ids: frozenset[int]) -> None:
    """Order matters within a group: specific commands before the catch-alls."""
    admin.register(application, admin_ids)
    commands.register(application)
    callbacks.register(application)
    inline.register(application)
    conversation.register(application)
    errors.register(application)
