"""Real, non-editable installs of the example plugins and the fixture plugins, once per session.

Each package is copied to a temporary directory (so no build files land in the repository) and
installed with ``pip install --target`` without network, dependencies or build isolation: the
wheel is built by the venv's own setuptools. ``good`` holds the example plugins (loopzoo-mazes,
loopzoo-sandwich); ``bad`` the fixtures (a plugin that fails to import, one shadowing built-ins).
Checks that touch loopzoo's registries run in a subprocess with ``PYTHONPATH`` set, so this
pytest process never sees the plugins (no cached factories, no spent warn-once state).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [ROOT / "plugins" / "loopzoo-mazes", ROOT / "plugins" / "loopzoo-sandwich"]
FIXTURES = [Path(__file__).parent / "fixtures" / "broken-plugin", Path(__file__).parent / "fixtures" / "shadow-plugin"]


@dataclass
class Installed:
    good: Path  # site directory with the example plugins
    bad: Path  # site directory with the broken and the shadowing fixture

    def env(self, *sites: Path, **extra: str) -> dict[str, str]:
        """Environment for a subprocess that sees the plugins installed in ``sites``."""
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(PYTHONPATH=os.pathsep.join(map(str, sites)), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1",
                   PYTHONWARNINGS="default", **extra)
        return env

    def python(self, code: str, *sites: Path, timeout: float = 120, **extra: str) -> dict:
        """Run ``code`` with ``sites`` on the path in a fresh interpreter; the JSON object it prints last.

        ``code`` may call ``cli(*argv) -> {"code", "out", "err"}``, which runs the ``loopzoo``
        command line (``loopzoo.cli.main``) in that process: one interpreter start for many commands.
        """
        out = subprocess.run([sys.executable, "-c", PRELUDE + textwrap.dedent(code)], env=self.env(*sites, **extra),
                             capture_output=True, text=True, timeout=timeout, cwd=ROOT)
        assert out.returncode == 0, f"subprocess failed:\n{out.stdout}\n{out.stderr}"
        return json.loads(out.stdout.strip().splitlines()[-1])


PRELUDE = """\
import contextlib, io, json, warnings
import torch
torch.set_num_threads(1)

def cli(*argv):
    from loopzoo.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return {"code": code, "out": out.getvalue(), "err": err.getvalue()}
"""


def pip_install(packages: list[Path], work: Path, target: Path) -> None:
    copies = []
    for package in packages:
        copy = work / package.name
        shutil.copytree(package, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        copies.append(str(copy))
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
           "--disable-pip-version-check", "--target", str(target), *copies]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "PIP_NO_INPUT": "1"})
    assert out.returncode == 0, f"pip install failed:\n{out.stdout}\n{out.stderr}"


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("plugins")
    good, bad = root / "site-good", root / "site-bad"
    pip_install(EXAMPLES, root / "src-good", good)
    pip_install(FIXTURES, root / "src-bad", bad)
    return Installed(good, bad)
