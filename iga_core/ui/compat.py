"""Everything that differs between gradio 3.41.2 (A1111) and 4.40.0 (Forge), in one place.

Build with components and keyword arguments that exist in both versions; branch here only.
Avoided on purpose: `.style()`, `gr.Box`, `Row(scale=)`, `gr.Warning(duration=)`.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import gradio as gr


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


GRADIO_VERSION: str = importlib.metadata.version("gradio")
GRADIO_MAJOR: int = _major(GRADIO_VERSION)
IS_GRADIO_3: bool = GRADIO_MAJOR < 4


def js_kwargs(js: str | None) -> dict[str, Any]:
    """The keyword that runs `js` in the browser for an event: `_js=` in 3.x, `js=` in 4.x."""
    if not js:
        return {}
    return {"_js": js} if IS_GRADIO_3 else {"js": js}


def update(**props: Any) -> dict:
    """A property update for an event output (`gr.update` exists in both versions)."""
    return gr.update(**props)


def no_change() -> dict:
    """Leave an output component as it is."""
    return gr.update()


#: event kwargs for background refreshes (no spinner over the controls); the string form works in both
QUIET = {"show_progress": "hidden"}


def root_block():
    """The Blocks currently being built (the host's root `gr.Blocks` while its UI is created), or None."""
    from gradio.context import Context

    return Context.root_block


def load_js(blocks, js: str) -> None:
    """Run `js` once when the page has loaded (used by the standalone app to start javascript/iga.js)."""
    blocks.load(None, None, None, **js_kwargs(js))


def warn(message: str) -> None:
    """A toast; needs the queue (the hosts and the standalone app enable it). Never with `duration=`."""
    gr.Warning(message)


def info(message: str) -> None:
    gr.Info(message)


def choice_values(component) -> list | None:
    """The values a Dropdown/Radio accepts, or None for other components. gradio 3 keeps plain values
    (or (label, value) pairs), gradio 4 always (label, value) pairs."""
    choices = getattr(component, "choices", None)
    if choices is None or getattr(component, "allow_custom_value", False):
        return None
    return [c[1] if isinstance(c, (list, tuple)) and len(c) == 2 else c for c in choices]


def patch_template_response() -> bool:
    """Let gradio 4.40 render its page on starlette >= 1.0.

    gradio 4.40 calls `TemplateResponse(name, context)`, a form starlette 1.0 removed (it now reads
    `TemplateResponse(request, name, context)`); unpinned installs of gradio 4.40 pull such a starlette and
    every page load fails with "unhashable type: 'dict'". Forge pins fastapi 0.104 (starlette 0.27), where
    nothing needs changing. Only the standalone app calls this; returns True when it patched.
    """
    if IS_GRADIO_3:
        return False
    try:
        from gradio import routes
    except ImportError:
        return False
    templates = getattr(routes, "templates", None)
    original = getattr(templates, "TemplateResponse", None)
    if original is None or getattr(original, "_iga_patched", False):
        return False
    import inspect

    params = list(inspect.signature(original).parameters)
    if not params or params[0] != "request":
        return False

    def template_response(*args, **kwargs):
        if args and isinstance(args[0], str):  # the old (name, context, ...) form
            name, context, *rest = args
            return original(context["request"], name, context, *rest, **kwargs)
        return original(*args, **kwargs)

    template_response._iga_patched = True  # type: ignore[attr-defined]
    templates.TemplateResponse = template_response
    return True



def patch_bool_json_schema() -> bool:
    """Let gradio 4.40 describe its API when pydantic >= 2.11 is installed.

    Newer pydantic writes `"additionalProperties": true` for the `dict` field of gradio's FileData (used by
    gr.File); gradio_client 1.2's schema walker expects a dict there and every page load fails with
    "argument of type 'bool' is not iterable". A boolean schema means "anything", so answer "Any" for it,
    as later gradio_client releases do. Forge pins pydantic 2.8, where this never triggers.
    """
    if IS_GRADIO_3:
        return False
    try:
        from gradio_client import utils as client_utils
    except ImportError:
        return False
    original = getattr(client_utils, "_json_schema_to_python_type", None)
    if original is None or getattr(original, "_iga_patched", False):
        return False

    def to_python_type(schema, defs=None):
        if isinstance(schema, bool):
            return "Any"
        return original(schema, defs)

    to_python_type._iga_patched = True  # type: ignore[attr-defined]
    client_utils._json_schema_to_python_type = to_python_type
    return True


def serve_fixes() -> None:
    """Everything the standalone app needs so gradio 4.40 serves its page with newer dependencies."""
    patch_template_response()
    patch_bool_json_schema()
