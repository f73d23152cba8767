"""Mirror of modules/paths.py / paths_internal.py (A paths_internal.py:20-40): where the host keeps data."""

from __future__ import annotations

import os

data_path = os.environ.get("IGA_DOUBLE_DATA", ".")
models_path = os.path.join(data_path, "models")
extensions_dir = os.path.join(data_path, "extensions")
script_path = data_path
