"""`iga check`: would the guard let this request through for this checkpoint or recipe?

Exit codes (`ExitCode`): 0 allowed (possibly with warnings), 3 blocked by the guard, 1 when the recipe is
missing or invalid, 2 usage (a flag value out of range, an unknown preset or rule id), 4 a file missing or
unreadable. The human output is the guard's advice, one finding per line.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from iga_core.cli import emit
from iga_core.errors import ExitCode, IgaInvalid, IgaIOError, IgaUsageError

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[x×X*]\s*(\d{1,5})\s*$")


class UnknownRuleId(IgaUsageError):
    """An --override names a rule id the guard does not have."""


class RequestFlagsInvalid(IgaUsageError):
    """The flags make no valid request (steps below 1, an unknown --preset, a --lora weight that is no number)."""


class RecipeFileInvalid(IgaInvalid):
    """A recipe JSON file that cannot be parsed."""


class NoRecipe(IgaInvalid):
    """The checkpoint has no recipe the guard could check against."""


def parse_size(text: str) -> tuple[int, int]:
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise argparse.ArgumentTypeError(f"size must look like 1024x768, got {text!r}")
    return int(m.group(1)), int(m.group(2))


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"denoising strength must be between 0 and 1, got {text!r}")
    return value


#: --control keys -> ControlUnit fields
_CONTROL_KEYS = {"preprocessor": "preprocessor", "module": "preprocessor", "weight": "weight",
                 "start": "guidance_start", "end": "guidance_end", "kind": "kind"}


def parse_control(text: str) -> dict:
    """ "control_v11p_sd15_canny,preprocessor=canny,weight=0.8,end=0.9" -> a control unit dict."""
    model, *rest = [part.strip() for part in text.split(",")]
    unit: dict = {"model": model or None}
    for part in rest:
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in _CONTROL_KEYS:
            raise argparse.ArgumentTypeError(
                f"--control takes MODEL[,preprocessor=P][,weight=W][,start=S][,end=E][,kind=K], got {part!r}")
        field = _CONTROL_KEYS[key.strip()]
        if field in ("weight", "guidance_start", "guidance_end"):
            try:
                unit[field] = float(value)
            except ValueError:
                raise argparse.ArgumentTypeError(f"--control {key}: expected a number, got {value!r}") from None
        else:
            unit[field] = value.strip()
    return unit


def register(sub) -> None:
    from iga_core.guard.modes import MODES

    p = sub.add_parser(
        "check", help="check generation settings against a checkpoint's recipe",
        description="Check a request against a checkpoint's (or recipe file's) recipe. Exit 0: allowed "
                    "(maybe with warnings); 3: blocked by the guard; 1: no or invalid recipe; 2: usage; 4: file missing.")
    p.add_argument("source", help="a checkpoint (.safetensors) or a recipe JSON file (.json)")
    p.add_argument("--sampler", help="sampler name in any dialect (\"Euler a\", k_euler_a, euler_ancestral)")
    p.add_argument("--scheduler", "--schedule", dest="schedule", help="schedule type (Karras, sgm_uniform, Automatic)")
    p.add_argument("--steps", type=int)
    p.add_argument("--cfg", type=float, help="CFG scale")
    p.add_argument("--distilled-cfg", type=float, help="distilled CFG (Flux guidance)")
    p.add_argument("--vae", help="VAE file name, path or sha256; None = the checkpoint's own")
    p.add_argument("--clip-skip", type=int)
    p.add_argument("--size", type=parse_size, metavar="WxH")
    p.add_argument("--prediction-type", help="prediction type the host will use (eps, v, x0, flow)")
    from iga_core.vocab import DIALECTS

    p.add_argument("--dialect", choices=DIALECTS,
                   help="read --sampler/--scheduler as this tool names and runs them, and give remedies in its "
                        "names (default: A1111/Forge); e.g. comfyui: its ddim and uni_pc run on the scheduler's "
                        "sigmas, A1111's Uniform is its normal")
    from iga_core.guard.modes import HOSTS

    p.add_argument("--host", choices=HOSTS,
                   help="judge as this WebUI runs the request (default: as A1111 / Forge run it): Forge Classic and "
                        "Forge Neo run UniPC on the schedule's sigmas, Neo runs LCM without A1111's 50-step table; "
                        "hard findings name that host's settings")
    p.add_argument("--denoise", type=_unit_float, metavar="STRENGTH", help="img2img denoising strength")
    p.add_argument("--control", action="append", type=parse_control, metavar="MODEL[,KEY=VALUE...]",
                   help="an enabled control unit (ControlNet, T2I-Adapter, IP-Adapter; the kind comes from the "
                   "names): MODEL[,preprocessor=P][,weight=W][,start=S][,end=E][,kind=K]; repeat per unit")
    p.add_argument("--override", action="append", default=[], metavar="RULE",
                   help="acknowledge a soft rule (e.g. IGA-S002); repeatable; hard rules cannot be overridden")
    p.add_argument("--mode", choices=MODES, default="standard", help="guard mode (default: standard)")
    p.add_argument("--preset", help="start from this preset (Native or one of the recipe's); flags override it")
    p.add_argument("--lora", action="append", default=[], metavar="FILE[:WEIGHT]",
                   help="an active LoRA with a recipe (its .safetensors or recipe .json), weight 1 by default; "
                        "the check runs on the composed recipe; repeatable")
    p.add_argument("--hires", type=parse_pass_fields, metavar="FIELDS",
                   help="a hires-fix pass: sampler=..,schedule=..,steps=N,cfg=X,denoise=S (what it leaves out it "
                        "takes from the first pass); judged with the first pass's recipe unless --hires-checkpoint")
    p.add_argument("--hires-checkpoint", metavar="FILE", help="the hires pass's own checkpoint (or recipe .json)")
    p.add_argument("--refiner", metavar="FILE",
                   help="a refiner checkpoint (or recipe .json): the first pass's request is judged against it too")
    p.add_argument("--verify", choices=("never", "first", "always"), default="never",
                   help="for a checkpoint: hash the weights to verify the recipe belongs to them")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON")
    p.set_defaults(func=cmd_check)


def load_recipe_file(path: Path) -> dict:
    from iga_core.recipe.files import read_json_file

    data = read_json_file(path)  # regular files only, size- and parse-bounded, typed errors
    if not isinstance(data, dict):
        raise RecipeFileInvalid(f"{path} holds JSON but not a recipe object", "a recipe is a JSON object")
    return data


def load_source(source: str, verify: str):
    """(parsed recipe, info about where it came from). A .json path is a recipe file; anything else a
    checkpoint. An invalid recipe raises RecipeInvalid with every problem."""
    from iga_core.recipe import Recipe

    path = Path(source)
    if path.suffix.lower() == ".json":
        return Recipe.from_dict(load_recipe_file(path)), {"kind": "file", "path": str(path)}
    from iga_core.checkpoint.safetensors_io import is_safetensors_path, open_for_read, read_header
    from iga_core.checkpoint.sources import find_recipe

    open_for_read(path).close()  # missing, a folder, a FIFO: say that, not "no recipe"
    # a damaged checkpoint is reported as damaged (its own hint), not as one to stamp (it cannot be stamped)
    header = read_header(path) if is_safetensors_path(path) else None
    found = find_recipe(path, verify=verify, header=header)
    info = {"kind": found.kind, "path": found.path, "hash_status": found.hash_status,
            "problems": list(found.problems)}
    if found.recipe is None:
        detail = f" ({'; '.join(found.problems)})" if found.problems else ""
        if found.document is not None:
            raise NoRecipe(f"{path}'s IGA recipe ({found.kind}) is not valid{detail}",
                           f"fix it (`iga validate {path}` lists each problem) and stamp it again, or pass a "
                           "recipe JSON file")  # fmt: skip
        if found.problems:
            raise NoRecipe(f"{path}'s IGA recipe cannot be read{detail}",
                           "stamp a valid recipe over it with `iga stamp`, remove it with `iga strip`, or pass a "
                           "recipe JSON file")  # fmt: skip
        raise NoRecipe(f"{path} has no IGA recipe (embedded, sidecar or in the registry)",
                       "stamp one with `iga stamp`, or pass a recipe JSON file")
    return found.recipe, info


#: --hires field -> GuardRequest field
HIRES_FIELDS = {"sampler": ("sampler", str), "schedule": ("schedule", str), "scheduler": ("schedule", str),
                "steps": ("steps", int), "cfg": ("cfg", float), "denoise": ("denoising_strength", float)}


def parse_pass_fields(text: str) -> dict:
    """"steps=8,denoise=0.5,sampler=Euler a" -> {"steps": 8, "denoising_strength": 0.5, "sampler": "Euler a"}."""
    out: dict = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in HIRES_FIELDS:
            raise argparse.ArgumentTypeError(f"expected KEY=VALUE with KEY one of {', '.join(HIRES_FIELDS)}, "
                                             f"got {item!r}")
        name, kind = HIRES_FIELDS[key.strip()]
        try:
            out[name] = kind(value.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key.strip()} must be {kind.__name__}, got {value.strip()!r}") from None
    return out


def parse_lora(text: str) -> tuple[Path, float]:
    """"FILE:0.8" -> (FILE, 0.8); "FILE" -> (FILE, 1.0). A path that exists as written is taken whole (a
    name may hold ':'); "C:\\x.json" is a drive, not a weight; "FILE:abc" is a weight that is no number."""
    path, sep, weight = text.rpartition(":")
    if not sep or not path or (len(path) == 1 and path.isalpha()) or Path(text).exists():
        return Path(text), 1.0
    try:
        value = float(weight)
    except ValueError:
        raise RequestFlagsInvalid(f"--lora {text}: the weight {weight!r} is not a number",
                                  "write the weight as a number after the last ':' (FILE:0.8), or leave it out "
                                  "for weight 1") from None  # fmt: skip
    if not math.isfinite(value):
        raise RequestFlagsInvalid(f"--lora {text}: the weight must be finite", "write it as FILE:0.8")
    return Path(path), value


def compose_loras(recipe, loras: list[str], verify: str):
    """The composition of the recipe with the --lora add-ons, or None without any. A LoRA's recipe is
    found as the WebUI finds it (a file without one takes no part; an invalid one is ignored, IGA-M010)."""
    if not loras:
        return None
    from iga_core.checkpoint.sources import find_recipe
    from iga_core.compose import CHECKPOINT_PART, Addon, compose
    from iga_core.recipe import Recipe, RecipeInvalid

    addons = []
    for text in loras:
        path, weight = parse_lora(text)
        name = path.name.split(".")[0]
        if path.suffix.lower() == ".json":
            document = load_recipe_file(path)
            try:
                addons.append(Addon(name, Recipe.from_dict(document), weight))
            except RecipeInvalid as exc:
                addons.append(Addon(name, None, weight, exc.problems[0].message))
            continue
        if not path.exists():
            raise IgaIOError(f"--lora {text}: no such file: {path}", "check the path")
        addon = Addon.from_source(name, find_recipe(path, verify=verify), weight)
        if addon is not None:
            addons.append(addon)
    return compose(recipe, addons, base_name=CHECKPOINT_PART)


def build_passes(args, governing, first) -> list:
    """--hires / --refiner as the judge's passes (the same derivation the API and Generate use)."""
    from iga_core.guard import Pass

    out = []
    if args.hires is not None or args.hires_checkpoint:
        recipe = load_source(args.hires_checkpoint, args.verify)[0] if args.hires_checkpoint else governing
        out.append(Pass.hires(recipe, first, **(args.hires or {})))
    if args.refiner:
        out.append(Pass.refiner(load_source(args.refiner, args.verify)[0], first))
    return out


def build_request(args, recipe):
    """(request, defaults taken from the recipe) for the flags. A value the guard cannot take at all (steps below 1, an unknown
    --preset) is the command line's fault: a usage error (exit 2), like a value argparse refuses."""
    from iga_core.guard.request import GuardRequestInvalid
    from iga_core.presets import PresetNotFound

    try:
        return _request_from_flags(args, recipe)
    except (GuardRequestInvalid, PresetNotFound) as exc:
        raise RequestFlagsInvalid(exc.message, exc.hint) from None


def _request_from_flags(args, recipe):
    """(request, {field: default} for what the flags left out and the check takes from the recipe)."""
    from iga_core.guard import GuardRequest
    from iga_core.presets import PARAM_KEYS, missing_defaults, resolve_preset

    values: dict = {}
    if args.preset:
        resolved = resolve_preset(recipe, args.preset)
        values.update({k: v for k, v in resolved.items() if k in PARAM_KEYS and v is not None})
    flags = {"sampler": args.sampler, "schedule": args.schedule, "steps": args.steps, "cfg": args.cfg,
             "distilled_cfg": args.distilled_cfg, "vae": args.vae, "clip_skip": args.clip_skip,
             "prediction_type": args.prediction_type, "denoising_strength": args.denoise,
             "dialect": getattr(args, "dialect", None), "host": getattr(args, "host", None)}
    if args.size:
        flags["width"], flags["height"] = args.size
    values.update({k: v for k, v in flags.items() if v is not None})
    if getattr(args, "control", None):
        values["control"] = args.control
    defaults = missing_defaults(recipe, values)
    return GuardRequest(**values, **defaults), defaults


def build_policy(args):
    from iga_core.guard import RULES, GuardPolicy

    unknown = [r for r in args.override if r.upper() not in RULES]
    if unknown:
        raise UnknownRuleId(f"--override names unknown rule id(s): {', '.join(unknown)}",
                            f"rule ids are: {', '.join(RULES)}")
    return GuardPolicy(mode=args.mode, overrides=frozenset(r.upper() for r in args.override))


def host_notes(request) -> list[str]:
    """What a check that names no host cannot know (`guard.unknown_host_note`)."""
    from iga_core.guard.context import unknown_host_note

    note = unknown_host_note(request, "pass --host {key} to judge {title}'s")
    return [note] if note else []


def cmd_check(args) -> int:
    from iga_core.guard import judge

    recipe, info = load_source(args.source, args.verify)
    composition = compose_loras(recipe, args.lora, args.verify)
    governing = composition.recipe if composition is not None else recipe
    request, defaults = build_request(args, governing)
    policy = build_policy(args)
    passes = build_passes(args, governing, request)
    verdict = judge(composition if composition is not None else recipe, request, policy, passes)
    composed = list(composition.findings) if composition is not None else []
    title = governing.model_id
    lines = [f"recipe: {title!r} ({info['kind']}{', ' + info['hash_status'] if 'hash_status' in info else ''})"]
    lines += [f"  note: {p}" for p in info.get("problems", [])]
    if composition is not None:  # its findings (IGA-M…) are in the verdict below
        lines.append("  composed: " + " + ".join(f"{part.name} ({part.role})" for part in composition.parts))
    lines += [f"  {k} not given: judged at the recipe's default {v} (pass --{k} N to judge another)"
              for k, v in defaults.items()]
    lines += [f"  note: {note}" for note in host_notes(request)]
    lines.append(verdict.message())
    data = {"ok": verdict.allowed, "source": info, "model_id": title, "request": request.to_dict(),
            "policy": policy.to_dict(), "preset": args.preset, "passes": [p.name for p in passes],
            "defaults": defaults, "notes": host_notes(request), "verdict": verdict.to_dict(),
            "composition": [f.to_dict() for f in composed]}
    emit(args, "\n".join(lines), data)
    return ExitCode.OK if verdict.allowed else ExitCode.BLOCKED
