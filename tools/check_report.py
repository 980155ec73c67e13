#!/usr/bin/env python3
"""Opens a `squish report` page in headless Chromium and checks that it works offline.

Usage: tools/check_report.py REPORT.html OUT_DIR [--expect-charts N] [--timeout S]

Fails (exit 1) on any console error or uncaught exception, any failed request, any request that
leaves the file (the page must need no network), and any chart that did not draw: the page marks
each canvas data-drew="yes" once Chart.js built it, it has data points and its pixels are not all
transparent (src/report/html_page.cpp), and this script reads those marks back. Writes into OUT_DIR
report-top.png (the first laptop screen, 1280x900), report-full.png (the whole page),
section-<id>.png (each section, at most 4000 px of it), report.pdf
(the print stylesheet's rendering) and chromium.log (the browser's own stderr).

Talks to Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: NUL-terminated
JSON on file descriptors 3 and 4), so it needs nothing beyond Python's standard library and
Debian's `chromium`. Not a test of the charts' content: the C++ tests check the data.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

VIEWPORT = (1280, 900)
FULL_PAGE_MAX_HEIGHT = 16000  # Chromium refuses larger captures; a report this long is cut there


class DevTools:
    """A DevTools protocol connection over Chromium's debugging pipe."""

    def __init__(self, browser_args, log_path):
        self.to_browser_r, self.to_browser_w = os.pipe()
        self.from_browser_r, self.from_browser_w = os.pipe()
        to_r, from_w = self.to_browser_r, self.from_browser_w

        def wire_fds():  # in the child: its fd 3 reads our commands, its fd 4 writes its replies
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(browser_args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                        preexec_fn=wire_fds, close_fds=False)
        os.close(self.to_browser_r)
        os.close(self.from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no reply from Chromium in time")
            chunk = os.read(self.from_browser_r, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the debugging pipe (see chromium.log)")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        request = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        os.write(self.to_browser_w, json.dumps(request).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for_event(self, method, timeout):
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            message = self._read_message(deadline)
            self.events.append(message)
            if message.get("method") == method:
                return message

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def problems_in(events):
    """Console errors, exceptions, failed requests and requests that left the file."""
    problems = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            problems.append(f"console {params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            problems.append(f"uncaught exception: {d.get('exception', {}).get('description', d.get('text'))}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            problems.append(f"browser log error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"request failed: {params.get('errorText')} ({params.get('type')})")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not (url.startswith("file:") or url.startswith("data:") or url.startswith("about:")):
                problems.append(f"network request from an offline page: {url}")
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report")
    parser.add_argument("out_dir")
    parser.add_argument("--expect-charts", type=int, default=None, help="fail unless exactly this many charts")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds for the page to load")
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    if not args.chromium:
        sys.exit("check_report: chromium not found (Debian: apt-get install chromium)")
    report = os.path.abspath(args.report)
    if not os.path.isfile(report):
        sys.exit(f"check_report: {args.report}: no such file")
    os.makedirs(args.out_dir, exist_ok=True)

    profile = tempfile.mkdtemp(prefix="squish-check-report-")
    browser_args = [
        args.chromium, "--headless=new", "--disable-gpu", "--no-sandbox", "--remote-debugging-pipe",
        f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--hide-scrollbars", "--force-device-scale-factor=1", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        "about:blank",
    ]
    browser = DevTools(browser_args, os.path.join(args.out_dir, "chromium.log"))
    try:
        page = None
        for _ in range(50):  # the first tab appears shortly after start-up
            targets = browser.call("Target.getTargets")["targetInfos"]
            page = next((t for t in targets if t["type"] == "page"), None)
            if page:
                break
            time.sleep(0.1)
        if not page:
            page = {"targetId": browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]}
        session = browser.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.call(f"{domain}.enable", session=session)
        browser.call("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": VIEWPORT[1],
                                                             "deviceScaleFactor": 1, "mobile": False}, session=session)
        browser.events.clear()  # only what the report itself does counts
        browser.call("Page.navigate", {"url": "file://" + report}, session=session)
        browser.wait_for_event("Page.loadEventFired", args.timeout)
        time.sleep(0.5)  # messages logged just after load
        status = browser.call("Runtime.evaluate", {"returnByValue": True, "expression": """JSON.stringify({
            total: document.body.dataset.chartsTotal, drawn: document.body.dataset.chartsDrawn,
            failed: document.body.dataset.chartsFailed,
            canvases: Array.from(document.querySelectorAll('canvas')).map(c => ({
              chart: c.dataset.chart, drew: c.dataset.drew || 'never marked',
              caption: c.getAttribute('aria-label')}))})"""}, session=session)
        charts = json.loads(status["result"]["value"])
        # The layout a reader meets at 1280 px: no sideways scrolling, every table's rows as wide as
        # its heading row.
        layout = json.loads(browser.call("Runtime.evaluate", {"returnByValue": True, "expression": """JSON.stringify({
            page_width: document.documentElement.scrollWidth, viewport: window.innerWidth,
            widest: Array.from(document.querySelectorAll('body *'))
              .filter(e => e.getBoundingClientRect().right > window.innerWidth)
              .map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '') + ' ' +
                        (e.textContent || '').trim().slice(0, 40)).slice(-3),
            tables: Array.from(document.querySelectorAll('table')).map((t, i) => {
              const width = r => Array.from(r.cells).reduce((n, c) => n + (c.colSpan || 1), 0);
              const rows = Array.from(t.rows);
              return {index: i, caption: (t.previousElementSibling || {}).textContent || '',
                      heading: rows.length ? width(rows[0]) : 0, widths: rows.slice(1).map(width)};
            })})"""}, session=session)["result"]["value"])

        with open(os.path.join(args.out_dir, "report-top.png"), "wb") as f:
            f.write(base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]))
        metrics = browser.call("Page.getLayoutMetrics", session=session)
        height = int(metrics.get("cssContentSize", metrics.get("contentSize"))["height"])
        browser.call("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": min(height, FULL_PAGE_MAX_HEIGHT),
                                                             "deviceScaleFactor": 1, "mobile": False}, session=session)
        time.sleep(0.3)
        with open(os.path.join(args.out_dir, "report-full.png"), "wb") as f:
            f.write(base64.b64decode(browser.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]))
        # One picture per section, for reading the charts at full size (and for docs/report/).
        sections = json.loads(browser.call("Runtime.evaluate", {"returnByValue": True, "expression": """JSON.stringify(
            Array.from(document.querySelectorAll('section')).map(s => {
              const r = s.getBoundingClientRect();
              return {id: s.id, y: r.top + window.scrollY, height: r.height};
            }))"""}, session=session)["result"]["value"])
        for sec in sections:
            clip = {"x": 0, "y": sec["y"] - 8, "width": VIEWPORT[0], "height": min(sec["height"] + 16, 4000), "scale": 1}
            shot = browser.call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True},
                                session=session)
            with open(os.path.join(args.out_dir, f"section-{sec['id']}.png"), "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        pdf = browser.call("Page.printToPDF", {"printBackground": True}, session=session, timeout=60)
        with open(os.path.join(args.out_dir, "report.pdf"), "wb") as f:
            f.write(base64.b64decode(pdf["data"]))
        time.sleep(0.2)
        browser.call("Runtime.evaluate", {"expression": "0"}, session=session)  # drains events logged by printing
        problems = problems_in(browser.events)
    finally:
        browser.close()
        shutil.rmtree(profile, ignore_errors=True)

    if layout["page_width"] > layout["viewport"]:
        problems.append(f"the page is {layout['page_width']} px wide in a {layout['viewport']} px window: "
                        f"it scrolls sideways (past the edge: {'; '.join(layout['widest'])})")
    for t in layout["tables"]:
        odd = sorted({w for w in t["widths"] if w != t["heading"]})
        if odd:
            problems.append(f"table {t['index']} ({t['caption'][:60]!r}): {t['heading']} headings but rows of "
                            f"{', '.join(map(str, odd))} cells")

    canvases = charts["canvases"]
    for c in canvases:
        if c["drew"] != "yes":
            problems.append(f"chart {c['chart']} ({c['caption']}) did not draw: {c['drew']}")
    if charts["total"] is None:
        problems.append("the page's chart script never ran (no data-charts-total on <body>)")
    elif int(charts["total"]) != len(canvases):
        problems.append(f"{charts['total']} chart configurations but {len(canvases)} canvases")
    if not canvases:
        problems.append("the page has no charts")
    if args.expect_charts is not None and len(canvases) != args.expect_charts:
        problems.append(f"expected {args.expect_charts} charts, found {len(canvases)}")

    drawn = sum(c["drew"] == "yes" for c in canvases)
    print(f"check_report: {report}: {drawn}/{len(canvases)} charts drew, page {height} px tall; "
          f"screenshots in {args.out_dir}")
    for p in problems:
        print(f"check_report: FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
