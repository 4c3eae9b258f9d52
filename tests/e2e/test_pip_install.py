"""The pip way, as a Python user takes it: a clean venv, `pip install .` with no extras, then
`sparring serve` answers /healthz with English recognition and `sparring demo` runs a call
with transcripts. The venv is removed afterwards; pip's own cache makes a rerun quick.

Needs the package index. Without one the test skips and says why, except under CI (the
`CI` variable, which .ci/run sets), where an install that fails is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.waiting import wait_for_blocking

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.install

# What pip prints when it cannot reach an index or find a package there.
UNREACHABLE = (
    "Could not find a version that satisfies",
    "No matching distribution found",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
)
# Left out of the copy that pip builds from: environments, caches and old build trees.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "out"
)
INSTALL_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


@pytest.fixture
def clean_venv(tmp_path: Path):
    """A new venv under tmp_path with `pip install .` of a copy of this checkout."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    started = time.monotonic()
    result = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(source)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, cwd=tmp_path,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    install_s = time.monotonic() - started
    try:
        if result.returncode != 0:
            unreachable = any(text in result.stderr for text in UNREACHABLE)
            if unreachable and not os.environ.get("CI"):
                pytest.skip(
                    "no package index reachable for `pip install .` (set CI=1 to fail instead): "
                    + result.stderr.strip().splitlines()[-1]
                )
            pytest.fail(f"pip install . failed:\n{result.stderr}")
        print(f"\npip install . took {install_s:.0f} s; the venv holds {size_mb(venv):.0f} MB")
        yield venv
    finally:
        shutil.rmtree(venv, ignore_errors=True)


def test_pip_install_gives_a_working_serve_and_demo(clean_venv: Path, tmp_path: Path) -> None:
    bin_dir = clean_venv / "bin"
    env = {
        **os.environ,
        "HOME": str(tmp_path),  # data and model caches land in the throwaway home
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHONPATH": "",
    }
    # The test tools stay in the `test` extra.
    no_pytest = subprocess.run(
        [str(bin_dir / "python"), "-c", "import pytest"], capture_output=True, cwd=tmp_path
    )
    assert no_pytest.returncode != 0

    started = time.monotonic()
    port = free_port()
    serve = subprocess.Popen(
        [str(bin_dir / "sparring"), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
    )
    watchdog = threading.Timer(120, serve.kill)
    watchdog.start()

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        wait_for_blocking(healthy, 90, "the pip-installed server answers /healthz")
        print(f"sparring serve answered /healthz after {time.monotonic() - started:.1f} s")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/languages", timeout=5) as r:
            listed = {e["code"]: e for e in json.loads(r.read())["languages"]}
        assert listed["en"]["recognition"] == "on"
        assert listed["nl"] == {
            "code": "nl",
            "recognition": "unavailable",
            "loaded": False,
            "install": "pip install 'sparring[nl]'",
        }
    finally:
        watchdog.cancel()
        serve.send_signal(signal.SIGINT)
        out, err = serve.communicate(timeout=20)
    assert serve.returncode == 0, err
    assert "Traceback" not in err, err
    assert "recognition:      en (tiny.en); nl not installed" in out

    started = time.monotonic()
    demo = subprocess.run(
        [str(bin_dir / "sparring"), "demo", "--speed", "30", "--no-color"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env,
    )
    print(f"sparring demo ran in {time.monotonic() - started:.1f} s")
    assert demo.returncode == 0, demo.stderr
    assert "Traceback" not in demo.stderr, demo.stderr
    assert "Summary of the call" in demo.stdout
    said = [line for line in demo.stdout.splitlines() if "  rep: " in line]
    assert said, "the demo printed no transcript of the rep"
