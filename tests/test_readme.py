"""README.md's examples run literally, top to bottom, against a fresh ``crmkit demo``: the CLI
block, then the curl session continuing it (the only change: the demo is served on a free
port instead of 8000). Output shown in the README must match ("…" stands for anything)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def cli_block() -> str:
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", README, re.S) if "export CRMKIT_CONFIG" in b]
    return block


def curl_session() -> list[tuple[str, str]]:
    """(command, expected output) pairs of the README's console block."""
    [block] = [b for b in re.findall(r"```console\n(.*?)```", README, re.S) if "forms/contact_us" in b]
    pairs: list[tuple[str, str]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        assert lines[i].startswith("$ "), lines[i]
        command = lines[i][2:]
        while command.endswith("\\"):
            i += 1
            command += "\n" + lines[i]
        i += 1
        output = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        pairs.append((command, "\n".join(output)))
    return pairs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl")
def test_the_readme_runs_literally(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRMKIT_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", PATH=os.environ.get("PATH", ""))
    (tmp_path / ".venv").symlink_to(BIN.parent)  # `make demo` made ./.venv; the test's venv stands in
    subprocess.run([str(BIN / "crmkit"), "demo", "demo"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = _free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([str(BIN / "crmkit"), "--config", "demo/crmkit.toml", "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        session = curl_session()
        script = ["set -euo pipefail", cli_block(), "echo '@@ end of the CLI block'"]
        for n, (command, _) in enumerate(session):
            script += [f"echo '@@ {n}'", command.replace("127.0.0.1:8000", f"127.0.0.1:{port}"), "echo"]
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Converted lead 48: contact 39, deal 35" in done.stdout
        assert "Lost deal 16" in done.stdout
        parts = done.stdout.split("@@ end of the CLI block\n", 1)[1]
        outputs = re.split(r"^@@ \d+\n", parts, flags=re.M)[1:]
        for (command, expected), actual in zip(session, outputs):
            if not expected:
                continue
            pattern = ".*?".join(re.escape(piece) for piece in expected.split("…"))
            assert re.fullmatch(pattern, actual.strip(), re.S), f"$ {command}\nexpected: {expected}\ngot: {actual}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
