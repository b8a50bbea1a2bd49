#!/usr/bin/python3
"""Opens `frerec report`'s index.html in headless Chromium and checks it as a reader would.

1. Builds reports to open: a tiny demo run made here (raw and GDA, two seeds, a config
   string carrying HTML that must stay text), and `frerec report` on a copy of each
   committed results folder given with --results (no training: the records are there).
2. Loads each page from the file system in headless Chromium, driven over the DevTools
   protocol on a pipe (--remote-debugging-pipe; standard library only), and fails on any
   JavaScript exception, console error or warning, log entry of level error (a CSP
   violation, a failed load), a dialog (alert), or a request that is neither file: nor
   data: (the page must be self-contained).
3. Checks that the page's Table 2 is table2.csv cell for cell, that clicking a column
   header sorts the rows by that column (numerically, both directions), that the injected
   markup is text, and saves screenshots (PNG) of the top of the page and of the curves.

Usage: report_in_browser.py --frerec BIN --work DIR [--results DIR ...]
Exit 0 when every check passes; otherwise 1 with one line per failed check.
"""
import argparse
import base64
import csv
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

INJECTED = '</pre><script>alert(1)</script><img src=x onerror=console.error(1)>'

TINY_CONFIG = """experiment:
  name: tiny_report
  kind: classify
  description: '{description}'
data:
  name: demo_mri
  image_size: 32
  counts:
    train: {{positive: 24, negative: 24}}
    test: {{positive: 16, negative: 16}}
    synthetic: {{positive: 16, negative: 16}}
  synthetic: {{name: synthetic_folder, root: synthetic/train, generator: demo-export}}
model: {{name: resnet18}}
train: {{epochs: 3, batch_size: 16, eval_batch_size: 32, workers: 1, warmup_epochs: 0}}
grid:
  method.name: [raw, gda]
  seed: [0, 1]
"""


class Failure(Exception):
    pass


def run(command, cwd):
    result = subprocess.run(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise Failure(f"{' '.join(command)} exited {result.returncode}: {result.stdout.strip()[-2000:]}")
    return result.stdout


class Browser:
    """Headless Chromium over --remote-debugging-pipe (fd 3: commands in, fd 4: events out)."""

    def __init__(self, chromium, profile):
        to_browser_read, self.to_browser = os.pipe()
        self.from_browser, from_browser_write = os.pipe()

        def wire_pipes():
            os.dup2(to_browser_read, 3)
            os.dup2(from_browser_write, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=wire_pipes, pass_fds=(3, 4))
        os.close(to_browser_read)
        os.close(from_browser_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True, timeout=60):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self.next_id, timeout, method)
        if "error" in reply:
            raise Failure(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" not in message:
                    self.events.append(message)
                    if message.get("method") == "Page.javascriptDialogOpening":  # never leave a dialog open
                        self.send("Page.handleJavaScriptDialog", {"accept": True})
                if predicate(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"Chromium: no answer to {what} within {timeout} s")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    stderr = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise Failure(f"Chromium exited while waiting for {what}: {stderr.strip()[-1500:]}")
                self.buffer += chunk

    def open_page(self, url):
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
            self.send(domain)
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait(lambda m: m.get("method") == "Page.loadEventFired", 120, "the page's load event")
        time.sleep(0.5)  # late console messages and exceptions
        self.send("Runtime.evaluate", {"expression": "1"})  # drains what arrived meanwhile

    def evaluate(self, expression):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise Failure(f"evaluating {expression[:80]!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def screenshot(self, path, clip=None):
        params = {"format": "png"}
        if clip:
            params["clip"] = dict(clip, scale=1)
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def problems(self):
        """Console errors and warnings, exceptions, error log entries, dialogs, outside requests."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                text = details.get("exception", {}).get("description") or details.get("text")
                found.append(f"JavaScript exception: {text}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
                values = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
                found.append(f"console.{params['type']}: {' '.join(map(str, values))}")
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                found.append(f"log {entry.get('level')} ({entry.get('source')}): {entry.get('text')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"a dialog opened: {params.get('message')}")
            elif method == "Network.requestWillBeSent":
                url = params.get("request", {}).get("url", "")
                if not (url.startswith("file:") or url.startswith("data:")):
                    found.append(f"request outside the page: {url[:200]}")
        return found

    def close(self):
        try:
            self.send("Browser.close", session=False, timeout=10)
        except Failure:
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


TABLE_JS = """(() => {
  const table = document.getElementById('table2-table');
  if (!table) return null;
  return {header: Array.from(table.tHead.rows[0].cells).map(c => c.textContent),
          rows: Array.from(table.tBodies[0].rows).map(r => Array.from(r.cells).map(c => c.textContent))};
})()"""


def check_page(browser, experiment_dir, shots_dir, label, injected=None):
    """Returns the failed checks of one page (an empty list when it passes)."""
    failed = []
    page = os.path.join(experiment_dir, "index.html")
    if not os.path.isfile(page):
        return [f"{label}: no index.html in {experiment_dir}"]
    browser.open_page("file://" + os.path.abspath(page))
    failed += [f"{label}: {p}" for p in browser.problems()]

    # Table 2 on the page is table2.csv, cell for cell.
    with open(os.path.join(experiment_dir, "table2.csv"), newline="", encoding="utf-8") as f:
        expected = list(csv.reader(f))
    shown = browser.evaluate(TABLE_JS)
    if shown is None:
        failed.append(f"{label}: the page has no Table 2")
        return failed
    if shown["header"] != expected[0]:
        failed.append(f"{label}: Table 2 header {shown['header']} != table2.csv {expected[0]}")
    if shown["rows"] != expected[1:]:
        for i, (a, b) in enumerate(zip(shown["rows"], expected[1:])):
            if a != b:
                failed.append(f"{label}: Table 2 row {i + 1} {a} != table2.csv {b}")
                break
        else:
            failed.append(f"{label}: Table 2 has {len(shown['rows'])} rows, table2.csv {len(expected) - 1}")
    numbers = sum(1 for row in shown["rows"] for cell in row if cell.replace(".", "", 1).isdigit())
    print(f"{label}: Table 2 {len(shown['rows'])} rows x {len(shown['header'])} columns equal table2.csv "
          f"({numbers} plain numbers among them)")

    # Sorting by AUC_mean: ascending on the first click, descending on the second.
    column = expected[0].index("AUC_mean")
    for click, direction in ((1, "ascending"), (2, "descending")):
        values = browser.evaluate(
            f"""(() => {{ const th = document.querySelectorAll('#table2-table thead th')[{column}]; th.click();
                 return [th.getAttribute('aria-sort'),
                         Array.from(document.querySelectorAll('#table2-table tbody tr'))
                              .map(r => r.cells[{column}].textContent)]; }})()""")
        state, cells = values
        numbers = [float(v) for v in cells if v]
        wanted = sorted(numbers, reverse=direction == "descending")
        if state != direction or numbers != wanted:
            failed.append(f"{label}: click {click} on AUC_mean gave {state} {numbers}, wanted {direction} {wanted}")
    # A column of "p_wilcoxon / p_t" text with "–" in the reference row: by the leading number,
    # placeholders last.
    p_columns = [i for i, name in enumerate(expected[0]) if name.startswith("p vs")]
    if p_columns:
        cells = browser.evaluate(
            f"""(() => {{ document.querySelectorAll('#table2-table thead th')[{p_columns[0]}].click();
                 return Array.from(document.querySelectorAll('#table2-table tbody tr'))
                             .map(r => r.cells[{p_columns[0]}].textContent); }})()""")
        numbers = [re.match(r"\s*([-+]?[0-9.]+(?:e[-+]?[0-9]+)?)", c) for c in cells]
        leading = [float(m.group(1)) for m in numbers if m]
        placeholders_last = all(m is None for m in numbers[len(leading):])
        if leading != sorted(leading) or not placeholders_last:
            failed.append(f"{label}: sorting the p column gave {cells}")
    if sorted(map(tuple, browser.evaluate(TABLE_JS)["rows"])) != sorted(map(tuple, expected[1:])):
        failed.append(f"{label}: sorting lost or changed rows")

    if injected is not None:
        found = browser.evaluate("""[document.querySelectorAll('script').length,
                                     document.querySelectorAll('img[src="x"]').length,
                                     document.body.textContent]""")
        scripts, images, text = found
        if scripts != 1 or images != 0:
            failed.append(f"{label}: injected markup became elements ({scripts} scripts, {images} img[src=x])")
        if injected not in text:
            failed.append(f"{label}: the injected config text is not shown as text")

    counts = browser.evaluate("""[document.querySelectorAll('details[id^="cell-"]').length,
                                  document.querySelectorAll('#curves svg').length,
                                  document.querySelectorAll('#figures svg, #figures img').length,
                                  document.querySelectorAll('#samples img').length]""")
    print(f"{label}: {counts[0]} cell sections, {counts[1]} curve figures, {counts[2]} figures, "
          f"{counts[3]} sample grids")
    with open(os.path.join(experiment_dir, "runs.csv"), newline="", encoding="utf-8") as f:
        cells = sum(1 for _ in csv.reader(f)) - 1
    if counts[0] != cells:
        failed.append(f"{label}: {counts[0]} cell sections for {cells} rows of runs.csv")
    if counts[1] == 0:
        failed.append(f"{label}: no training curves")

    browser.evaluate("window.scrollTo(0, 0)")
    top = os.path.join(shots_dir, f"{label}_top.png")
    browser.screenshot(top)
    box = browser.evaluate("""(() => { const s = document.getElementById('curves'); if (!s) return null;
                              const r = s.getBoundingClientRect();
                              return {x: 0, y: r.top + window.scrollY, width: 1280, height: Math.min(r.height, 1400)}; })()""")
    shots = [top]
    if box:
        curves = os.path.join(shots_dir, f"{label}_curves.png")
        browser.screenshot(curves, box)
        shots.append(curves)
    for shot in shots:
        size = os.path.getsize(shot)
        print(f"{label}: screenshot {shot} ({size} bytes)")
        if size < 5000:
            failed.append(f"{label}: screenshot {shot} is only {size} bytes")
    return failed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frerec", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--results", action="append", default=[], help="a committed results folder to report on")
    args = parser.parse_args()

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("report_in_browser: chromium is not installed (Debian package 'chromium'; scripts/packages.sh)")
        return 1
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    frerec = [os.path.abspath(args.frerec), "--threads", "2", "-q", "--cache-dir", os.path.join(work, "cache")]
    failed = []
    pages = []
    try:
        run(frerec + ["datasets", "export", "demo_mri", "--out", "synthetic", "image_size=32", "data_seed=5",
                      "counts.train.positive=16", "counts.train.negative=16", "counts.test.positive=4",
                      "counts.test.negative=4"], work)
        with open(os.path.join(work, "tiny.yaml"), "w") as f:
            f.write(TINY_CONFIG.format(description=INJECTED.replace("'", "''")))
        started = time.monotonic()
        run(frerec + ["run", "tiny.yaml"], work)
        print(f"tiny demo run: 4 cells in {time.monotonic() - started:.1f} s")
        pages.append(("tiny", os.path.join(work, "results", "tiny_report"), INJECTED))
        for folder in args.results:
            copy = os.path.join(work, "copies", os.path.basename(os.path.normpath(folder)))
            shutil.copytree(folder, copy)
            started = time.monotonic()
            run(frerec + ["report", copy], work)
            size = os.path.getsize(os.path.join(copy, "index.html"))
            print(f"frerec report {folder}: {time.monotonic() - started:.1f} s, index.html {size / 1e6:.1f} MB")
            pages.append((os.path.basename(os.path.normpath(folder)), copy, None))
        shots = os.path.join(work, "screenshots")
        os.makedirs(shots)
        with tempfile.TemporaryDirectory() as profile:
            browser = Browser(chromium, profile)
            try:
                for label, folder, injected in pages:
                    failed += check_page(browser, folder, shots, label, injected)
            finally:
                browser.close()
    except Failure as e:
        failed.append(str(e))
    for line in failed:
        print("FAILED: " + line)
    print(f"report_in_browser: {len(pages)} page(s), {len(failed)} failed check(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
