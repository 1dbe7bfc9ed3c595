"""campaign-bot's Telegram side: answers questions by quoting the Technopolice articles."""
