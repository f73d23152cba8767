"""Benchmark of the per-image audit work the WebUI does (a script, not a test).

    python benchmarks/bench_audit.py [--repeat 2000] [--dir /tmp]

Prints per-call medians for: `build_record` (from a real guard verdict), `to_infotext_fields`,
`DecisionLog.append` (one entry, file opened / written / closed each time, as in the generation path,
with and without rotation), and `write_image_metadata` on a 1024x1024 PNG and JPEG (the post-save merge),
next to the host's own PNG / JPEG save of the same image for scale. Everything is written to a temp folder
that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from iga_core.audit import build_record, to_infotext_fields, write_image_metadata  # noqa: E402
from iga_core.decision_log import DecisionLog, entry_from_record  # noqa: E402
from iga_core.guard import GuardPolicy, GuardRequest, evaluate  # noqa: E402
from iga_core.recipe import Recipe  # noqa: E402


def median_us(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2000)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    recipe = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text()))
    request = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=3.0, width=1024, height=1024)
    policy = GuardPolicy(overrides=frozenset({"IGA-S002"}), override_reasons={"IGA-S002": "contrast"})
    verdict = evaluate(recipe, request, policy)

    def build():
        return build_record(params={**request.to_dict(), "seed": 1}, recipe=recipe, verdict=verdict,
                            preset="Lightning", policy=policy, host={"name": "a1111", "version": "v1.10.1"},
                            checkpoint={"name": "l.safetensors", "weights_sha256": "ab" * 32}, source="embedded")

    record = build()
    entry = entry_from_record(record, output="outputs/00001-1.png")
    folder = Path(tempfile.mkdtemp(prefix="iga-bench-", dir=args.dir))
    rows = []
    try:
        rows.append(("build_record", median_us(build, args.repeat)))
        rows.append(("to_infotext_fields", median_us(lambda: to_infotext_fields(record), args.repeat)))
        log = DecisionLog(folder / "decisions.jsonl", max_bytes=64 * 1024 * 1024)
        rows.append(("DecisionLog.append", median_us(lambda: log.append(entry), args.repeat)))
        small = DecisionLog(folder / "rotating.jsonl", max_bytes=16 * 1024, backups=3)
        rows.append(("DecisionLog.append, rotating every ~10 entries", median_us(lambda: small.append(entry), args.repeat)))
        image = Image.effect_noise((1024, 1024), 64).convert("RGB")
        for ext in ("png", "jpg"):
            path = folder / f"img.{ext}"
            rows.append((f"host-style save of a 1024x1024 {ext.upper()}",
                         median_us(lambda p=path: image.save(p), max(5, args.repeat // 200))))
            rows.append((f"write_image_metadata on that {ext.upper()}",
                         median_us(lambda p=path: write_image_metadata(p, record), max(5, args.repeat // 100))))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  median")
    for name, us in rows:
        print(f"{name:<{width}}  {us:10.1f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
