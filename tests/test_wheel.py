"""The built wheel works outside the source tree: list, info, solve, a two-step train, its card, load.

Offline: the wheel is built without build isolation (setuptools from this venv) and installed with
``--no-index --no-deps`` into a fresh venv. That venv sees this venv's site-packages (torch and
the other dependencies) through a ``.pth`` line, after its own: ``loopzoo`` is imported from the
installed wheel, and this venv's editable-install hook is not run (a directory added by a ``.pth``
line does not have its own ``.pth`` files processed). ``venv --system-site-packages`` would give the
base interpreter's packages instead, which need not hold torch.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.wheel, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[1]
NAME = "prefix-sums-internal-recall-outernorm"


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, dict[str, str], Path]:
    """(the fresh venv's bin directory, its environment, a working directory outside the source tree)."""
    if not (ROOT / "pyproject.toml").is_file():
        pytest.skip("not run from a source checkout")
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so that the build's build/ and egg-info stay out of the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "loopzoo", src / "loopzoo", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", str(tmp / "dist"), str(src)], tmp, env)
    (wheel,) = (tmp / "dist").glob("loopzoo-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "loopzoo/templates/model_card.md" in names
    assert f"loopzoo/zoo/{NAME}/model.safetensors" in names and "loopzoo/data/bundled/manifest.json" in names

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    python = venv / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).strip()
    here = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "build-venv.pth").write_text(here + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-deps",
          "--ignore-installed", "-q", str(wheel)], tmp, env)
    work = tmp / "work"
    work.mkdir()
    return venv / "bin", env, work


def test_the_installed_package_is_the_wheel_not_the_checkout(installed):
    bin_dir, env, work = installed
    where = _run([str(bin_dir / "python"), "-c", "import loopzoo; print(loopzoo.__file__)"], work, env)
    assert where.startswith(str(bin_dir.parent)) and str(ROOT) not in where


def test_list_info_and_solve_from_the_wheel(installed):
    bin_dir, env, work = installed
    cli = str(bin_dir / "loopzoo")
    assert len(_run([cli, "list", "sudoku-*"], work, env).split()) == 13
    info = _run([cli, "info", NAME], work, env)
    assert f"bundled checkpoint {bin_dir.parent}" in info and "width 64" in info and "recommended" in info
    out = _run([cli, "solve", NAME, "0110100111", "--iters", "60", "--halt", "residual:1e-3"], work, env)
    assert out.split()[0] == "0100111010"  # the running parities of 0110100111


def test_train_two_steps_write_a_card_and_load_it_from_the_wheel(installed):
    bin_dir, env, work = installed
    cli = str(bin_dir / "loopzoo")
    _run([cli, "train", NAME, "--out", "run", "--width", "16", "--heads", "2", "--max-steps", "2", "--batch-size", "8",
          "--train-size", "16", "--eval-samples", "8", "--eval-iters", "3", "--max-iters", "3", "--length", "8",
          "--threads", "1", "--precision", "fp32", "--quiet"], work, env)
    _run([cli, "card", "run"], work, env)
    card = (work / "run" / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: loopzoo") and f"# {NAME}" in card and "Recommended iterations: **3**" in card
    out = _run([str(bin_dir / "python"), "-c",
                "import loopzoo, loopzoo.card as c, loopzoo.hub\n"
                "m = loopzoo.load('run'); a = m.solve('01101', iters=3); print(len(a), set(a) <= set('01'))\n"
                f"d = loopzoo.hub.bundled()[{NAME!r}]; print(c.render(d) == (d / 'README.md').read_text())"], work, env)
    assert out.split() == ["5", "True", "True"]  # a 5-bit answer; a bundled card re-renders to the shipped one
