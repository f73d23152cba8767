"""Mirror of modules/txt2img.py (`txt2img`, A 102-120; F txt2img.py) wrapped the way call_queue does it
(`wrap_gradio_call_no_job`, A call_queue.py:65-89; F renders `main_thread.last_exception` the same way,
F call_queue.py:77-88): an exception escaping `process_images` becomes
`<div class='error'>{ExcClass}: {message}</div>` in the html_log slot, with no images.

On reForge and Forge Classic (flavours.py `main_thread` "drops") the generation runs as a task of
`modules_forge.main_thread` (R txt2img.py:108-134, img2img.py:249; C txt2img.py:138-164), whose loop prints
the exception and returns None (main_thread.py here), and that None goes through the real
`wrap_gradio_call_no_job` (call_queue.py here, R call_queue.py:74). The gallery value of "no images" is `[]`
on every host here (the hosts' extra outputs put None there, R ui.py:429)."""

from __future__ import annotations

import html

from modules import errors, processing, scripts, shared
from modules.shared import opts


def _plaintext_to_html(text, classname=None):
    content = "<br>\n".join(html.escape(x) for x in text.split("\n"))
    return f"<p class='{classname}'>{content}</p>" if classname else f"<p>{content}</p>"


def _generate(p, runner, script_args):
    p.script_args = list(script_args)
    processed = runner.run(p, *p.script_args)
    if processed is None:
        processed = processing.process_images(p)
    return processed.images, processed.js(), _plaintext_to_html(processed.info), \
        _plaintext_to_html(processed.comments, classname="comments")


def ui_generate(p, script_args, *, img2img: bool = False):
    """What the Generate button does: returns (images, generation_info_js, html_info, html_log)."""
    runner = scripts.scripts_img2img if img2img else scripts.scripts_txt2img
    p.scripts = runner
    p.outpath_samples = opts.outdir_img2img_samples if img2img else opts.outdir_txt2img_samples
    p.outpath_grids = opts.outdir_txt2img_grids
    if shared.FLAVOUR.main_thread == "drops":
        from modules import call_queue
        from modules_forge import main_thread

        def txt2img():  # R txt2img.py:133-134 (img2img.py:248-249)
            return main_thread.run_and_wait_result(_generate, p, runner, script_args)

        return call_queue.wrap_gradio_call_no_job(txt2img, extra_outputs=[[], "", ""])()
    try:
        return _generate(p, runner, script_args)
    except Exception as e:
        errors.report("Error completing request", exc_info=True)
        return [], "", "", f"<div class='error'>{html.escape(f'{type(e).__name__}: {e}')}</div>"
