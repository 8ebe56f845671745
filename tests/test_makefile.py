"""The Makefile, run by make for real in a scratch copy of the project, with
stand-in programs (python3, pip, backinstock, apt-get) that record what they
were asked: installing the project for real is `make`'s own business and
takes a minute."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKE = shutil.which("make") or "make"
JSON_LINE = '{"api_url": "http://127.0.0.1:8080", "api_key": "bis_x"}'


def script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "tests/browser_setup.sh"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    calls = tmp_path / "calls.log"
    # `python3 -m venv DIR` makes a venv whose pip and backinstock are chatty stand-ins.
    kit = tmp_path / "stand-ins"
    script(kit / "pip", f'echo "pip $*" >> {calls}\necho "Successfully installed backinstock"\n')
    script(kit / "backinstock", f"echo \"backinstock $*\" >> {calls}\necho 'a log line' >&2\necho '{JSON_LINE}'\n")
    shutil.copy(kit / "backinstock", kit / "pytest")
    script(kit / "python", "exit 0\n")
    script(tmp_path / "fake-python3", f'mkdir -p "$3/bin"\ncp -p {kit}/* "$3/bin/"\necho "created virtual environment"\n')
    return tmp_path


def make(project: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path or os.environ["PATH"]}
    return subprocess.run([MAKE, "-C", str(project), "--no-print-directory",
                           f"PYTHON={project / 'fake-python3'}", *args],
                          env=env, capture_output=True, text=True, timeout=60)


def calls(project: Path) -> list[str]:
    log = project / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_make_run_prints_only_the_json_line_and_installs_the_dev_extra(project):
    result = make(project, "run")
    assert result.returncode == 0, result.stderr
    assert result.stdout == JSON_LINE + "\n"
    json.loads(result.stdout)
    assert "a log line" in result.stderr  # logs and set-up chatter go to stderr
    installs = [c for c in calls(project) if c.startswith("pip install") and " -e " in c]
    assert installs == ["pip install -q -e .[dev]"]
    assert calls(project)[-1] == "backinstock dev"

    again = make(project, "run")  # installed once: the second run only runs
    assert again.stdout == JSON_LINE + "\n"
    assert len([c for c in calls(project) if c.startswith("pip install -q -e")]) == 1


def test_make_test_installs_dev_and_test_extras(project):
    fake_bin = project / "bin"
    script(fake_bin / "promtool", "exit 0\n")
    result = make(project, "test", "PYTEST_ARGS=-k nothing", path=f"{fake_bin}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert "pip install -q -e .[dev,test]" in calls(project)
    assert calls(project)[-1] == "backinstock -n 4 --dist loadgroup -k nothing"  # the pytest stand-in


def test_make_shell_env_runs_the_command_without_echo(project):
    result = make(project, "shell-env")
    assert result.returncode == 0, result.stderr
    assert calls(project)[-1] == "backinstock shell-env"
    assert result.stdout == JSON_LINE + "\n"  # the command's own output, no echo of it


@pytest.mark.parametrize("have_promtool", [True, False])
def test_promtool_is_installed_only_when_missing(project, have_promtool):
    fake_bin = project / "bin"
    record = project / "apt.log"
    script(fake_bin / "apt-get", f'echo "apt-get $*" >> {record}\n')
    script(fake_bin / "id", "echo 0\n")  # as root, as CI runs
    if have_promtool:
        script(fake_bin / "promtool", "exit 0\n")
    result = make(project, "promtool", path=str(fake_bin))
    assert result.returncode == 0, result.stderr
    asked = record.read_text().splitlines() if record.exists() else []
    if have_promtool:
        assert asked == []
    else:
        assert asked[-1] == "apt-get install -y -qq --no-install-recommends prometheus"
        assert "installing promtool" in result.stderr and result.stdout == ""


def test_make_clean_removes_build_and_test_leftovers(project):
    for directory in (".venv/bin", ".data/pg", "backinstock.egg-info", ".pytest_cache",
                      "__pycache__", "api_service/__pycache__", "api_service/cli/__pycache__", ".git/__pycache__"):
        (project / directory).mkdir(parents=True, exist_ok=True)
    (project / "api_service" / "app.py").write_text("")
    result = make(project, "clean")
    assert result.returncode == 0, result.stderr
    for gone in (".venv", ".data", "backinstock.egg-info", ".pytest_cache", "__pycache__",
                 "api_service/__pycache__", "api_service/cli/__pycache__"):
        assert not (project / gone).exists(), gone
    assert (project / "api_service" / "app.py").exists() and (project / "Makefile").exists()
    assert (project / ".git" / "__pycache__").exists()  # git's own directory is left alone
