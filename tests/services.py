"""Real outside programs for the tests: Mosquitto and nginx, each on its own loopback port.

The tests start and kill their own processes (never a system service), so a broker outage
is a real one. Imported as `tests.services`; the binaries come from Debian
(`.ci/system-deps` installs them).
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.waiting import wait_for_blocking

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    """A loopback TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int) -> bool:
    """Whether something listens on the loopback port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def require(binary: str) -> None:
    """Skips the test where the Debian package is missing (`.ci/system-deps` installs it)."""
    if not Path(binary).exists():
        pytest.skip(f"{binary} is not installed (.ci/system-deps)")


class Mosquitto:
    """One broker process on a fixed loopback port: started, killed, started again."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.config = directory / "mosquitto.conf"
        # No persistence: a restarted broker has forgotten every retained message, as a
        # replaced broker would; the nodes must publish theirs again.
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.log = directory / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Starts the broker and waits until it accepts connections."""
        require(MOSQUITTO)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_blocking(
            lambda: accepts(self.port), START_TIMEOUT_S, f"mosquitto on port {self.port}", 0.02
        )

    def kill(self) -> None:
        """Kills the broker at once (SIGKILL): an outage, not a shutdown."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=START_TIMEOUT_S)
            self.process = None

    def stop(self) -> None:
        """Ends the broker if it runs."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


class Nginx:
    """nginx in the foreground on a loopback port, running a conf.d file such as docs/nginx.conf.

    `addresses` replaces the file's upstream addresses (`10.0.0.11:8765` -> `127.0.0.1:PORT`);
    its `listen 80;` becomes this instance's loopback port.
    """

    def __init__(self, directory: Path, site: str, addresses: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.directory = directory
        for old, new in addresses.items():
            site = site.replace(old, new)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        (directory / "site.conf").write_text(site)
        temp = "\n".join(
            f"  {kind}_temp_path {directory}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.config = directory / "nginx.conf"
        self.config.write_text(
            f"daemon off;\npid {directory}/nginx.pid;\nerror_log {directory}/error.log info;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log {directory}/access.log;\n{temp}\n"
            f"  include {directory}/site.conf;\n}}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Checks the configuration, starts nginx and waits until it accepts connections."""
        require(NGINX)
        command = [NGINX, "-p", str(self.directory), "-e", str(self.directory / "error.log")]
        command += ["-c", str(self.config)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
        wait_for_blocking(
            lambda: accepts(self.port), START_TIMEOUT_S, f"nginx on port {self.port}", 0.02
        )

    def stop(self) -> None:
        """Ends nginx (SIGTERM: a fast stop) if it runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
