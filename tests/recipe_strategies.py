"""Hypothesis strategies that build valid 1.0.0 recipes (shared by the recipe tests)."""

from __future__ import annotations

from hypothesis import strategies as st

SAMPLERS = ["Euler", "Euler a", "DPM++ 2M", "k_dpmpp_2m", "DDIM", "LCM", "Heun"]
SCHEDULES = ["Automatic", "Karras", "SGM Uniform", "sgm_uniform", "Simple", "Exponential"]

text = st.text(min_size=1, max_size=30)  # the default alphabet already leaves out lone surrogates
finite = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
# Numbers stay inside what JSON parsers agree on: integers within ±(2^53 - 1) (the validator refuses larger
# ones) and doubles below 2^53 (RFC 8785 writes a larger double without a fraction, which Python then
# reads back as an integer).
safe_float = st.floats(-(2.0**53), 2.0**53, allow_nan=False, exclude_min=True, exclude_max=True)
ext_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | safe_float | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
ext_keys = st.dictionaries(text.map(lambda s: "x-" + s), ext_value, max_size=2)


@st.composite
def ranges(draw, values, *, integer: bool) -> dict:
    a, b, c = sorted(draw(st.lists(values, min_size=3, max_size=3)))
    out: dict = {"default": b}
    if draw(st.booleans()):
        out["min"] = a
    if draw(st.booleans()):
        out["max"] = c
    return out


@st.composite
def grids(draw) -> tuple[dict, int]:
    """(grid, its step count)"""
    kind = draw(st.sampled_from(["sigmas", "timesteps", "rule"]))
    if kind == "rule":
        params = draw(st.fixed_dictionaries({}, optional={"rho": st.floats(0.05, 100), "shift": finite}))
        grid = {"kind": "rule", "rule": draw(st.sampled_from(["karras", "sgm_uniform", "exponential"]))}
        if params:
            grid["params"] = params
        return grid, draw(st.integers(1, 50))
    values = draw(st.lists(st.floats(0.001, 1000, allow_nan=False), min_size=2, max_size=12, unique=True))
    values = sorted(values, reverse=True)
    if kind == "sigmas":
        values.append(0.0)
        return {"kind": "sigmas", "values": values}, len(values) - 1
    ints = sorted({int(v) for v in values}, reverse=True)
    return {"kind": "timesteps", "values": ints}, len(ints)


@st.composite
def recipes(draw) -> dict:
    steps = draw(ranges(st.integers(1, 100), integer=True))
    cfg = draw(ranges(finite, integer=False))
    scheduler: dict = {"name": draw(st.sampled_from(SCHEDULES))}
    if draw(st.booleans()):
        grid, n = draw(grids())
    else:
        grid, n = None, 0
    if grid is not None and steps["default"] <= n:  # a valid recipe's default lies on its own grid
        scheduler["grid"] = grid
        scheduler["canonical_steps"] = n
        allowed = sorted(set(draw(st.lists(st.integers(1, n), min_size=1, max_size=4))) | {steps["default"]})
        if max(allowed) <= n:
            scheduler["subsample"] = {"allowed_steps": allowed}
        else:
            scheduler["subsample"] = {"rule": "any"}
    if draw(st.booleans()):
        scheduler["spacing"] = draw(st.sampled_from(["leading", "linspace", "trailing"]))
    if draw(st.booleans()):
        scheduler["zero_terminal_snr"] = draw(st.booleans())
    d: dict = {
        "iga_version": "1.0.0",
        "model_id": draw(text),
        "prediction_type": draw(st.sampled_from(["eps", "v", "x0", "flow"])),
        "sampler": {"name": draw(st.sampled_from(SAMPLERS))},
        "scheduler": scheduler,
        "steps": steps,
        "cfg": cfg,
    }
    if draw(st.booleans()):
        d["cfg"]["rescale"] = draw(st.floats(0, 1))
    if draw(st.booleans()):
        d["title"] = draw(text)
    if draw(st.booleans()):
        d["clip_skip"] = draw(st.integers(1, 12))
    if draw(st.booleans()):
        d["vae"] = {"id": draw(text), "embedded": draw(st.booleans())}
    if draw(st.booleans()):
        w, h = draw(st.integers(8, 128)) * 8, draw(st.integers(8, 128)) * 8
        d["resolution"] = {"preferred": [{"width": w, "height": h}], "max": {"width": 2048, "height": 2048}}
    if draw(st.booleans()):
        d["hashes"] = {"weights_sha256": draw(st.text("0123456789abcdef", min_size=64, max_size=64))}
    if draw(st.booleans()) and "subsample" not in scheduler:
        d["presets"] = [{"name": "P" + draw(text), "steps": steps["default"], "cfg": cfg["default"]}]
    d.update(draw(ext_keys))
    d["sampler"].update(draw(ext_keys))
    return d
