"""Mirror of modules/api/api.py (A v1.10.1 / F), the parts an always-on script meets.

- `init_default_script_args` (A 315-333, F 317-335): calls every script's `ui()` again inside a throwaway
  `gr.Blocks()` and takes each component's `.value` as the default arg.
- `init_script_args` (A 335-361, F 337-363): `alwayson_scripts` keys matched on `title().lower()`; unknown
  name -> HTTPException 422 "always on script ... not found"; a selectable script -> 422; args copied by
  position, values as raw JSON; missing args keep the UI defaults.
- `apply_infotext` (A 363-411): a request's `infotext` fills the fields the caller left unset, through the
  paste fields whose `api` names them -- here the ScriptSampler's three (A processing_scripts/sampler.py:34-37:
  Steps, `get_sampler_from_infotext`, `get_scheduler_from_infotext`), the ones whose names the host rewrites.
- `text2imgapi(txt2imgreq)` / `img2imgapi(img2imgreq)` (A 432-560): `apply_infotext` first (A 438, 506), the
  request model's defaults are the dataclass defaults plus `sampler_index="Euler"` (A api/models.py:104),
  names resolved by `get_sampler_and_scheduler`, `p.is_api = True` (A 469), `p.script_args` set as a tuple,
  then `process_images` inside `queue_lock`. The request is a dict standing for the pydantic model (its keys
  are the fields the caller set); `HostDouble` calls these with keyword arguments, as FastAPI calls an
  endpoint (`dependant.call(**values)`).
- Errors: A `api_middleware.handle_exception` (A 167-196) answers `{error, detail, body, errors}`, and so do
  Forge Classic (classic api.py:159-237) and reForge (reForge api.py:135-210); F's app handler (F
  webui.py:29-37, api_middleware commented out at F api.py:210) answers `{error, detail, body, message}`, and
  Neo the same (Neo webui.py:29-37, api.py:210); a FastAPI HTTPException then gets FastAPI's own `{detail}`
  body. All use `vars(e).get('status_code', 500)`.
- Sampler names: A, F, Neo and reForge resolve the request's names with `get_sampler_and_scheduler` first
  (A 441, F 454, Neo 446, reForge 441), which falls back to the first sampler silently; Forge Classic checks
  the name as sent and answers 404 "Sampler not found" for one it does not list (classic api.py:66-71,
  459-466) -- before any script hook runs -- and leaves the scheduler to `fix_p_invalid_sampler_and_scheduler`.
"""

from __future__ import annotations

import dataclasses

from fastapi import HTTPException
from modules import errors, infotext_utils, processing, scripts, sd_samplers, shared
from modules.shared import opts

API_EXTRA_DEFAULTS = {
    "sampler_index": "Euler", "script_name": None, "script_args": [], "send_images": True,
    "save_images": False, "alwayson_scripts": {}, "infotext": None, "force_task_id": None,
}


def script_name_to_index(name, scripts_list):
    try:
        return [script.title().lower() for script in scripts_list].index(name.lower())
    except Exception as e:
        raise HTTPException(status_code=422, detail=f"Script '{name}' not found") from e


def validate_sampler_name(name):  # A 43-48 (400); Classic 66-71 (404)
    if sd_samplers.all_samplers_map.get(name, None) is None:
        raise HTTPException(status_code=404 if shared.HOST == "forge-classic" else 400, detail="Sampler not found")
    return name


def error_response(e: Exception) -> tuple[int, dict]:
    status = int(vars(e).get("status_code", 500))
    if shared.FLAVOUR.api_errors == "app":
        if isinstance(e, HTTPException):
            return status, {"detail": e.detail}
        return status, {"error": type(e).__name__, "detail": vars(e).get("detail", ""),
                        "body": vars(e).get("body", ""), "message": str(e)}
    if not isinstance(e, HTTPException):
        errors.report(f"API error: {e}", exc_info=True)
    return status, {"error": type(e).__name__, "detail": vars(e).get("detail", ""),
                    "body": vars(e).get("body", ""), "errors": str(e)}


class Api:
    def __init__(self):
        import gradio as gr

        self._gr = gr
        self.default_script_arg_txt2img = self.init_default_script_args(scripts.scripts_txt2img)
        self.default_script_arg_img2img = self.init_default_script_args(scripts.scripts_img2img)

    def init_default_script_args(self, script_runner):
        last_arg_index = 1
        for script in script_runner.scripts:
            if last_arg_index < script.args_to:
                last_arg_index = script.args_to
        script_args = [None] * last_arg_index
        script_args[0] = 0
        with self._gr.Blocks():
            for script in script_runner.scripts:
                if script.ui(script.is_img2img):
                    ui_default_values = [elem.value for elem in script.ui(script.is_img2img)]
                    script_args[script.args_from:script.args_to] = ui_default_values
        return script_args

    def get_script(self, script_name, script_runner):
        if script_name is None or script_name == "":
            return None
        return script_runner.scripts[script_name_to_index(script_name, script_runner.scripts)]

    def get_selectable_script(self, script_name, script_runner):
        if script_name is None or script_name == "":
            return None, None
        script_idx = script_name_to_index(script_name, script_runner.selectable_scripts)
        return script_runner.selectable_scripts[script_idx], script_idx

    def init_script_args(self, request, default_script_args, selectable_scripts, selectable_idx, script_runner):
        script_args = default_script_args.copy()
        if selectable_scripts:
            script_args[selectable_scripts.args_from:selectable_scripts.args_to] = request["script_args"]
            script_args[0] = selectable_idx + 1
        for name, body in (request.get("alwayson_scripts") or {}).items():
            alwayson_script = self.get_script(name, script_runner)
            if alwayson_script is None:
                raise HTTPException(status_code=422, detail=f"always on script {name} not found")
            if alwayson_script.alwayson is False:
                raise HTTPException(status_code=422, detail="Cannot have a selectable script in the always on scripts params")
            if "args" in body:
                for idx in range(0, min(alwayson_script.args_to - alwayson_script.args_from, len(body["args"]))):
                    script_args[alwayson_script.args_from + idx] = body["args"][idx]
        return script_args

    def _run(self, body: dict, cls, runner, defaults, outdir) -> tuple[int, dict]:
        try:
            return 200, self._generate(body, cls, runner, defaults, outdir)
        except Exception as e:  # what api_middleware / the F app handler do
            return error_response(e)

    def apply_infotext(self, request: dict) -> dict:  # A 363-411, the sampler paste fields
        if not request.get("infotext"):
            return {}
        params = infotext_utils.parse_generation_parameters(request["infotext"])
        paste_fields = (("steps", lambda d: d.get("Steps"), int),
                        ("sampler_name", sd_samplers.get_sampler_from_infotext, str),
                        ("scheduler", sd_samplers.get_scheduler_from_infotext, str))
        for api_name, function, target_type in paste_fields:
            if api_name in request:  # A 398-399: a field the request set wins
                continue
            value = function(params)
            if value is not None:
                request[api_name] = target_type(value)
        return params

    def _generate(self, body, cls, runner, defaults, outdir):
        fields = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = set(body) - fields - set(API_EXTRA_DEFAULTS)
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown fields {sorted(unknown)}")
        body = dict(body)
        self.apply_infotext(body)
        req = {**API_EXTRA_DEFAULTS, **body}
        selectable, selectable_idx = self.get_selectable_script(req["script_name"], runner)
        args = {k: v for k, v in req.items() if k in fields}
        if shared.FLAVOUR.api_unlisted_sampler == "404":  # Classic api.py:459-466: the name as sent, checked
            args["sampler_name"] = validate_sampler_name(req.get("sampler_name") or req["sampler_index"])
        else:
            sampler, scheduler = sd_samplers.get_sampler_and_scheduler(req.get("sampler_name") or req["sampler_index"],
                                                                       req.get("scheduler"))
            args["sampler_name"] = validate_sampler_name(sampler)
            if not args.get("scheduler") and scheduler != "Automatic":
                args["scheduler"] = scheduler
        args["do_not_save_samples"] = not req["save_images"]
        args["do_not_save_grid"] = not req["save_images"]
        script_args = self.init_script_args(req, defaults, selectable, selectable_idx, runner)
        p = cls(sd_model=shared.sd_model, **args)
        p.is_api = True
        self.last_p = p  # test aid
        p.scripts = runner
        p.outpath_grids = opts.outdir_txt2img_grids
        p.outpath_samples = outdir
        shared.state.begin(job="scripts_txt2img")
        try:
            if selectable is not None:
                p.script_args = script_args
                processed = runner.run(p, *p.script_args)
            else:
                p.script_args = tuple(script_args)
                processed = processing.process_images(p)
        finally:
            shared.state.end()
        images = [im for im in processed.images] if req["send_images"] else []
        return {"images": images, "parameters": body, "info": processed.js()}

    def text2imgapi(self, txt2imgreq: dict) -> tuple[int, dict]:
        return self._run(txt2imgreq, processing.StableDiffusionProcessingTxt2Img, scripts.scripts_txt2img,
                         self.default_script_arg_txt2img, opts.outdir_txt2img_samples)

    def img2imgapi(self, img2imgreq: dict) -> tuple[int, dict]:
        return self._run(img2imgreq, processing.StableDiffusionProcessingImg2Img, scripts.scripts_img2img,
                         self.default_script_arg_img2img, opts.outdir_img2img_samples)
