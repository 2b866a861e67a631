"""`dojo ui` serves the Dagster UI on 127.0.0.1; headless Chromium finds our assets in the asset graph."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ASSETS = ("raw_files", "task", "leaderboard", "catalog")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dojo ui exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.mark.browser
def test_asset_graph_shows_the_assets(tmp_path):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run .ci/setup --test (it installs it)")
    from playwright.sync_api import sync_playwright

    port = free_port()
    home = tmp_path / "home"
    env = os.environ | {"DOJO_HOME": str(home)}
    # A session of its own, so the whole dagster dev tree (webserver, daemon, code server) dies with it.
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dojo"), "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/server_info", process)
        assert "enabled: false" in (home / "dagster" / "dagster.yaml").read_text()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-quic",
                ],
            )
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}/asset-groups", wait_until="domcontentloaded")
            page.get_by_text("curation", exact=True).first.wait_for(timeout=120_000)
            skip = page.get_by_role("button", name="Skip")  # Dagster's first-visit community dialog
            if skip.count():
                skip.click()
            # The lineage shows collapsed groups; open each group's row in the tree beside the graph.
            for group in ("curation", "catalog"):
                box = page.get_by_text(group, exact=True).first.bounding_box()
                assert box is not None
                page.mouse.click(box["x"] - 40, box["y"] + box["height"] / 2)
            for name in ASSETS:
                page.get_by_text(name, exact=True).first.wait_for(timeout=30_000)
            page.screenshot(path=str(tmp_path / "asset-graph.png"))
            browser.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
