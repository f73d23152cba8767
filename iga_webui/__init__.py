"""Host glue for AUTOMATIC1111 v1.10.1 and Forge: the always-on "IGA" script, callbacks, settings and the
HTTP routes. Everything here may import the host's `modules` and gradio; the logic it calls lives in
`iga_core`. Imported only by `scripts/iga.py` (top level, because A1111 restores sys.path after each
script module loads, so late imports of this package can fail)."""
