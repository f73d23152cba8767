"""Mirror of modules/infotext_utils.py (A1111 v1.10.1, tag v1.10.1 of the WebUI) and of the last-line
assembly in modules/processing.py `create_infotext` — the parts that decide whether an infotext value
survives the trip into an image and back.

- `re_param_code`, `re_param`, `re_imagesize`: A infotext_utils.py:16-18 (F 18-20, identical).
- `PasteField`: A infotext_utils.py:34-44.
- `quote`, `unquote`: A infotext_utils.py:56-70 (F identical).
- `parse_generation_parameters`: A infotext_utils.py:234-386. Mirrored: the split into lines and the
  >= 3 matches rule for the last line (254-257), the prompt / negative prompt loop (259-267), the
  key/value loop with unquote and `Size-1`/`Size-2` splitting, including its "print and skip" on an
  error such as an empty value (269-281), the plain missing-key defaults (300-379) and `skip_fields`
  (383-384). Left out (they need host state): style extraction (284-298), the old hires-fix size
  rewrite (342, `restore_old_hires_fix_params`), the emphasis check (372-376) and
  `infotext_versions.backcompat` (381).
- `params_line` / `create_infotext_text`: A processing.py:812 and 814-816.

No imports from `modules`, so the audit tests can use it without installing the double.
"""

from __future__ import annotations

import json
import re

re_param_code = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'  # A infotext_utils.py:16
re_param = re.compile(re_param_code)  # A 17
re_imagesize = re.compile(r"^(\d+)x(\d+)$")  # A 18


class PasteField(tuple):  # A 34-44
    def __new__(cls, component, target, *, api=None):
        return super().__new__(cls, (component, target))

    def __init__(self, component, target, *, api=None):
        super().__init__()

        self.api = api
        self.component = component
        self.label = target if isinstance(target, str) else None
        self.function = target if callable(target) else None


def quote(text):  # A 56-60
    if ',' not in str(text) and '\n' not in str(text) and ':' not in str(text):
        return text

    return json.dumps(text, ensure_ascii=False)


def unquote(text):  # A 63-70
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text

    try:
        return json.loads(text)
    except Exception:
        return text


def parse_generation_parameters(x: str, skip_fields: list[str] | None = None):  # A 234-386 (see above)
    if skip_fields is None:
        skip_fields = []  # A 245 reads shared.opts.infotext_skip_pasting; the double has no options here

    res = {}

    prompt = ""
    negative_prompt = ""

    done_with_prompt = False

    *lines, lastline = x.strip().split("\n")  # A 254-257
    if len(re_param.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ''

    for line in lines:  # A 259-267
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line

    for k, v in re_param.findall(lastline):  # A 269-281
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)

            m = re_imagesize.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            print(f"Error parsing \"{k}: {v}\"")

    res["Prompt"] = prompt  # A 300-301
    res["Negative prompt"] = negative_prompt

    if "Clip skip" not in res:  # A 304-305
        res["Clip skip"] = "1"

    hypernet = res.get("Hypernet")  # A 307-309
    if hypernet is not None:
        res["Prompt"] += f"""<hypernet:{hypernet}:{res.get("Hypernet strength", "1.0")}>"""

    if "Hires resize-1" not in res:  # A 311-313
        res["Hires resize-1"] = 0
        res["Hires resize-2"] = 0

    defaults = {  # A 315-367, the unconditional "if key not in res" defaults, in the host's order
        "Hires sampler": "Use same sampler",
        "Hires schedule type": "Use same scheduler",
        "Hires checkpoint": "Use same checkpoint",
        "Hires prompt": "",
        "Hires negative prompt": "",
        "Mask mode": "Inpaint masked",
        "Masked content": 'original',
        "Inpaint area": "Whole picture",
        "Masked area padding": 32,
        "RNG": "GPU",
        "Schedule type": "Automatic",
        "Schedule max sigma": 0,
        "Schedule min sigma": 0,
        "Schedule rho": 0,
        "VAE Encoder": "Full",
        "VAE Decoder": "Full",
        "FP8 weight": "Disable",
    }
    for key, value in defaults.items():
        if key not in res:
            res[key] = value
    if "Cache FP16 weight for LoRA" not in res and res["FP8 weight"] != "Disable":  # A 369-370
        res["Cache FP16 weight for LoRA"] = False
    if "Refiner switch by sampling steps" not in res:  # A 378-379
        res["Refiner switch by sampling steps"] = False

    for key in skip_fields:  # A 383-384
        res.pop(key, None)

    return res


def params_line(generation_params: dict) -> str:
    """A processing.py:812: flags (value == key) bare, None dropped, everything else through quote()."""
    return ", ".join([k if k == v else f'{k}: {quote(v)}' for k, v in generation_params.items() if v is not None])


def create_infotext_text(prompt: str, negative_prompt: str, generation_params: dict) -> str:
    """A processing.py:814-816: prompt, optional negative prompt line, params line; stripped."""
    negative_prompt_text = f"\nNegative prompt: {negative_prompt}" if negative_prompt else ""
    return f"{prompt}{negative_prompt_text}\n{params_line(generation_params)}".strip()
