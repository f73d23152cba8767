"""`iga eval train`: train the evaluation models on the procedural digits, reproducibly, on CPU.

Four networks, all from `data/trained/plan.json` (seeds, sizes, step counts):

- **eps teacher**: a class-conditional diffusers `UNet2DModel` trained on every timestep 0..999 of SD's
  scaled-linear noise schedule, predicting eps, with label dropout (the null label 10) for CFG.
- **v teacher**: the eps teacher fine-tuned to predict v (as SD 2's 768-v model was fine-tuned from its
  eps base), same schedule and dropout.
- **student**: the eps teacher distilled onto the fixed grid 999/749/499/249. The teacher, guided at CFG 3,
  is integrated with Heun substeps from pure noise; its states at the four grid sigmas and its final x0
  are recorded, and the student learns, at each grid timestep only, the eps for which one Euler step lands
  on the teacher's next state. It never sees another timestep, nor the null label: what it does off its
  grid or under CFG is whatever the network learned, not an assumption.
- **classifier**: a small CNN on the same digits; its 16-d penultimate layer is the feature space of the
  Fréchet distance, its prediction the prompt-adherence score.

Weights are written as float16 safetensors (`data/trained/*.safetensors`), the diffusion models stamped
with their recipes by iga's own `stamp`. Training is seeded and runs with a fixed torch thread count, so
the same torch version on the same kind of CPU gives the same weights: compare `weights_sha256` in a retrained
folder's `models.json` with the shipped one.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import torch

from iga_core.eval import glyphs

DATA = Path(__file__).with_name("data") / "trained"
PLAN_FILE = DATA / "plan.json"
MODELS_FILE = DATA / "models.json"
DIFFUSION_MODELS = ("eps", "v", "student")
FILES = {"eps": "iga-eval-eps.safetensors", "v": "iga-eval-v.safetensors", "student": "iga-eval-student.safetensors",
         "classifier": "iga-eval-classifier.safetensors"}
RECIPES = {"eps": "iga-eval-eps.iga.json", "v": "iga-eval-v.iga.json", "student": "iga-eval-student.iga.json"}

Log = Callable[[str], None]


@cache
def plan() -> dict:
    return json.loads(PLAN_FILE.read_text(encoding="utf-8"))


def alphas_cumprod(schedule: dict | None = None) -> torch.Tensor:
    """alphabar_t of the scaled-linear schedule, as diffusers and the WebUI's ldm code compute it."""
    s = schedule or plan()["noise_schedule"]
    betas = torch.linspace(s["beta_start"] ** 0.5, s["beta_end"] ** 0.5, s["num_train_timesteps"],
                           dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def sigmas_of(acp: torch.Tensor) -> torch.Tensor:
    return ((1 - acp) / acp) ** 0.5


def build_unet():
    from diffusers import UNet2DModel

    cfg = dict(plan()["unet"])
    for k in ("block_out_channels", "down_block_types", "up_block_types"):
        cfg[k] = tuple(cfg[k])
    return UNet2DModel(**cfg)


class Classifier(torch.nn.Module):
    """3x16x16 in [-1, 1] -> (16-d features, 10 logits)."""

    def __init__(self, feature_dim: int = 16, classes: int = 10) -> None:
        super().__init__()
        c = torch.nn
        self.body = c.Sequential(
            c.Conv2d(3, 32, 3, padding=1), c.GELU(), c.Conv2d(32, 64, 3, stride=2, padding=1), c.GELU(),
            c.Conv2d(64, 64, 3, stride=2, padding=1), c.GELU(), c.AdaptiveAvgPool2d(1), c.Flatten(),
            c.Linear(64, feature_dim))
        self.head = c.Sequential(c.GELU(), c.Linear(feature_dim, classes))

    def forward(self, x):
        f = self.body(x)
        return f, self.head(f)


# --- training loops -----------------------------------------------------------------------------------


def _lr(step: int, total: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


class Ema:
    def __init__(self, model, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def update(self, model) -> None:
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if v.dtype.is_floating_point:
                    self.shadow[k].mul_(self.decay).add_(v.detach(), alpha=1 - self.decay)
                else:
                    self.shadow[k].copy_(v)


def train_teacher(unet, images: torch.Tensor, labels: torch.Tensor, cfg: dict, steps: int, log: Log) -> dict:
    """Denoising score matching on every timestep; `cfg["prediction_type"]` eps or v. Returns EMA weights."""
    g = torch.Generator().manual_seed(cfg["seed"])
    acp = alphas_cumprod().to(torch.float32)
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg["lr"], weight_decay=0.0)
    ema = Ema(unet, cfg["ema"])
    null = plan()["null_label"]
    unet.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, cfg["lr"], cfg["warmup"])
        idx = torch.randint(0, len(images), (cfg["batch"],), generator=g)
        x0, y = images[idx], labels[idx].clone()
        y[torch.rand(len(y), generator=g) < cfg["label_dropout"]] = null
        t = torch.randint(0, len(acp), (len(x0),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        a, b = acp[t].sqrt()[:, None, None, None], (1 - acp[t]).sqrt()[:, None, None, None]
        xt = a * x0 + b * noise
        target = noise if cfg["prediction_type"] == "eps" else a * noise - b * x0
        loss = torch.nn.functional.mse_loss(unet(xt, t, class_labels=y).sample, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(unet)
        if step % 250 == 0 or step == steps - 1:
            log(f"  step {step + 1}/{steps} loss {loss.item():.4f}")
    return ema.shadow


def denoiser(unet, prediction_type: str):
    """D(x, sigma, labels, cfg): the x0 estimate of a VP network in k-diffusion's VE parametrisation, as
    the WebUI's CompVisDenoiser / CompVisVDenoiser wrap a model (k_diffusion/external.py), with CFG
    combined on the denoised output as the WebUI's CFGDenoiser does."""
    acp = alphas_cumprod()
    log_sigmas = sigmas_of(acp).log()
    null = plan()["null_label"]

    def t_of(sigma: torch.Tensor) -> torch.Tensor:  # k_diffusion DiscreteSchedule.sigma_to_t, interpolated
        ls = sigma.log()
        dists = ls - log_sigmas[:, None]
        low = dists.ge(0).cumsum(dim=0).argmax(dim=0).clamp(max=len(log_sigmas) - 2)
        lo, hi = log_sigmas[low], log_sigmas[low + 1]
        w = ((lo - ls) / (lo - hi)).clamp(0, 1)
        return (1 - w) * low + w * (low + 1)

    def d(x: torch.Tensor, sigma: torch.Tensor, labels: torch.Tensor, cfg: float) -> torch.Tensor:
        sigma = sigma.to(torch.float64).expand(len(x))
        c_in = (1.0 / (sigma**2 + 1) ** 0.5)[:, None, None, None]
        t = t_of(sigma)
        if cfg == 1.0:
            xs, ts, ys = x, t, labels
        else:
            xs, ts, ys = torch.cat([x, x]), torch.cat([t, t]), torch.cat([labels, torch.full_like(labels, null)])
        cin = torch.cat([c_in, c_in]) if cfg != 1.0 else c_in
        out = unet((xs * cin).float(), ts.float(), class_labels=ys).sample.to(torch.float64)
        sg = torch.cat([sigma, sigma]) if cfg != 1.0 else sigma
        sg4 = sg[:, None, None, None]
        if prediction_type == "eps":
            den = xs - out * sg4
        else:  # v: CompVisVDenoiser, c_skip = 1/(s^2+1), c_out = -s/sqrt(s^2+1)
            den = xs / (sg4**2 + 1) - out * sg4 / (sg4**2 + 1) ** 0.5
        if cfg == 1.0:
            return den
        cond, uncond = den.chunk(2)
        return uncond + (cond - uncond) * cfg

    return d


def teacher_trajectories(unet, n: int, cfg_scale: float, grid: list[int], seed: int, log: Log,
                         substeps: int = 6, batch: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """(states n x (len(grid)+1) x 3 x 16 x 16 in VE space, labels n): the guided teacher ODE from noise at
    sigma(grid[0]), recorded at every grid sigma and at the end (x0)."""
    acp = alphas_cumprod()
    sig = sigmas_of(acp)
    grid_sigmas = [float(sig[t]) for t in grid]
    d = denoiser(unet, "eps")
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    states = torch.empty((n, len(grid) + 1, 3, 16, 16), dtype=torch.float64)
    unet.eval()
    with torch.no_grad():
        for start in range(0, n, batch):
            y = labels[start:start + batch]
            x = torch.randn((len(y), 3, 16, 16), generator=g, dtype=torch.float64) * grid_sigmas[0]
            for i, s0 in enumerate(grid_sigmas):
                states[start:start + len(y), i] = x
                s1 = grid_sigmas[i + 1] if i + 1 < len(grid_sigmas) else float(sig[0])
                ss = np.exp(np.linspace(math.log(s0), math.log(s1), substeps + 1))
                for a, b in itertools.pairwise(ss):
                    da = (x - d(x, torch.tensor(a), y, cfg_scale)) / a
                    xe = x + (b - a) * da
                    db = (xe - d(xe, torch.tensor(b), y, cfg_scale)) / b
                    x = x + (b - a) * (da + db) / 2
            states[start:start + len(y), -1] = d(x, torch.tensor(float(sig[0])), y, cfg_scale)
            log(f"  trajectories {min(start + batch, n)}/{n}")
    return states, labels


def train_student(unet, states: torch.Tensor, labels: torch.Tensor, grid: list[int], cfg: dict, steps: int,
                  log: Log) -> dict:
    acp = alphas_cumprod()
    sig = sigmas_of(acp)
    s_grid = torch.tensor([float(sig[t]) for t in grid] + [0.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(cfg["seed"])
    opt = torch.optim.AdamW(unet.parameters(), lr=cfg["lr"], weight_decay=0.0)
    ema = Ema(unet, cfg["ema"])
    unet.train()
    k = len(grid)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, cfg["lr"], cfg["warmup"])
        idx = torch.randint(0, len(states), (cfg["batch"],), generator=g)
        i = torch.randint(0, k, (cfg["batch"],), generator=g)
        x, x_next = states[idx, i], states[idx, i + 1]
        s0, s1 = s_grid[i][:, None, None, None], s_grid[i + 1][:, None, None, None]
        target = (x_next - x) / (s1 - s0)  # one Euler step x + (s1 - s0) * eps lands on the teacher
        t = torch.tensor(grid)[i]
        pred = unet((x / (s0**2 + 1) ** 0.5).float(), t, class_labels=labels[idx]).sample
        loss = torch.nn.functional.mse_loss(pred, target.float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(unet)
        if step % 250 == 0 or step == steps - 1:
            log(f"  step {step + 1}/{steps} loss {loss.item():.4f}")
    return ema.shadow


def train_classifier(images, labels, holdout, holdout_labels, cfg: dict, steps: int, log: Log):
    torch.manual_seed(cfg["seed"])
    g = torch.Generator().manual_seed(cfg["seed"])
    net = Classifier(cfg["feature_dim"])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"])
    net.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr(step, steps, cfg["lr"], 20)
        idx = torch.randint(0, len(images), (cfg["batch"],), generator=g)
        x = images[idx] + torch.randn(images[idx].shape, generator=g) * torch.rand((len(idx), 1, 1, 1), generator=g) * 0.2
        loss = torch.nn.functional.cross_entropy(net(x)[1], labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        acc = float((net(holdout)[1].argmax(1) == holdout_labels).float().mean())
    log(f"  classifier held-out accuracy {acc:.4f}")
    return net.state_dict(), acc


# --- files ---------------------------------------------------------------------------------------------


def _half(state: dict) -> dict:
    return {k: (v.detach().to(torch.float16) if v.dtype.is_floating_point else v.detach()).contiguous()
            for k, v in state.items()}


def save_weights(state: dict, path: Path, about: str) -> None:
    from safetensors.torch import save

    from iga_core.checkpoint.atomic import write_atomic

    blob = save(_half(state), metadata={"about": about})
    write_atomic(path, lambda fh: fh.write(blob), parents=True)


def load_unet(name: str, folder: Path = DATA):
    from safetensors.torch import load_file

    unet = build_unet()
    state = {k: v.to(torch.float32) if v.dtype.is_floating_point else v
             for k, v in load_file(str(folder / FILES[name])).items()}
    unet.load_state_dict(state)
    return unet.eval()


def load_classifier(folder: Path = DATA) -> Classifier:
    from safetensors.torch import load_file

    net = Classifier(plan()["classifier"]["feature_dim"])
    net.load_state_dict({k: v.to(torch.float32) for k, v in load_file(str(folder / FILES["classifier"])).items()})
    return net.eval()


STAGES = ("eps", "v", "student", "classifier")


def _rounded(state: dict) -> dict:
    """The weights as shipped (float16) back in float32: what later stages start from, so a stage run on
    its own from the shipped eps teacher gives the same weights as a run of every stage."""
    return {k: (v.to(torch.float16).to(torch.float32) if v.dtype.is_floating_point else v) for k, v in state.items()}


def train_all(out: Path = DATA, *, quick: bool = False, log: Log = print, stamp: bool = True,
              stages: tuple[str, ...] = STAGES) -> dict:
    """Train the models of `stages` into `out` (v and student start from the eps teacher in `out` when it is
    not trained in the same call) and write models.json there when every model is present."""
    p = plan()
    torch.set_num_threads(p["torch_threads"])
    torch.use_deterministic_algorithms(True)
    q = p["quick"] if quick else None
    t_cpu, t_wall = time.process_time(), time.perf_counter()
    out = Path(out)
    old = json.loads((out / "models.json").read_text(encoding="utf-8")) if (out / "models.json").is_file() else {}
    timing, facts = dict(old.get("timing", {})), dict(old.get("facts", {}))

    def lap(name: str) -> None:
        timing[name] = {"cpu_s": round(time.process_time() - t_cpu, 1), "wall_s": round(time.perf_counter() - t_wall, 1)}

    x_train, y_train = glyphs.named_set("train", q["train_images"] if q else None)
    images, labels = torch.from_numpy(glyphs.to_model(x_train)), torch.from_numpy(y_train)
    eps_state = None

    if "eps" in stages:
        log("eps teacher")
        torch.manual_seed(p["eps_teacher"]["seed"])
        unet = build_unet()
        state = train_teacher(unet, images, labels, p["eps_teacher"], q["eps_teacher"] if q else p["eps_teacher"]["steps"], log)
        save_weights(state, out / FILES["eps"], "iga evaluation eps teacher (docs/evaluation.md)")
        eps_state = _rounded(state)
        lap("eps_teacher")
    if eps_state is None and ({"v", "student"} & set(stages)):
        eps_state = load_unet("eps", out).state_dict()

    if "v" in stages:
        log("v teacher (fine-tuned from the eps teacher)")
        torch.manual_seed(p["v_teacher"]["seed"])
        unet = build_unet()
        unet.load_state_dict(eps_state)
        v_state = train_teacher(unet, images, labels, p["v_teacher"], q["v_teacher"] if q else p["v_teacher"]["steps"], log)
        save_weights(v_state, out / FILES["v"], "iga evaluation v teacher (docs/evaluation.md)")
        lap("v_teacher")

    if "student" in stages:
        log("student (distilled onto the grid)")
        sc = p["student"]
        teacher = build_unet()
        teacher.load_state_dict(eps_state)
        states, traj_labels = teacher_trajectories(teacher, q["trajectories"] if q else sc["trajectories"],
                                                   sc["teacher_cfg"], sc["grid"], sc["seed"], log)
        lap("student_trajectories")
        torch.manual_seed(sc["seed"])
        unet = build_unet()
        unet.load_state_dict(eps_state)
        st_state = train_student(unet, states, traj_labels, sc["grid"], sc, q["student"] if q else sc["steps"], log)
        save_weights(st_state, out / FILES["student"], "iga evaluation student, distilled onto 999/749/499/249")
        lap("student")

    if "classifier" in stages:
        log("classifier")
        x_hold, y_hold = glyphs.named_set("classifier_holdout", 256 if q else None)
        cl_state, acc = train_classifier(images, labels, torch.from_numpy(glyphs.to_model(x_hold)),
                                         torch.from_numpy(y_hold), p["classifier"],
                                         q["classifier"] if q else p["classifier"]["steps"], log)
        save_weights(cl_state, out / FILES["classifier"], "iga evaluation feature classifier")
        lap("classifier")
        facts["classifier_holdout_accuracy"] = round(acc, 4)

    info = {"stages_run": list(stages), "timing": timing, "facts": facts}
    if not all((out / f).is_file() for f in FILES.values()):
        return info
    if stamp:
        stamp_models(out)
    from iga_core.checkpoint import hashing

    digests = {name: hashing.weights_sha256(out / f) for name, f in FILES.items()}
    from iga_core.checkpoint.stamp import read_embedded

    recipe_digests = {m: read_embedded(out / FILES[m])["hashes"]["metadata_sha256"] for m in DIFFUSION_MODELS}
    info = {"about": "The shipped evaluation models: what trained them (plan.json), their tensor digests, the "
                     "classifier's held-out accuracy, and what training cost here (timing: not reproducible).",
            "quick": quick, "torch": torch.__version__, "files": FILES, "weights_sha256": digests,
            "recipe_metadata_sha256": recipe_digests, "recipes": RECIPES, "facts": facts,
            "timing": timing}
    from iga_core.checkpoint.atomic import write_text_atomic

    write_text_atomic(out / "models.json", json.dumps(info, indent=1, sort_keys=True) + "\n")
    return info


def stamp_models(folder: Path) -> None:
    """Stamp each diffusion model with its recipe (the frozen files in data/trained) via iga's own stamp."""
    from iga_core.checkpoint.stamp import stamp

    for name in DIFFUSION_MODELS:
        recipe = json.loads((DATA / RECIPES[name]).read_text(encoding="utf-8"))
        stamp(folder / FILES[name], recipe)
