"""Gradio UI for IGA: the preset-first panel, the Recipes tab and the standalone app.

Only this subpackage may import gradio (tests/test_import_boundaries.py). Everything here works with
gradio 3.41.2 (A1111) and 4.40.0 (Forge); `compat` is the one place that knows the difference. The
logic behind the widgets (what to show, which values to apply, what the guard says) lives in
gradio-free modules (`view`, `render`) so it can be tested without a browser.
"""
