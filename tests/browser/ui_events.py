"""`Events`: plays the browser for handler tests under both gradio versions.

It reads the dependencies gradio registered on a Blocks, calls the handler of one (component, event) with the
components' current values and applies the returned updates (values and properties such as `interactive`).
Events are fired one at a time, explicitly; nothing chains, so each test states what the page would do.
"""

from __future__ import annotations

import gradio as gr

from iga_core.script_args import parse_script_args


class Events:
    """A minimal stand-in for the browser: component values, and firing one registered event at a time."""

    def __init__(self, demo: gr.Blocks, *, panel=None, controls=None, checkpoint=None):
        self.demo, self.panel, self.controls, self.checkpoint = demo, panel, controls or {}, checkpoint
        config = demo.get_config_file()
        fns = demo.fns if isinstance(demo.fns, list) else list(demo.fns.values())
        self.deps = list(zip(config["dependencies"], fns, strict=True))
        self.blocks = {block._id: block for block in demo.blocks.values()}
        self.values = {i: getattr(b, "value", None) for i, b in self.blocks.items()}
        self.props: dict[int, dict] = {i: {} for i in self.blocks}

    def _handlers(self, component, event: str) -> list:
        found = []
        for dep, fn in self.deps:
            targets = dep["targets"]
            if targets and isinstance(targets[0], (list, tuple)):  # gradio 4: [(id, event)]
                hit = (component._id, event) in [tuple(t) for t in targets]
            else:  # gradio 3: [id] plus "trigger"
                hit = component._id in targets and dep.get("trigger") == event
            if hit and fn.fn is not None:
                found.append((dep, fn.fn))
        assert found, f"no {event} handler on {component}"
        return found

    def set(self, component, value) -> None:
        self.values[component._id] = value

    def fire(self, component, event: str = "change") -> None:
        """Run every handler registered for (component, event), in registration order."""
        for dep, fn in self._handlers(component, event):
            result = fn(*[self.values[i] for i in dep["inputs"]])
            if len(dep["outputs"]) == 1:
                result = [result]
            for out, update in zip(dep["outputs"], result, strict=True):
                self._apply(out, update)

    def _apply(self, out: int, update) -> None:
        if isinstance(update, dict) and str(update.get("__type__", "")).endswith("update"):
            props = {k: v for k, v in update.items() if k != "__type__"}
            if "value" in props:
                self.values[out] = props.pop("value")
            self.props[out].update(props)
        else:
            self.values[out] = update

    def by_elem_id(self, elem_id: str):
        found = [b for b in self.blocks.values() if getattr(b, "elem_id", None) == elem_id]
        assert len(found) == 1, f"{len(found)} components with elem_id {elem_id!r}"
        return found[0]

    def value(self, component):
        return self.values[component._id]

    def prop(self, component, name: str, default=None):
        return self.props[component._id].get(name, default)

    @property
    def args(self):
        return parse_script_args(self.value(self.panel.args))

    def select(self, name: str) -> None:
        self.set(self.checkpoint, name)
        self.fire(self.checkpoint)
