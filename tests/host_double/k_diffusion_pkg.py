"""The real `k-diffusion` package (PyPI 0.1.1.post1), as the hosts import it: A1111 v1.10.1 clones
crowsonkb/k-diffusion at ab527a9 into repositories/ (A modules/launch_utils.py:351-357, 414) and imports
`k_diffusion.sampling` / `k_diffusion.external`; Forge ships its own copy (F k_diffusion/), whose
`external.ForgeScheduleLinker` the double mirrors in `sd_models.py`.

The package's `__init__` imports its training and evaluation stack (scikit-image, clean-fid, wandb, ...),
which the samplers never use, so the double loads the package folder without running `__init__`; the
modules the hosts call (`sampling`, `external`, `utils`) are the installed files, unchanged.
`k_diffusion.utils` imports torchvision for image helpers no sampler calls, and PyPI's torchvision wheels
need CUDA: when it is not installed, an empty stand-in module takes its name (the samplers never reach it).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types


def install() -> types.ModuleType:
    if "k_diffusion.sampling" in sys.modules:
        return sys.modules["k_diffusion"]
    spec = importlib.util.find_spec("k_diffusion")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the host double needs the k-diffusion package: pip install --no-deps k-diffusion")
    if importlib.util.find_spec("torchvision") is None:
        tv = types.ModuleType("torchvision")
        tv.__path__ = []
        transforms = types.ModuleType("torchvision.transforms")
        transforms.__path__ = []
        functional = types.ModuleType("torchvision.transforms.functional")
        tv.transforms, transforms.functional = transforms, functional
        sys.modules.update({"torchvision": tv, "torchvision.transforms": transforms,
                            "torchvision.transforms.functional": functional})
    pkg = types.ModuleType("k_diffusion")
    pkg.__path__ = list(spec.submodule_search_locations)
    pkg.__spec__ = importlib.machinery.ModuleSpec("k_diffusion", None, is_package=True)
    pkg.__spec__.submodule_search_locations = pkg.__path__
    sys.modules["k_diffusion"] = pkg
    for name in ("utils", "sampling", "external"):
        setattr(pkg, name, importlib.import_module(f"k_diffusion.{name}"))
    return pkg
