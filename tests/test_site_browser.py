"""The built docs site in a real browser: every page, in headless Chromium.

The site is built (``mkdocs build --strict``) into a temporary folder, served by
an ``http.server`` thread on 127.0.0.1, and every HTML page is loaded in
headless Chromium, which this file drives through the Chrome DevTools Protocol
over ``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and 4; no
Python package needed).  On every page:

* MathJax loaded and typeset every formula: as many typeset formulas as
  ``arithmatex`` elements in the served HTML, no ``mjx-merror`` (a TeX error),
  and no raw ``$$``, ``\\(``, ``\\[`` or ``$...$`` left in the text outside
  code (``docs/hooks/mathcheck.py`` checks the same at build time, without a
  browser);
* no request left the machine: every URL the page asked for is on
  127.0.0.1 (the browser also resolves every other host to nothing), and every
  one of them answered;
* no image is broken (each one decoded, ``naturalWidth > 0``);
* no JavaScript error;
* the previous/next links are at the bottom;
* at a 1280 px wide window, no display formula and no API signature is wider
  than the text column.

And: the derivative table fits a 1280 px window, with the derivation link in
its first column; searching "batchnorm backward" lists the batch-norm chapter
first; a page with each fault planted in it fails each check.

Skips, with the reason, where Chromium or mkdocs is not installed.  CI
installs both (.ci/run).  Cost: one site build plus about a second per page.
To look at pages yourself, ``MINISINGA_SITE_SHOTS=<folder>`` saves a
screenshot of each checked page (at 1280 x 900) there.
"""
from __future__ import annotations

import base64
import functools
import http.server
import importlib.util
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1280, 900


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable on the PATH, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM = find_chromium()
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason=(
        "headless Chromium is not installed (Debian: apt-get install chromium); "
        "CI installs it and runs this file (.ci/run)")),
    pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason=(
        'mkdocs is not installed; install the docs tools with pip install -e ".[docs]"')),
]


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe.

    ``--remote-debugging-pipe`` makes Chromium read commands from file
    descriptor 3 and write replies and events to descriptor 4, each message
    a JSON object ended by a NUL byte.  One tab (``self.session``) is opened.
    """

    def __init__(self, executable: str, width: int = WIDTH, height: int = HEIGHT):
        self.profile = tempfile.mkdtemp(prefix="minisinga-chromium-")
        cmd_read, self._write = os.pipe()    # we write commands; Chromium reads fd 3
        self._read, reply_write = os.pipe()  # Chromium writes fd 4; we read

        def give_child_fds_3_and_4():
            a, b = os.dup(cmd_read), os.dup(reply_write)  # above 4 or == their target
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = [executable, "--headless", "--remote-debugging-pipe",
                f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--mute-audio",
                # Any host but the test server resolves to nothing, so a request
                # that tries to leave the machine fails (and is reported) instead.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with it
        self.log = Path(self.profile) / "chromium.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(args + ["about:blank"], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, close_fds=False,
                                         preexec_fn=give_child_fds_3_and_4)
        os.close(cmd_read)
        os.close(reply_write)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=None)
        self.session = self.send("Target.attachToTarget",
                                 {"targetId": target["targetId"], "flatten": True},
                                 session=None)["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        for domain in ("Page", "Network", "Runtime"):
            self.send(f"{domain}.enable")

    # -- the protocol ----------------------------------------------------------------
    def _receive(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._read], [], [], left)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium exited; its log: {self.log}")
                self._buf += chunk
        message, _, self._buf = self._buf.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None | bool = True,
             timeout: float = 30) -> dict:
        """Send one command (to the tab unless ``session=None``); return its result."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is True:
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            if "method" in reply:
                self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        """Wait for the tab's next event ``method`` (one already received counts)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event["method"] == method:
                    return self.events.pop(i)
            message = self._receive(deadline)
            if "method" in message:
                self.events.append(message)

    def evaluate(self, expression: str, timeout: float = 30):
        """Run JavaScript in the tab (awaiting a promise) and return its value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "awaitPromise": True,
                                                "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise RuntimeError(f"JavaScript failed: {details.get('exception', details)}")
        return result["result"].get("value")

    def load(self, url: str, timeout: float = 30):
        """Open ``url`` and wait for its load event."""
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired", timeout)

    def screenshot(self, path: Path):
        """Save the visible part of the tab as a PNG."""
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.send("Browser.close", session=None, timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._write)
        os.close(self._read)
        shutil.rmtree(self.profile, ignore_errors=True)


# What one page looks like once MathJax is done (returned as a JSON-able object).
PAGE_CHECK = r"""
(async () => {
  const MJ = window.MathJax;
  const loaded = !!(MJ && MJ.startup && MJ.startup.promise);
  if (loaded) await MJ.startup.promise;
  for (const img of document.images) {   // lazy images load now
    img.loading = "eager";
    try { await img.decode(); } catch (e) {}
  }
  const math = [...document.querySelectorAll(".arithmatex")];
  const untypeset = math.filter(e => e.querySelectorAll("mjx-container").length !== 1)
                        .map(e => e.textContent.trim().slice(0, 80));
  const errors = [...document.querySelectorAll("mjx-merror")].map(e =>
      (e.getAttribute("data-mjx-error") || "") + " in " +
      (e.closest(".arithmatex") || e).textContent.trim().slice(0, 80));
  const skip = "code, pre, kbd, samp, script, style, textarea, mjx-container, .arithmatex";
  const tex = /\$\$|\\\(|\\\[|\$[^\s$][^$]*\$/;
  const raw = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.parentElement.closest(skip) && tex.test(n.data)) raw.push(n.data.trim().slice(0, 80));
  }
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
                                     .map(i => i.getAttribute("src"));
  return {mathjax: loaded, math: math.length, untypeset, errors, raw, broken,
          footer: document.querySelectorAll("a.md-footer__link").length};
})()
"""

# Horizontal overflow at the current window width: elements whose right edge
# is past the content area's, and code blocks that scroll sideways.
OVERFLOW_CHECK = r"""
(() => {
  const main = document.querySelector(".md-content");
  const content = main ? main.getBoundingClientRect() : {right: window.innerWidth};
  const tables = [...document.querySelectorAll("div.derivatives table")].map(t => ({
      right: t.getBoundingClientRect().right,
      rows: t.querySelectorAll("tbody tr").length,
      firstCellLinks: [...t.querySelectorAll("tbody tr")]
                        .filter(r => r.cells[0].querySelector("a[href*='.html#']")).length,
      // formulas wider than their cell (they would spill into the next one)
      spilling: [...t.querySelectorAll("td mjx-container")]
                  .filter(m => m.getBoundingClientRect().right >
                               m.closest("td").getBoundingClientRect().right + 1)
                  .map(m => m.closest("tr").cells[0].textContent.trim())}));
  const signatures = [...document.querySelectorAll(".doc-signature pre, .doc-signature code")]
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => e.textContent.trim().slice(0, 80));
  // display formulas wider than the text column (they scroll sideways)
  const wideMath = [...document.querySelectorAll("div.arithmatex")]
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => `${e.scrollWidth - e.clientWidth} px too wide: ` +
                (e.querySelector("mjx-assistive-mml") || e).textContent.trim().slice(0, 60));
  return {contentRight: content.right, windowWidth: window.innerWidth, tables, signatures, wideMath,
          signatureCount: document.querySelectorAll(".doc-signature").length};
})()
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built as CI builds it (strict: a warning is an error)."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                            "--site-dir", str(out)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, f"mkdocs build --strict failed:\n{build.stdout}{build.stderr}"
    return out


@pytest.fixture(scope="module")
def base_url(site):
    """The built site served on 127.0.0.1 from a thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    # preexec_fn runs between fork and exec; it only calls os.dup/dup2.
    chromium = Chromium(CHROMIUM)
    yield chromium
    chromium.close()


def network_problems(events: list[dict]) -> list[str]:
    """Requests that left 127.0.0.1, failed, or were answered with an error status."""
    problems, urls = [], {}
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            urls[params["requestId"]] = url
            if not url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
                problems.append(f"request to another host: {url}")
        elif method == "Network.responseReceived":
            status = params["response"]["status"]
            if status >= 400:
                problems.append(f"HTTP {status} for {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"failed ({params.get('errorText')}): "
                            f"{urls.get(params['requestId'], params['requestId'])}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.append(f"JavaScript error: {text}")
    return problems


def test_every_page_typesets_its_math_stays_offline_and_shows_its_images(site, browser,
                                                                         base_url):
    # (browser before base_url: Chromium is started before the server's thread)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert "index.html" in pages and "ops/batchnorm.html" in pages, pages
    shots = os.environ.get("MINISINGA_SITE_SHOTS")
    problems, formulas, signatures = {}, 0, 0
    for page in pages:
        browser.load(base_url + page)
        result = browser.evaluate(PAGE_CHECK)
        browser.evaluate("0")  # collect the events that arrived meanwhile
        html_math = len(re.findall(r'class="arithmatex"',
                                   (site / page).read_text(encoding="utf-8")))
        found = network_problems(browser.events)
        if not result["mathjax"]:
            found.append("MathJax did not load")
        if result["math"] != html_math:
            found.append(f"{html_math} formulas in the HTML, {result['math']} in the page")
        found += [f"not typeset: {t!r}" for t in result["untypeset"]]
        found += [f"TeX error: {t!r}" for t in result["errors"]]
        found += [f"raw TeX in the text: {t!r}" for t in result["raw"]]
        found += [f"broken image: {src}" for src in result["broken"]]
        if page != "404.html" and result["footer"] == 0:
            found.append("no previous/next links at the bottom")
        overflow = browser.evaluate(OVERFLOW_CHECK)
        found += [f"API signature runs past the right edge: {t!r}" for t in overflow["signatures"]]
        found += [f"display formula wider than the column at {WIDTH} px (split it with "
                  f"\\begin{{aligned}}): {t!r}" for t in overflow["wideMath"]]
        signatures += overflow["signatureCount"]
        if found:
            problems[page] = found
        formulas += result["math"]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            browser.screenshot(Path(shots) / (page.replace("/", "_")[:-5] + ".png"))
    report = "".join(f"\n{page}:\n  " + "\n  ".join(found) for page, found in problems.items())
    assert not problems, f"{len(problems)} of {len(pages)} pages have problems:{report}"
    assert formulas > 500, f"only {formulas} formulas on the whole site: is MathJax's input there?"
    assert signatures > 50, f"only {signatures} API signatures on the whole site"


def test_the_page_checks_catch_what_they_look_for(base_url, browser):
    """The checks above can fail: a TeX error, raw TeX, an image from another
    host (so a broken image and a request off the machine), a signature that
    runs off the page and a too-wide display formula, planted in a page, are
    each reported."""
    browser.load(base_url + "index.html")
    browser.evaluate(r"""(async () => {
        await MathJax.startup.promise;
        const bad = document.createElement("span");
        bad.className = "arithmatex";
        bad.textContent = "\\(x^1^2\\)";   // TeX error: double exponent
        const raw = document.createElement("p");
        raw.textContent = "$$ y = x $$";
        const img = document.createElement("img");
        img.src = "http://example.org/figure.png";
        const sig = document.createElement("div");
        sig.className = "doc-signature";
        sig.innerHTML = "<pre style='white-space: pre'><code style='white-space: pre'>" +
                        "f(" + "argument, ".repeat(40) + ")</code></pre>";
        const wide = document.createElement("div");
        wide.className = "arithmatex";
        wide.textContent = "\\[" + "x + ".repeat(150) + "x\\]";
        document.querySelector("article").append(bad, raw, img, sig, wide);
        await MathJax.typesetPromise([bad, wide]);
    })()""")
    result = browser.evaluate(PAGE_CHECK)
    browser.evaluate("0")  # collect the events that arrived meanwhile
    assert result["errors"], result
    assert any("$$ y = x $$" in t for t in result["raw"]), result
    assert result["broken"] == ["http://example.org/figure.png"], result
    assert any("another host: http://example.org/figure.png" in p
               for p in network_problems(browser.events)), browser.events
    overflow = browser.evaluate(OVERFLOW_CHECK)
    assert overflow["signatures"], "the long signature was not caught"
    assert overflow["wideMath"], "the wide display formula was not caught"


def test_derivative_table_fits_a_1280px_window_with_the_link_first(base_url, browser):
    browser.load(base_url + "derivatives.html")
    browser.evaluate(PAGE_CHECK)  # MathJax done: formulas have their final widths
    page = browser.evaluate(OVERFLOW_CHECK)
    assert page["windowWidth"] == WIDTH
    assert page["tables"], "no derivative table on derivatives.html"
    for table in page["tables"]:
        assert table["right"] <= page["contentRight"] + 1, (
            f"a derivative table ends at x = {table['right']:.0f} px, past the content "
            f"area (x = {page['contentRight']:.0f} px) of a {WIDTH} px window")
        assert not table["spilling"], f"formulas wider than their cell in {table['spilling']}"
        assert table["firstCellLinks"] == table["rows"], (
            f"{table['rows'] - table['firstCellLinks']} rows lack the derivation link "
            "in their first column")


def test_search_for_batchnorm_backward_lists_the_batchnorm_chapter_first(base_url, browser):
    browser.load(base_url + "index.html")
    browser.evaluate("document.querySelector('.md-search__input').focus()")
    browser.send("Input.insertText", {"text": "batchnorm backward"})
    deadline = time.monotonic() + 20
    links = []
    while not links and time.monotonic() < deadline:
        time.sleep(0.2)
        links = browser.evaluate(
            "[...document.querySelectorAll('.md-search-result__item > a')]"
            ".map(a => new URL(a.href).pathname)")
    assert links, "the search returned nothing for 'batchnorm backward' in 20 s"
    assert links[0] == "/ops/batchnorm.html", f"first results: {links[:5]}"
