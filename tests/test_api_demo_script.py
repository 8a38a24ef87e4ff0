"""scripts/api-demo.sh -- the README's curl session -- really runs: demo deployment,
``crmkit serve`` on a free loopback port, token, form, convert, move, and a clean stop."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "api-demo.sh"


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl")
def test_api_demo_script_runs_end_to_end(tmp_path: Path) -> None:
    crmkit = Path(sys.executable).parent / "crmkit"
    assert crmkit.exists(), crmkit
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CRMKIT_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(CRMKIT=str(crmkit), PYTHON=sys.executable, TMPDIR=str(tmp_path), NO_PROXY="127.0.0.1",
               no_proxy="127.0.0.1")
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    urls = set(re.findall(r"http://[^/\s]+/", out))
    assert urls and all(re.fullmatch(r"http://127\.0\.0\.1:\d+/", u) for u in urls), urls  # loopback only
    assert '{"received":true,"lead_id":' in out
    assert '"status":"converted"' in out and '"stage":"proposal_sent"' in out
    assert "idempotent-replayed: true" in out and '409 {"error":{"code":"conflict"' in out
    assert "deal.stage_changed deal" in out and out.rstrip().endswith("== done")
    assert not list(tmp_path.glob("crmkit-api-demo.*")), "the script leaves its directory behind"
    port = re.search(r"crmkit serve --port (\d+)", out)
    assert port is not None
    # the server is stopped: nothing listens on its port any more
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        assert s.connect_ex(("127.0.0.1", int(port.group(1)))) != 0
