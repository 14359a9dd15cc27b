#!/usr/bin/env python3
"""Times the dashboard's first render in headless Chromium, in real time.

`--virtual-time-budget` (what the browser test uses) runs the page on a
virtual clock that does not count script compilation, so it cannot time a
render. This drives Chromium over its DevTools protocol instead: a new profile
per load, navigation, then polling `document.body.dataset` until the tab is
ready; prints the page's own marks (performance.now(), from navigation start).

    bench/first_render.py URL [RUNS]      # needs `websockets` (the venv of .ci/run has it)
"""
import json
import subprocess
import sys
import tempfile
import time
import urllib.request

from websockets.sync.client import connect

url = sys.argv[1]
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
port = 19223
for run in range(runs):
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        browser = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={profile}", f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                    page = next(t for t in targets if t["type"] == "page")
                    break
                except Exception:
                    time.sleep(0.1)
            with connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
                ids = iter(range(1, 10**6))

                def call(method, **params):
                    n = next(ids)
                    ws.send(json.dumps({"id": n, "method": method, "params": params}))
                    while True:
                        message = json.loads(ws.recv())
                        if message.get("id") == n:
                            return message.get("result", {})

                call("Page.navigate", url=url)
                marks = {}
                deadline = time.time() + 30
                while time.time() < deadline:
                    result = call("Runtime.evaluate", expression="JSON.stringify(document.body ? document.body.dataset : {})",
                                  returnByValue=True)
                    marks = json.loads(result.get("result", {}).get("value") or "{}")
                    if "chartsMs" in marks:
                        break
                    time.sleep(0.02)
                print(f"run {run + 1}: first render {marks.get('firstRenderMs')} ms, charts drawn {marks.get('chartsMs')} ms")
        finally:
            browser.kill()
            browser.wait()
