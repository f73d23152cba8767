"""Mirror of modules/shared_items.py: `refresh_checkpoints()` (A 60-62; F keeps the same function, and its
checkpoint bar's refresh button calls `sd_models.list_models()` too, main_entry.py:140-164) — what the Recipes tab
calls after a stamp so the host re-reads the changed metadata."""


def refresh_checkpoints():
    import modules.sd_models

    modules.sd_models.list_models()
