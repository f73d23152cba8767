"""LPIPS, only when the `lpips` package and its backbone weights are already on this machine.

LPIPS needs two sets of weights: the linear heads shipped inside the `lpips` package and the AlexNet
backbone that torchvision fetches into the torch hub cache. Loading either must never download
anything, so `lpips_status` looks for both files first and reports why LPIPS is skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iga_core.eval.errors import EvalUnavailable

ALEXNET_FILE = "alexnet-owt-7be5be79.pth"  # the file torchvision's alexnet(pretrained=True) loads


@dataclass(frozen=True)
class LpipsStatus:
    available: bool
    reason: str  # why it is skipped, or where the weights were found

    def to_dict(self) -> dict:
        return {"available": self.available, "reason": self.reason}


def _hub_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def lpips_status() -> LpipsStatus:
    for module in ("lpips", "torchvision"):
        if importlib.util.find_spec(module) is None:
            return LpipsStatus(False, f"the '{module}' package is not installed (pip install lpips torchvision)")
    spec = importlib.util.find_spec("lpips")
    heads = Path(spec.origin).parent / "weights" / "v0.1" / "alex.pth"
    if not heads.is_file():
        return LpipsStatus(False, f"LPIPS linear weights missing at {heads}")
    backbone = _hub_dir() / ALEXNET_FILE
    if not backbone.is_file():
        return LpipsStatus(False, f"AlexNet weights not in the local torch hub cache ({backbone}); not downloaded")
    return LpipsStatus(True, f"weights found at {heads} and {backbone}")


class LpipsScorer:
    """Callable (image_a, image_b) -> LPIPS distance; build it only when `lpips_status().available`."""

    def __init__(self) -> None:
        status = lpips_status()
        if not status.available:
            raise EvalUnavailable(f"LPIPS is not available: {status.reason}", "install lpips and its weights locally")
        import lpips
        import torch

        self._torch = torch
        self._net = lpips.LPIPS(net="alex", verbose=False).eval()

    def __call__(self, a, b) -> float:
        from iga_core.eval.metrics import as_float_image

        def tensor(img):
            x = np.clip(as_float_image(img), 0.0, 1.0) * 2.0 - 1.0  # LPIPS expects -1..1, NCHW
            return self._torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32))

        with self._torch.no_grad():
            return float(self._net(tensor(a), tensor(b)).item())
