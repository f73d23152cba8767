"""The guard's modes, in a module of their own: the CLI's `--mode` choices need the names, not the guard."""

MODES = ("strict", "standard", "audit", "off")
