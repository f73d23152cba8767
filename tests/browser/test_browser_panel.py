"""The standalone app in a real browser (Debian chromium driven by Playwright): presets change the values,
the Advanced gate locks and unlocks the raw controls, the live verdict turns red on a forbidden sampler, and a
recipe full of markup executes nothing, and the Recipes tab stamps a file after its confirmation. Saves a
screenshot of the panel to test-artifacts/panel.png (and of the blocked state to panel-blocked.png).
The app runs under this interpreter (gradio 4.40); IGA_UI_SERVER_PYTHON=<python> runs it under another one,
e.g. the A1111-pinned gradio 3.41 venv (the browser side needs only Playwright)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (.ci/run installs it)", allow_module_level=True)

from tests.browser.ui_models import HOSTILE, make_loras, make_models  # noqa: E402
from tests.factories import make_checkpoint  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
START_TIMEOUT = 120  # seconds: importing gradio on a 2-core runner is slow
RED = "rgb(221, 51, 51)"  # .iga-verdict-blocked border colour in style.css
MODEL_IDS = {"lightning.safetensors": "test-lightning", "hostile.safetensors": HOSTILE}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    models = make_models(tmp / "models")
    make_checkpoint(models / "spare.safetensors", seed=9)  # stamped by the Recipes tab test
    make_loras(tmp / "Lora")  # found beside the models folder, as in A1111's models/ layout
    from iga_core.decision_log import DecisionLog

    DecisionLog(tmp / "data" / "decisions.jsonl").append(  # the app reads $IGA_DATA_DIR/decisions.jsonl
        {"kind": "block", "time": "2026-11-26T10:00:00Z", "mode": "standard", "outcome": "blocked",
         "checkpoint": {"name": HOSTILE}, "findings": [{"rule_id": "IGA-H001"}]})
    port = _free_port()
    env = dict(os.environ, IGA_DATA_DIR=str(tmp / "data"), IGA_CACHE_DIR=str(tmp / "cache"),
               IGA_REGISTRY=str(tmp / "registry"),
               GRADIO_ANALYTICS_ENABLED="False", PYTHONPATH=str(ROOT))
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 (closed below, after the server)
    # IGA_UI_SERVER_PYTHON runs the app under another interpreter, e.g. the A1111-pinned gradio 3.41 venv
    python = os.environ.get("IGA_UI_SERVER_PYTHON") or sys.executable
    server = subprocess.Popen([python, "-m", "iga_core", "ui", "--models", str(models), "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if server.poll() is not None:
                pytest.fail("the app exited:\n" + (tmp / "server.log").read_text(errors="replace"))
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the app did not start:\n" + (tmp / "server.log").read_text(errors="replace"))
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A loaded app page plus what it reported: JS exceptions, console errors, dialogs."""

    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1300, "height": 1000})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        self.page.on("console", self._console)
        self.page.on("dialog", self._dialog)
        self.page.goto(url)
        self.wait_state("ok")  # the page-load event applied the first checkpoint's recipe

    def _console(self, message) -> None:
        # the offline runner cannot fetch gradio's web fonts; anything else is a real error
        if message.type == "error" and "Failed to load resource" not in message.text \
                and "fonts.googleapis" not in message.text:
            self.errors.append(f"console: {message.text}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def wait_state(self, state: str) -> None:
        self.page.wait_for_selector(f'#iga-txt2img-verdict [data-iga-state="{state}"]', timeout=20000)

    def number(self, control: str) -> str:
        return self.page.input_value(f"#iga-app-{control} input[type=number]")

    def wait_number(self, control: str, value: str) -> None:
        self.page.wait_for_function(
            "([sel, v]) => { const e = document.querySelector(sel); return e && e.value === v; }",
            arg=[f"#iga-app-{control} input[type=number]", value], timeout=20000)

    def choose(self, dropdown_id: str, option: str) -> None:
        """Pick a dropdown option the way gradio 4 listens for it: mousedown on the input, then on the item
        (seen in the running hosts); a long list may place the item outside the viewport, where a click would wait."""
        self.page.click(f"#{dropdown_id} input")
        item = self.page.locator(f'ul.options li[aria-label="{option}"]')
        item.wait_for(state="attached", timeout=20000)
        item.dispatch_event("mousedown")
        self.page.wait_for_function(
            "([sel, v]) => document.querySelector(sel).value === v",
            arg=[f"#{dropdown_id} input", option], timeout=20000)

    def select_checkpoint(self, name: str) -> None:
        """Select `name`, always firing a checkpoint change (via another file when it is already selected),
        and wait until the panel has answered it (its status names the file's recipe, or says there is none)."""
        if self.page.input_value("#iga-app-checkpoint input") == name:
            other = "plain.safetensors" if name != "plain.safetensors" else "lightning.safetensors"
            self.select_checkpoint(other)
        self.choose("iga-app-checkpoint", name)
        expected = MODEL_IDS.get(name, "No recipe")
        self.page.locator("#iga-txt2img-status").get_by_text(expected, exact=True).wait_for(timeout=20000)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def page(browser, app_url):
    """One page for the module (a page load costs seconds); each test starts by selecting its checkpoint."""
    p = Page(browser, app_url)
    yield p
    p.close()


def test_presets_change_the_values(page):
    page.select_checkpoint("lightning.safetensors")
    page.wait_number("steps", "4")  # Native
    assert page.number("cfg") == "1"
    page.wait_state("ok")
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.locator("#iga-txt2img-panel").screenshot(path=str(ARTIFACTS / "panel.png"))
    page.page.click('#iga-txt2img-preset label:has-text("Quality")')
    page.wait_number("steps", "8")
    assert (page.number("cfg"), page.number("width"), page.number("height")) == ("1.5", "896", "1152")
    assert page.page.input_value("#iga-app-sampler input") == "Euler a"
    page.page.click('#iga-txt2img-preset label:has-text("Fast")')
    page.wait_number("steps", "2")
    page.wait_state("ok")
    assert page.errors == []


def test_advanced_gate_locks_and_unlocks_the_knobs(page):
    page.select_checkpoint("lightning.safetensors")
    page.wait_number("steps", "4")
    steps = "#iga-app-steps input[type=number]"
    assert page.page.is_disabled(steps) and page.page.is_disabled("#iga-app-sampler input")
    assert not page.page.is_visible("#iga-txt2img-overrides")
    page.page.check("#iga-txt2img-advanced input[type=checkbox]")
    page.page.wait_for_function(f"() => !document.querySelector('{steps}').disabled", timeout=20000)
    assert page.page.is_visible("#iga-txt2img-overrides")
    page.page.uncheck("#iga-txt2img-advanced input[type=checkbox]")
    page.page.wait_for_function(f"() => document.querySelector('{steps}').disabled", timeout=20000)
    # a checkpoint without a recipe hides and locks nothing
    page.select_checkpoint("plain.safetensors")
    page.wait_state("none")
    page.page.wait_for_function(f"() => !document.querySelector('{steps}').disabled", timeout=20000)
    assert page.errors == []


def test_forbidden_sampler_turns_the_verdict_red(page):
    page.select_checkpoint("lightning.safetensors")
    page.wait_number("steps", "4")
    # the checkpoint's events end by locking the knobs; tick the gate after that, as a user who sees them
    # locked does (on a loaded machine the last of those events can land after an early tick)
    page.page.wait_for_function("() => document.querySelector('#iga-app-sampler input').disabled", timeout=20000)
    page.page.check("#iga-txt2img-advanced input[type=checkbox]")
    page.page.wait_for_function("() => !document.querySelector('#iga-app-sampler input').disabled", timeout=20000)
    page.choose("iga-app-sampler", "DDIM")
    page.wait_state("blocked")
    box = page.page.locator('#iga-txt2img-verdict [data-iga-state="blocked"]')
    assert "IGA-H001" in box.inner_text()
    assert box.evaluate("e => getComputedStyle(e).borderLeftColor") == RED
    # the preset no longer describes the controls, and javascript/iga.js mirrors the state onto the panel
    assert page.page.is_checked('#iga-txt2img-preset input[value="Custom"]')
    page.page.wait_for_function(
        "() => document.querySelector('#iga-txt2img-panel').getAttribute('data-iga-state') === 'blocked'",
        timeout=20000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.locator("#iga-txt2img-panel").screenshot(path=str(ARTIFACTS / "panel-blocked.png"))
    assert page.errors == []


def test_hostile_recipe_text_executes_nothing(page):
    page.select_checkpoint("hostile.safetensors")
    status = page.page.locator("#iga-txt2img-status")
    status.get_by_text(HOSTILE).wait_for(timeout=20000)  # shown as text ...
    page.page.wait_for_timeout(1000)  # ... give any injected handler time to fire
    assert page.page.locator('img[src="x"], img[src="y"]').count() == 0
    assert page.page.locator("#iga-txt2img-panel script, #iga-txt2img-panel b[onmouseover]").count() == 0
    assert page.page.locator("#iga-txt2img-preset").get_by_text("<img src=y onerror=alert(4)>").count() == 1
    page.page.hover("#iga-txt2img-status")
    assert page.dialogs == []
    assert page.errors == []


def test_lora_tag_composes_its_recipe_and_decisions_show(page):
    page.select_checkpoint("lightning.safetensors")
    page.wait_number("steps", "4")
    page.page.fill("#iga-app-prompt textarea", "a lighthouse <lora:lcm-lora-demo:1>")
    page.page.wait_for_function("() => document.querySelector('#iga-app-sampler input').value === 'LCM'",
                                timeout=20000)
    status = page.page.locator("#iga-txt2img-status")
    status.get_by_text("Composed with LoRA recipes").wait_for(timeout=20000)
    status.get_by_text("replaces the sampling recipe").wait_for(timeout=20000)
    page.wait_state("ok")
    decisions = page.page.locator("#iga-txt2img-decisions")
    decisions.get_by_text(HOSTILE).wait_for(timeout=20000)  # the logged checkpoint name, as text
    assert page.page.locator('img[src="x"]').count() == 0 and page.dialogs == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.page.locator("#iga-txt2img-panel").screenshot(path=str(ARTIFACTS / "panel-composed.png"))
    page.page.fill("#iga-app-prompt textarea", "a lighthouse")
    page.page.wait_for_function("() => document.querySelector('#iga-app-sampler input').value === 'Euler'",
                                timeout=20000)
    assert page.errors == []


def test_recipes_tab_stamps_after_confirmation(page):
    page.page.locator(".tab-nav button", has_text="Recipes").click()  # gradio 3 and 4 tab buttons
    page.choose("iga-recipes-template", "sdxl-lightning-4step")
    page.page.click("#iga-recipes-load-template")
    page.page.wait_for_function(
        "() => document.querySelector('#iga-recipes-json textarea').value.includes('sdxl-lightning-4step')",
        timeout=20000)
    page.choose("iga-recipes-checkpoint", "spare.safetensors")
    page.page.click("#iga-recipes-stamp")
    page.page.locator("#iga-recipes-result").get_by_text("Model hash", exact=False).wait_for(timeout=20000)
    page.page.click("#iga-recipes-confirm")
    page.page.locator("#iga-recipes-result").get_by_text("Stamped spare.safetensors", exact=False).wait_for(
        timeout=20000)
    row = page.page.locator("#iga-recipes-table tr", has_text="spare.safetensors")
    row.get_by_text("embedded").wait_for(timeout=20000)  # the list was refreshed after the write
    assert page.errors == []
