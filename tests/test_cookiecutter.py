"""The plugin template generates a plugin that installs, loads through its entry point and passes its own tests.

The tests marked slow (~5 s: a virtual environment and an editable install) can be
deselected with ``-m "not slow"``. docs/writing-plugins.md shows the generated files
verbatim; a test keeps it so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import attrs
import pytest
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

from crmkit.core.plugins import installed_plugins

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "cookiecutter-plugin"
NAME = "window_handover"


@attrs.frozen
class Generated:
    project: Path
    python: Path


def _env() -> dict[str, str]:
    """The environment for child processes, without settings that would change what they load."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMKIT_", "PYTEST_", "PIP_"))}
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=120, check=False,
    )


def _make_venv(path: Path) -> Path:
    """A venv that sees this environment's packages (crmkit, pytest, setuptools, pip) under its own.

    ``--system-site-packages`` reaches only the base interpreter's packages; when the
    tests run inside a venv, a ``.pth`` file adds this environment's site-packages too.
    """
    venv.create(path, system_site_packages=True, with_pip=False)
    own = Path(sysconfig.get_path("purelib", scheme="venv", vars={"base": str(path), "platbase": str(path)}))
    outer = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    lines = [f"import site; site.addsitedir({p!r})" for p in outer]
    (own / "_crmkit_outer_env.pth").write_text("\n".join(lines) + "\n")
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    root = tmp_path_factory.mktemp("cookiecutter")
    project = Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, output_dir=str(root / "out"),
            extra_context={"plugin_name": NAME, "description": "Hand won window deals to installers.",
                           "author": "Test Author"},
        )
    )
    python = _make_venv(root / "venv")
    install = _run(python, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-build-isolation",
                   "-e", str(project), cwd=root)
    assert install.returncode == 0, install.stdout + install.stderr
    return Generated(project=project, python=python)


@pytest.mark.slow
def test_template_renders_every_file(generated: Generated) -> None:
    project = generated.project
    assert project.name == "crmkit-window-handover"
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        ".gitignore", "LICENSE", "README.md", "crmkit_window_handover/__init__.py",
        "crmkit_window_handover/hookspecs.py", "crmkit_window_handover/migrations/__init__.py",
        "crmkit_window_handover/migrations/versions/__init__.py",
        "crmkit_window_handover/migrations/versions/window_handover_0001_handovers.py",
        "crmkit_window_handover/plugin.py", "crmkit_window_handover/py.typed", "crmkit_window_handover/web.py",
        "pyproject.toml",
        "tests/conftest.py", "tests/test_plugin.py",
    ]
    for path in project.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "cookiecutter" not in text and "{{" not in text and "{%" not in text, path
    assert 'window_handover = "crmkit_window_handover.plugin"' in (project / "pyproject.toml").read_text()


@pytest.mark.slow
def test_generated_plugin_passes_its_own_tests(generated: Generated) -> None:
    result = _run(generated.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=generated.project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "10 passed" in result.stdout


@pytest.mark.slow
def test_crm_loads_generated_plugin_through_its_entry_point(generated: Generated, tmp_path: Path) -> None:
    code = f"""
import json
from crmkit import Crm, Settings
from crmkit.core.plugins import installed_plugins
settings = Settings(database="sqlite:///{(tmp_path / 'crm.db').as_posix()}", plugins=({NAME!r},))
with Crm(settings) as crm:
    module = crm.pm.get_plugin({NAME!r})
    found = installed_plugins()[{NAME!r}]
    print(json.dumps({{"module": module.__name__, "dist": found.distribution, "version": found.version,
                      "tables": sorted(crm.tables)}}))
"""
    result = _run(generated.python, "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["module"] == "crmkit_window_handover.plugin"
    assert (loaded["dist"], loaded["version"]) == ("crmkit-window-handover", "0.1.0")
    assert f"{NAME}_handovers" in loaded["tables"]
    # Installed only in the generated plugin's venv: this environment does not see it.
    assert NAME not in installed_plugins()


def test_template_refuses_a_bad_plugin_name(tmp_path: Path) -> None:
    with pytest.raises(FailedHookException):
        cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path), extra_context={"plugin_name": "Bad-Name"})
    assert not any(tmp_path.iterdir())


def test_writing_plugins_doc_shows_the_generated_files(tmp_path: Path) -> None:
    project = Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(tmp_path)))
    doc = (ROOT / "docs" / "writing-plugins.md").read_text()
    shown = re.findall(rf"^`{project.name}/([^`]+)`:\n\n```[a-z]+\n(.*?)^```$", doc, re.MULTILINE | re.DOTALL)
    assert {path for path, _ in shown} >= {"pyproject.toml", "crmkit_handover/plugin.py", "tests/conftest.py",
                                           "tests/test_plugin.py"}
    for path, code in shown:
        assert code == (project / path).read_text(), f"docs/writing-plugins.md shows an outdated {path}"
