"""`iga eval`: the consistency report on the analytic reference model.

    iga eval --demo [-o DIR] [--quick] [--only ID ...]    the demo experiments (data/demo.json)
    iga eval --config FILE [-o DIR]                       one protocol run you describe in a JSON file

A config file names a reference variant and a protocol (docs/evaluation.md, "Your own sweep"):
    {"variant": "distilled", "protocol": {"axis": "steps", "values": [2, 4, 8], "seeds": [0, 1, 2, 3],
     "base": {"prompt": "disk", "sampler": "Euler", "schedule": "SGM Uniform", "cfg": 1.0}},
     "recipe": "optional/path/to/recipe.json"}
The heavy stack (torch, diffusers, matplotlib) is imported only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from iga_core.errors import ExitCode, IgaInvalid, IgaIOError, IgaUsageError

DEFAULT_OUT = "eval-report"
CONFIG_KEYS = ("variant", "protocol", "recipe", "title")


class EvalNotInstalled(IgaIOError):
    """torch, diffusers or matplotlib is missing."""


class EvalConfigFileInvalid(IgaInvalid):
    """The --config file is not a usable run description."""


def register(sub) -> None:
    p = sub.add_parser("eval", help="consistency report on the analytic reference model (--demo)",
                       description="Run the IGA reproducibility protocol on the analytic reference model and "
                                   "write report.json, report.md and PNG plots.")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--demo", action="store_true", help="run the demo experiments")
    what.add_argument("--config", metavar="FILE", help="run the protocol described in a JSON file")
    p.add_argument("-o", "--out", metavar="DIR", default=DEFAULT_OUT, help=f"report folder (default: {DEFAULT_OUT})")
    p.add_argument("--quick", action="store_true", help="fewer seeds and values (CI-sized, under a minute)")
    p.add_argument("--only", nargs="+", metavar="ID", help="demo experiments to run (ids from the demo plan)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_run)


def _load_stack():
    try:
        from iga_core.eval import demo, protocol, report
    except ImportError as exc:
        raise EvalNotInstalled(f"the evaluation needs {exc.name or 'torch/diffusers/matplotlib'}, which is not installed",
                               "install the eval extra from your copy of this repository: pip install '.[eval]' "
                               "(torch, diffusers, matplotlib, scipy; the project is on no package index)") from None
    return demo, protocol, report


def _read_json(path: str, what: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise IgaIOError(f"cannot read {what} {path}: {exc.strerror}", "check the path") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EvalConfigFileInvalid(f"{what} {path} is not JSON: {exc.msg} at line {exc.lineno}",
                                    "fix the JSON syntax") from None
    if not isinstance(data, dict):
        raise EvalConfigFileInvalid(f"{what} {path} must hold a JSON object", "wrap it in { ... }")
    return data


def _run(args) -> int:
    from iga_core.cli import emit

    if args.only and not args.demo:
        raise IgaUsageError("--only selects demo experiments", "use it together with --demo")
    demo, protocol, report = _load_stack()
    if args.demo:
        paths, summary = demo.write_demo(args.out, quick=args.quick, only=args.only)
        lines = [f"wrote {paths['markdown']} and {paths['json']} ({len(paths['images'])} images)", ""]
        for s in summary:
            red = s["variance_reduction_pct"]
            red = "no spread figure (one value inside)" if red is None else (
                f"spread {red:.0f} % lower inside" if red >= 0 else f"spread {-red:.0f} % higher inside")
            rin, rout = s["residual_ratio_inside"], s["residual_ratio_outside"]
            lines.append(f"{s['title']}: {red}; residual ratio inside {rin[0]:.3g}–{rin[1]:.3g}, "
                         f"outside {rout[0]:.3g}–{rout[1]:.3g} (true draws: 1)")
        emit(args, "\n".join(lines), {"ok": True, **paths, "summary": summary})
        return ExitCode.OK
    return _run_config(args, demo, protocol, report)


def _run_config(args, demo, protocol, report) -> int:
    from iga_core.cli import emit
    from iga_core.eval.reference_model import GaussianMixtureImages
    from iga_core.eval.reference_sampling import ReferenceGenerator
    from iga_core.eval.reference_scores import MixtureScores

    cfg = _read_json(args.config, "config file")
    unknown = sorted(set(cfg) - set(CONFIG_KEYS))
    if unknown:
        raise EvalConfigFileInvalid(f"unknown keys in {args.config}: {', '.join(unknown)}",
                                    f"allowed: {', '.join(CONFIG_KEYS)}")
    variant = cfg.get("variant", "eps")
    recipe = cfg.get("recipe")
    if recipe is None:
        recipe = demo.reference_recipe(variant)
    elif isinstance(recipe, str):
        recipe = _read_json(recipe, "recipe")
    elif not isinstance(recipe, dict):
        raise EvalConfigFileInvalid("'recipe' must be a path or a recipe object", "give a file path or inline the recipe")
    config = protocol.ProtocolConfig.from_dict(cfg.get("protocol"))
    mixture = GaussianMixtureImages()
    scores = MixtureScores(mixture, config.base.get("prompt"))
    generator = ReferenceGenerator(variant, mixture)
    result = protocol.run_protocol(generator, config, recipe, image_scores={"residual_ratio": scores.residual_ratio},
                                   set_scores={"mmd": scores.mmd})
    result.extras = {"variant": variant, "schedulers": {str(v): generator.describe(config.params(v, 0)) for v in config.values},
                     "mmd_noise_floor": scores.noise_floor(len(config.seeds))}
    paths = report.write_report([result], args.out, title=cfg.get("title") or f"IGA consistency report: {config.name}",
                                extras={"config_file": cfg})
    h = result.headline
    human = f"wrote {paths['markdown']} and {paths['json']}; per-seed spread inside ÷ outside: " + (
        f"n/a ({h.get('reason')})" if h.get("variance_ratio") is None else
        f"{h['variance_ratio']:.3g}" + (f" (95 % CI {h['ci95'][0]:.3g}–{h['ci95'][1]:.3g})" if h.get("ci95") else ""))
    emit(args, human, {"ok": True, **paths, "headline": result.to_dict()["headline"]})
    return ExitCode.OK
