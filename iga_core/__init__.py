"""sd-webui-iga core: the host-free half of the Integrated Generation Architecture.

Nothing in this package imports the WebUI (`modules`, `launch`); only `iga_core.ui` may import gradio and
only `iga_core.eval` may import torch. `tests/test_import_boundaries.py` enforces this.
"""

__version__ = "0.1.0"
