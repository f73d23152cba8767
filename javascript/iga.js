// IGA (Integrated Generation Architecture) WebUI extension: small browser helpers.
// One global, `IGA`; every element it touches has an id or class starting with "iga" (see iga_core/ui/ids.py).
// The Python side does the real work; this file only
//  - re-applies the recipe a moment after the page has loaded (Forge resets the controls from its own
//    UI preset on every page load, after the checkpoint event) and after Forge's UI-preset radio changes,
//  - mirrors the live verdict's state onto the panel so the accordion header shows it while folded.
(function () {
    "use strict";
    if (window.IGA && window.IGA.version) {
        return; // loaded twice (a host UI reload re-injects scripts): keep the running instance
    }
    var TABS = ["txt2img", "img2img"];
    var IGA = {
        version: 1,
        started: false,
        /** element id from parts, same rule as iga_core/ui/ids.py elem_id() */
        id: function () {
            return ["iga"].concat(Array.prototype.slice.call(arguments)).join("-");
        },
        root: function () {
            return typeof gradioApp === "function" ? gradioApp() : document;
        },
        el: function (id) {
            var root = IGA.root();
            return (root && root.querySelector ? root.querySelector("#" + id) : null) || document.getElementById(id);
        },
        button: function (id) {
            var el = IGA.el(id);
            if (!el) {
                return null;
            }
            return el.tagName === "BUTTON" ? el : el.querySelector("button");
        },
        /** click each tab's hidden re-apply button after `delay` ms (the handler is idempotent) */
        reapply: function (delay) {
            window.setTimeout(function () {
                TABS.forEach(function (tab) {
                    var button = IGA.button(IGA.id(tab, "reapply"));
                    if (button) {
                        button.click();
                    }
                });
            }, delay || 0);
        },
        watchForgePreset: function () {
            var radio = IGA.el("forge_ui_preset");
            if (!radio || radio.dataset.igaWatched) {
                return;
            }
            radio.dataset.igaWatched = "1";
            // Forge's preset is a radio (a change event); Neo's is a dropdown (modules_forge/main_entry.py:65),
            // whose options are picked by a click in the list: re-apply after either (re-applying is idempotent)
            radio.addEventListener("change", function () {
                IGA.reapply(800);
            });
            radio.addEventListener("click", function (event) {
                if (event.target && event.target.closest && event.target.closest("li, [role=option]")) {
                    IGA.reapply(800);
                }
            });
        },
        mirrorVerdict: function (tab) {
            var panel = IGA.el(IGA.id(tab, "panel"));
            var verdict = IGA.el(IGA.id(tab, "verdict"));
            if (!panel || !verdict || verdict.dataset.igaObserved) {
                return;
            }
            verdict.dataset.igaObserved = "1";
            var sync = function () {
                var box = verdict.querySelector("[data-iga-state]");
                panel.setAttribute("data-iga-state", box ? box.getAttribute("data-iga-state") : "none");
            };
            new MutationObserver(sync).observe(verdict, {childList: true, subtree: true});
            sync();
        },
        start: function () {
            if (IGA.started) {
                return;
            }
            IGA.started = true;
            IGA.watchForgePreset();
            TABS.forEach(IGA.mirrorVerdict);
            IGA.reapply(1500);
        }
    };
    window.IGA = IGA;
    if (typeof onUiLoaded === "function") {
        onUiLoaded(IGA.start); // A1111 / Forge: fires once the txt2img prompt exists
    }
})();
