"""`iga eval`: the evidence on models trained here, their training, and protocol runs on the analytic model.

    iga eval --demo [-o DIR] [--quick]          the pre-registered experiment on the shipped trained models
                                                (docs/evaluation.md): report.json, report.md, PNGs
    iga eval train [-o DIR] [--quick]           retrain the models (data/trained/plan.json); default folder: a
                                                new one, never the shipped weights unless -o names them
    iga eval --config FILE [-o DIR]             one protocol run on the analytic reference model

A config file names a reference variant and a protocol (docs/evaluation.md, "Your own sweep"):
    {"variant": "distilled", "protocol": {"axis": "steps", "values": [2, 4, 8], "seeds": [0, 1, 2, 3],
     "base": {"prompt": "disk", "sampler": "Euler", "schedule": "SGM Uniform", "cfg": 1.0}},
     "recipe": "optional/path/to/recipe.json"}
The heavy stack (torch, diffusers, k-diffusion, matplotlib) is imported only when a command runs.
"""

from __future__ import annotations

import json
from pathlib import Path

from iga_core.errors import ExitCode, IgaInvalid, IgaIOError, IgaUsageError

DEFAULT_OUT = "eval-report"
DEFAULT_TRAIN_OUT = "eval-models"
CONFIG_KEYS = ("variant", "protocol", "recipe", "title")


class EvalNotInstalled(IgaIOError):
    """torch, diffusers or matplotlib is missing."""


class EvalConfigFileInvalid(IgaInvalid):
    """The --config file is not a usable run description."""


def register(sub) -> None:
    p = sub.add_parser("eval", help="the evidence on trained models (--demo), their training (train), protocol runs",
                       description="Run the pre-registered evaluation of IGA on models trained here (--demo), retrain "
                                   "those models (train), or run the protocol on the analytic reference model "
                                   "(--config); each writes report.json, report.md and PNGs.")
    p.add_argument("action", nargs="?", choices=["train"], help="train: retrain the evaluation models")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--demo", action="store_true", help="run the pre-registered experiment on the trained models")
    what.add_argument("--config", metavar="FILE", help="run the protocol described in a JSON file")
    p.add_argument("-o", "--out", metavar="DIR", default=None,
                   help=f"output folder (default: {DEFAULT_OUT}; for train: {DEFAULT_TRAIN_OUT})")
    p.add_argument("--quick", action="store_true", help="CI size: fewer draws, seeds and steps (not evidence)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="--demo: sample the three models in up to N processes (same numbers)")
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

    chosen = [x for x in (args.action == "train", args.demo, args.config is not None) if x]
    if len(chosen) != 1:
        raise IgaUsageError("say what to run: train, --demo or --config FILE (one of them)",
                            "e.g. `iga eval --demo --quick`")
    demo, protocol, report = _load_stack()
    if args.action == "train":
        from iga_core.eval import train

        out = Path(args.out or DEFAULT_TRAIN_OUT)
        info = train.train_all(out, quick=args.quick, log=(lambda _: None) if args.json else print)
        emit(args, f"wrote the models and {out / 'models.json'}", {"ok": True, **info})
        return ExitCode.OK
    if args.demo:
        from iga_core.eval import evidence, evidence_report

        result = evidence.run_evidence_parallel(quick=args.quick, jobs=args.jobs, progress=None if args.json else print)
        paths = evidence_report.write_evidence(result, args.out or DEFAULT_OUT)
        h = result["headline"]["H"]
        ci = h.get("ci95")
        human = (f"wrote {paths['markdown']} and {paths['json']} ({len(paths['images'])} images)\n"
                 f"H (Var log FD, IGA ÷ baseline) = {h['value']:.3g}"
                 + (f", 95 % CI {ci[0]:.3g}–{ci[1]:.3g}: {evidence_report.decision(ci)}" if ci else ""))
        emit(args, human, {"ok": True, **paths, "headline": evidence_report.to_json(result)["headline"]})
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
    paths = report.write_report([result], args.out or DEFAULT_OUT, title=cfg.get("title") or f"IGA consistency report: {config.name}",
                                extras={"config_file": cfg})
    h = result.headline
    human = f"wrote {paths['markdown']} and {paths['json']}; per-seed spread inside ÷ outside: " + (
        f"n/a ({h.get('reason')})" if h.get("variance_ratio") is None else
        f"{h['variance_ratio']:.3g}" + (f" (95 % CI {h['ci95'][0]:.3g}–{h['ci95'][1]:.3g})" if h.get("ci95") else ""))
    emit(args, human, {"ok": True, **paths, "headline": result.to_dict()["headline"]})
    return ExitCode.OK
