"""ComfyUI images: the API graph its SaveImage node embeds, read from its KSampler / KSamplerAdvanced.

ComfyUI (nodes.py SaveImage.save_images) writes PNG text `prompt` = json.dumps(the API graph: node id ->
{"class_type", "inputs"}, where an input linked to another node is [node id, output index]) and one chunk
per extra_pnginfo key (`workflow`, the UI graph). The sampler node's inputs (nodes.py): KSampler `seed`,
`steps`, `cfg`, `sampler_name`, `scheduler`, `denoise`, `model`, `positive`, `negative`, `latent_image`;
KSamplerAdvanced `add_noise`, `noise_seed`, ..., `start_at_step`, `end_at_step`. The nodes they link to:
CheckpointLoaderSimple `ckpt_name` (through LoRA loaders and other nodes with a `model` input), CLIPTextEncode
`text` (through conditioning nodes; FluxGuidance `guidance`), CLIPSetLastLayer `stop_at_clip_layer` (-2 is
clip skip 2), Empty*LatentImage `width` / `height`, VAELoader `vae_name`. Names stay ComfyUI's (dialect
"comfyui"): its ddim runs Euler on the scheduler's sigmas, which the guard and the payload know.
"""

from __future__ import annotations

from typing import Any

from iga_core.audit.foreign import (
    MAX_HOPS,
    MAX_NODES,
    ForeignRequest,
    ForeignUnreadable,
    json_object,
    number,
    text,
)

FORMAT = "ComfyUI"
SAMPLERS = ("KSampler", "KSamplerAdvanced")
CHECKPOINT_LOADERS = {"CheckpointLoaderSimple": "ckpt_name", "CheckpointLoader": "ckpt_name",
                      "ImageOnlyCheckpointLoader": "ckpt_name", "unCLIPCheckpointLoader": "ckpt_name"}
DIFFUSION_LOADERS = {"UNETLoader": "unet_name"}
LORA_LOADERS = ("LoraLoader", "LoraLoaderModelOnly")
TEXT_KEYS = ("text", "string", "value", "Text", "prompt")
SCALAR_KEYS = ("value", "seed", "noise_seed", "int", "float", "number")


def detect(meta) -> bool:
    return "prompt" in meta.foreign or "workflow" in meta.foreign


def _graph(meta) -> dict:
    if "prompt" not in meta.foreign:
        raise ForeignUnreadable(FORMAT, "it carries only ComfyUI's UI workflow (PNG text 'workflow'), not the API "
                                "graph (PNG text 'prompt') iga reads",
                                "in ComfyUI load the image and save it again, or read the settings off the graph")
    graph = json_object(meta.foreign["prompt"], FORMAT, "API graph (PNG text 'prompt')")
    nodes = {str(k): v for k, v in graph.items() if isinstance(v, dict) and isinstance(v.get("class_type"), str)}
    if not nodes or len(nodes) > MAX_NODES:
        raise ForeignUnreadable(FORMAT, f"its API graph has {len(nodes)} readable nodes",
                                "the metadata is damaged or was not written by ComfyUI")
    return nodes


class _Walker:
    """Follows links through the graph, at most MAX_HOPS deep, noting what it cannot evaluate."""

    def __init__(self, nodes: dict) -> None:
        self.nodes = nodes
        self.notes: list[str] = []

    def node(self, link: Any) -> tuple[str, dict] | None:
        if isinstance(link, list) and len(link) == 2 and str(link[0]) in self.nodes:
            return str(link[0]), self.nodes[str(link[0])]
        return None

    def inputs(self, node: dict) -> dict:
        value = node.get("inputs")
        return value if isinstance(value, dict) else {}

    def value(self, node: dict, key: str, kind: type, what: str) -> Any:
        """A widget value, or the scalar a linked node (a primitive, a seed node) holds."""
        raw = self.inputs(node).get(key)
        for _ in range(MAX_HOPS):
            found = self.node(raw)
            if found is None:
                break
            nid, other = found
            scalars = {k: v for k, v in self.inputs(other).items() if not isinstance(v, list)}
            keys = [k for k in (*SCALAR_KEYS, *TEXT_KEYS) if k in scalars]
            if keys:
                raw = scalars[keys[0]]
            elif len(scalars) == 1:
                raw = next(iter(scalars.values()))
            else:
                self.notes.append(f"the {what} comes from node {nid} ({other['class_type']}), which iga does not "
                                  "evaluate")
                return None
        if kind is str:
            return text(raw)
        return number(raw, kind)

    def follow(self, link: Any, key: str, stop) -> tuple[str, dict] | None:
        """From `link`, walk the `key` input until `stop(node)` holds; the node found, or None."""
        for _ in range(MAX_HOPS):
            found = self.node(link)
            if found is None:
                return None
            if stop(found[1]):
                return found
            link = self.inputs(found[1]).get(key)
        return None


def _prompt(w: _Walker, link: Any, what: str, fields: dict) -> str:
    """The text of the CLIPTextEncode a conditioning input comes from (through conditioning nodes)."""
    seen = 0
    while seen < MAX_HOPS:
        seen += 1
        found = w.node(link)
        if found is None:
            return ""
        nid, node = found
        cls, inputs = node["class_type"], w.inputs(node)
        if cls == "FluxGuidance":  # comfy_extras/nodes_flux.py: the distilled guidance of Flux
            guidance = number(inputs.get("guidance"), float)
            if guidance is not None and what == "prompt":
                fields["distilled_cfg"] = guidance
        if "text" in inputs or cls.startswith("CLIPTextEncode"):
            if what == "prompt":
                _clip_skip(w, inputs.get("clip"), fields)
            value = w.value(node, "text", str, what) if "text" in inputs else None
            if value is None:
                parts = [w.value(node, k, str, what) for k in ("text_g", "text_l") if k in inputs]
                value = next((p for p in parts if p), None)
            return value or ""
        # conditioning nodes (ConditioningCombine, ControlNetApply..., FluxGuidance) pass theirs through
        keys = ("conditioning", "conditioning_to", "conditioning_1", "positive" if what == "prompt" else "negative")
        nxt = next((inputs[k] for k in keys if isinstance(inputs.get(k), list)), None)
        if nxt is None:
            w.notes.append(f"the {what} comes from node {nid} ({cls}), which iga does not read")
            return ""
        link = nxt
    return ""


def _clip_skip(w: _Walker, link: Any, fields: dict) -> None:
    found = w.follow(link, "clip", lambda n: n["class_type"] == "CLIPSetLastLayer")
    if found is not None:
        layer = number(w.inputs(found[1]).get("stop_at_clip_layer"), int)
        if layer is not None and layer < 0:
            fields["clip_skip"] = -layer


def _checkpoint(w: _Walker, link: Any) -> str | None:
    loras = []
    for _ in range(MAX_HOPS):
        found = w.node(link)
        if found is None:
            return None
        nid, node = found
        cls, inputs = node["class_type"], w.inputs(node)
        if cls in CHECKPOINT_LOADERS:
            name = w.value(node, CHECKPOINT_LOADERS[cls], str, "checkpoint")
            break
        if cls in DIFFUSION_LOADERS:
            name = w.value(node, DIFFUSION_LOADERS[cls], str, "diffusion model")
            w.notes.append(f"the model is a bare diffusion model ({cls}); the WebUI loads it with its text encoders "
                           "and VAE as separate files")
            break
        if cls in LORA_LOADERS:
            lora, weight = w.value(node, "lora_name", str, "LoRA"), number(inputs.get("strength_model"), float)
            if lora:
                loras.append(f"{lora} at {weight:g}" if weight is not None else lora)
        if "model" not in inputs:
            w.notes.append(f"the model comes from node {nid} ({cls}), which iga does not read")
            return None
        link = inputs["model"]
    else:
        return None
    if loras:
        w.notes.append("LoRAs applied in the graph (add them to the prompt as <lora:name:weight>): "
                       + ", ".join(reversed(loras)))
    return name


def _size(w: _Walker, link: Any, fields: dict) -> bool:
    """Width and height of the empty latent the pass starts from; False when it starts from an image."""
    found = w.follow(link, "samples", lambda n: ("width" in w.inputs(n) and "height" in w.inputs(n))
                     or n["class_type"] in ("VAEEncode", "VAEEncodeForInpaint"))
    if found is None:
        return True
    node = found[1]
    if node["class_type"].startswith("VAEEncode"):
        return False
    for key in ("width", "height"):
        value = w.value(node, key, int, key)
        if value is not None and value > 0:
            fields[key] = value
    return True


def _pick(nodes: dict, w: _Walker) -> tuple[str, dict]:
    samplers = sorted(((nid, n) for nid, n in nodes.items() if n["class_type"] in SAMPLERS),
                      key=lambda item: (not item[0].isdigit(), int(item[0]) if item[0].isdigit() else 0, item[0]))
    if not samplers:
        others = sorted({n["class_type"] for n in nodes.values() if "sampler" in n["class_type"].lower()})
        how = f" (it samples with {', '.join(others)})" if others else ""
        raise ForeignUnreadable(FORMAT, f"its graph has no KSampler or KSamplerAdvanced node{how}; iga reads only "
                                "those", "read the settings off the graph in ComfyUI")

    def first_pass(item) -> bool:  # a pass that starts from an empty latent and adds its own noise
        inputs = w.inputs(item[1])
        starts_empty = w.follow(inputs.get("latent_image"), "samples",
                                lambda n: "width" in w.inputs(n) and "height" in w.inputs(n)) is not None
        return starts_empty and inputs.get("add_noise", "enable") != "disable" and not number(
            inputs.get("start_at_step"), int)

    first = [s for s in samplers if first_pass(s)] or samplers
    if len(samplers) > 1:
        w.notes.append(f"the graph has {len(samplers)} sampler nodes ({', '.join(s[0] for s in samplers)}); node "
                       f"{first[0][0]} (the first pass) is reproduced, the others (hires fix, refiner) are not")
    return first[0]


def read(meta) -> ForeignRequest:
    nodes = _graph(meta)
    w = _Walker(nodes)
    nid, node = _pick(nodes, w)
    inputs = w.inputs(node)
    fields: dict = {}
    for key, kind, name in (("sampler_name", str, "sampler"), ("scheduler", str, "schedule"),
                            ("steps", int, "steps"), ("cfg", float, "cfg")):
        value = w.value(node, key, kind, name)
        if value is not None:
            fields[name] = value
    seed = w.value(node, "noise_seed" if node["class_type"] == "KSamplerAdvanced" else "seed", int, "seed")
    if node["class_type"] == "KSamplerAdvanced":
        start, end = number(inputs.get("start_at_step"), int), number(inputs.get("end_at_step"), int)
        if start or (end is not None and fields.get("steps") is not None and end < fields["steps"]):
            w.notes.append(f"KSamplerAdvanced runs steps {start or 0} to {end} of {fields.get('steps')}; the WebUI "
                           "runs them all")
    from_empty = _size(w, inputs.get("latent_image"), fields)
    denoise = number(inputs.get("denoise"), float)
    if not from_empty:
        w.notes.append("the pass starts from an encoded image (img2img), which the file does not hold")
        if denoise is not None and 0 <= denoise <= 1:
            fields["denoising_strength"] = denoise
    elif denoise is not None and denoise < 1:
        w.notes.append(f"denoise {denoise:g} on an empty latent: ComfyUI runs only the last part of the schedule")
    prompt = _prompt(w, inputs.get("positive"), "prompt", fields)
    negative = _prompt(w, inputs.get("negative"), "negative prompt", fields)
    checkpoint = _checkpoint(w, inputs.get("model"))
    return ForeignRequest(FORMAT, f"PNG text 'prompt' (API graph), {node['class_type']} node {nid}", "comfyui",
                          prompt, negative, seed, fields, checkpoint, tuple(dict.fromkeys(w.notes)))
