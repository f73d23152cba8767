"""Commands of this family are being written; see COMMAND_MODULES in iga_core/cli/__init__.py."""


def register(sub) -> None:
    return None
