"""Load an HTML file in headless Chromium and report its sections, images and errors.

A script injected first in ``<head>`` records ``console.error``/``console.warn`` calls,
uncaught errors and failed resource loads (the capture phase sees an ``<img>`` that does
not load); on ``load`` it writes what it found, with every image's natural size, into the
DOM that ``--dump-dom`` prints. Chromium's own console log (stderr) is returned too.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

_HOOK = """<script>
window.__errors = [];
const _push = (kind) => (...a) => window.__errors.push(kind + ": " + a.map(String).join(" "));
console.error = _push("console.error"); console.warn = _push("console.warn");
window.addEventListener("error", (e) => {
  const t = e.target;
  const what = t && t !== window && t.tagName ? "failed to load " + t.tagName : "error: " + e.message;
  window.__errors.push(what);
}, true);
window.addEventListener("load", () => {
  const out = {
    errors: window.__errors,
    sections: [...document.querySelectorAll("section")].map((s) => s.id),
    images: [...document.images].map((i) => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]),
  };
  const pre = document.createElement("pre");
  pre.id = "__check"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def chromium() -> str | None:
    """Path of Debian's chromium (or another Chromium/Chrome on PATH)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def check_page(html_path: Path, work: Path) -> dict:
    """Sections, images (alt, complete, width, height), errors and Chromium's console lines."""
    if chromium() is None:
        raise AssertionError(
            "Chromium is required (NEUROSIG_REQUIRE_BROWSER) but not found: apt-get install chromium"
        )
    text = html_path.read_text()
    probe = work / f"probe_{html_path.name}"
    probe.write_text(re.sub(r"<head>", "<head>" + _HOOK, text, count=1))
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            f"--user-data-dir={work / 'chromium-profile'}",
            "--dump-dom",
            probe.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'<pre id="__check">(.*?)</pre>', result.stdout, re.S)
    if found is None:
        raise AssertionError(f"the page did not finish loading in Chromium:\n{result.stderr[-2000:]}")
    out = json.loads(
        found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )
    # console lines of the page itself (those of the injected probe are in out["errors"])
    out["console"] = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return out
