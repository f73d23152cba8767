"""The host's config sidecar `<checkpoint>.yaml`, read as data only (`untrusted_files.read_yaml`: safe-load
semantics, never instantiating the classes it names, bounded in size, nodes and time)."""

from __future__ import annotations

from iga_core.reconstruct.evidence import Evidence

SOURCE = "yaml"
_MAX_NODES = 20_000
_PARAMETERIZATION = {"v": "v", "eps": "eps", "x0": "x0"}


def collect(ctx) -> list[Evidence]:
    path = ctx.beside(".yaml")
    if not path.exists():
        return []
    try:
        import yaml  # noqa: F401 -- only to say so when it is missing
    except ModuleNotFoundError:
        ctx.findings.append(f"{path.name} found but PyYAML is not installed; it was not read")
        return []
    data = ctx.read_yaml(path)  # data only, size- and time-bounded; a bad file is a finding
    if data is None:
        return []
    param = _dig(data, "model", "params", "parameterization")
    if isinstance(param, str) and param in _PARAMETERIZATION:
        return [Evidence("/prediction_type", _PARAMETERIZATION[param], SOURCE,
                         f"{path.name}: model.params.parameterization = {param!r}", 0.9)]  # fmt: skip
    if _mentions(data, "VScaling"):  # Forge treats a denoiser target named *VScaling as v-prediction
        return [Evidence("/prediction_type", "v", SOURCE, f"{path.name}: a *VScaling denoiser target", 0.85)]
    return []


def _dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _mentions(data, word: str) -> bool:
    """Whether any string in the document contains `word` (a bounded walk: aliases cannot blow it up)."""
    stack, seen = [data], 0
    while stack and seen < _MAX_NODES:
        node = stack.pop()
        seen += 1
        if isinstance(node, str) and word in node:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False
