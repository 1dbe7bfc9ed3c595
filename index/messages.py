"""Engine-level user text shared by the CLI (the bot has its own, bilingual, texts)."""

NOTHING_FOUND = (
    "Rien de pertinent dans les articles de la campagne pour cette question. "
    "Essayez d’autres mots, ou voyez la liste des sujets."
)
