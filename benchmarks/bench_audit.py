"""Benchmark of the per-image audit work the WebUI does (a script, not a test).

    python benchmarks/bench_audit.py [-n 400] [--dir /tmp]

Interleaved rounds (every row once per round, rotating), medians, and ratios against anchors measured in
the same rounds:

- `build_record` (from a real guard verdict, with the host's executed schedule), `to_infotext_fields`, and
  `validate_record` of that record: the schema check a record built valid by construction no longer pays
  per image (it is for records read from untrusted images);
- `DecisionLog.append` (one entry, file opened / written / closed each time, as in the generation path);
- the post-save merge of the record into a 1024x1024 JPEG and WebP the way the host saved them (infotext
  in EXIF UserComment): `write_image_metadata` (EXIF block decoded and re-encoded, the rest of the file
  spliced through, atomic durable rewrite), its EXIF part alone (no write), against the host's own save of
  the same image (Pillow encode + piexif EXIF insert, A images.py:599-606, no fsync) and a plain durable
  rewrite of the same bytes (temp file + fsync + rename: what crash safety costs on its own).

Everything is written to a temp folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import piexif  # noqa: E402
import piexif.helper  # noqa: E402
from _rounds import rounds  # noqa: E402  (this folder: sys.path[0] of a script)
from _targets import check  # noqa: E402
from PIL import Image  # noqa: E402

from iga_core.audit import (  # noqa: E402
    build_record,
    image_meta,
    to_infotext_fields,
    validate_record,
    write_image_metadata,
)
from iga_core.checkpoint.atomic import write_bytes_atomic  # noqa: E402
from iga_core.decision_log import DecisionLog, entry_from_record  # noqa: E402
from iga_core.guard import ExecutedSchedule, GuardPolicy, GuardRequest, evaluate  # noqa: E402
from iga_core.recipe import Recipe  # noqa: E402

INFOTEXT = "a cat, best quality\nNegative prompt: blurry\nSteps: 4, Sampler: Euler, Schedule type: SGM Uniform, " \
           "CFG scale: 3, Seed: 1, Size: 1024x1024, Model hash: 0123456789, Model: lightning"



def table(title: str, spent: dict[str, list[float]], anchor: str) -> None:
    base = statistics.median(spent[anchor])
    print(f"\n{title}")
    print(f"{'what':<58} {'median ms':>10} {'x ' + anchor[:28]:>32}")
    for name, times in spent.items():
        med = statistics.median(times)
        print(f"{name:<58} {med * 1e3:10.3f} {med / base:32.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=400, help="rounds of the per-record rows (images: n / 20)")
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    recipe = Recipe.from_dict(json.loads((ROOT / "metadata_examples" / "sdxl-lightning-4step.iga.json").read_text()))
    executed = ExecutedSchedule("sigmas", (14.61, 3.17, 0.45, 0.03, 0.0), (999.0, 687.2, 145.9, 0.0))
    request = GuardRequest(sampler="Euler", schedule="SGM Uniform", steps=4, cfg=3.0, width=1024, height=1024,
                           executed=executed)  # fmt: skip
    policy = GuardPolicy(overrides=frozenset({"IGA-S002"}), override_reasons={"IGA-S002": "contrast"})
    verdict = evaluate(recipe, request, policy)
    host_run = {"passes": {"first": executed.to_dict()},
                "model": {"prediction_type": "eps", "zero_terminal_snr": False, "architecture": "sdxl"}}
    params = {k: v for k, v in request.to_dict().items() if k != "executed"}

    def build():
        return build_record(params={**params, "seed": 1}, recipe=recipe, verdict=verdict, preset="Lightning",
                            policy=policy, host={"name": "a1111", "version": "v1.10.1"}, host_run=host_run,
                            checkpoint={"name": "l.safetensors", "weights_sha256": "ab" * 32}, source="embedded")

    record = build()
    plain = json.loads(json.dumps(record))
    entry = entry_from_record(record, output="outputs/00001-1.png")
    folder = Path(tempfile.mkdtemp(prefix="iga-bench-", dir=args.dir))
    print(f"# {args.n} interleaved rounds (images {max(5, args.n // 20)}); {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")  # fmt: skip
    try:
        log = DecisionLog(folder / "decisions.jsonl", max_bytes=64 * 1024 * 1024)
        table("per record", rounds({
            "validate_record (anchor: the schema check no longer run)": lambda: validate_record(plain),
            "build_record": build,
            "to_infotext_fields": lambda: to_infotext_fields(record),
            "DecisionLog.append": lambda: log.append(entry),
        }, args.n), "validate_record (anchor: the schema check no longer run)")

        image = Image.effect_noise((1024, 1024), 64).convert("RGB")
        exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment:
                                     piexif.helper.UserComment.dump(INFOTEXT, encoding="unicode")}})
        text = image_meta.record_text(record)
        for ext, fmt, target in (("jpg", "JPEG", "jpeg-merge"), ("webp", "WEBP", "webp-merge")):
            host_file, ours, plain_copy = (folder / f"{n}.{ext}" for n in ("host", "ours", "copy"))
            kwargs = {"quality": 90} if fmt == "JPEG" else {"quality": 80, "method": 0}

            def host_save(path=host_file, fmt=fmt, kwargs=kwargs):
                # the host: Pillow encodes, then piexif puts the infotext's EXIF in (A images.py:599-606)
                image.save(path, format=fmt, **kwargs)
                piexif.insert(exif, str(path))

            host_save()
            saved = host_file.read_bytes()

            ours.write_bytes(saved)  # what the host left; merging again replaces the record (the same work)

            def merge(path=ours):
                write_image_metadata(path, record)

            merge_row, rewrite_row = "write_image_metadata (merge + durable rewrite)", "  a durable rewrite of the same bytes alone"
            spent = rounds({
                f"host's own save of the {fmt} (anchor)": host_save,
                merge_row: merge,
                "  its EXIF part alone (no write)": lambda fmt=fmt, saved=saved: image_meta._exif_pieces(saved, text,
                                                                                                         fmt),
                rewrite_row: lambda p=plain_copy, s=saved: write_bytes_atomic(p, s),
            }, max(5, args.n // 20))
            table(f"{fmt} {len(saved) / 1e6:.2f} MB, post-save merge", spent, f"host's own save of the {fmt} (anchor)")
            ratio = statistics.median(spent[merge_row]) / statistics.median(spent[rewrite_row])
            host_ratio = statistics.median(spent[merge_row]) / statistics.median(spent[f"host's own save of the {fmt} (anchor)"])
            verdict = check(target,
                            f"{ratio:.2f}x the durable rewrite ({host_ratio:.2f}x the host's own save)", ratio <= 2.0)
            print(f"merge: {ratio:.2f}x a durable rewrite of the same bytes, {verdict} (target <= 2x)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
