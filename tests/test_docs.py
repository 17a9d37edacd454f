"""The README and docs/: short, generated tables current, links that resolve, a quickstart that runs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from loopzoo import card, docs_tables

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

pytestmark = pytest.mark.skipif(not (ROOT / "docs").is_dir(), reason="not run from a source checkout")


def test_the_readme_fits_a_newcomers_first_screens():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    text = "\n".join(lines)
    for needed in ('pip install -e ".[chess,web]"', "make demo", "make test", "loopzoo.load(", ".solve(",
                   "docs/img/serve.png", "docs/design.md", "arXiv 2604.15259"):
        assert needed in text, needed


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == "make test" and re.search(r"^make test\s", readme, re.M)


BLOCKS = [(page, *block) for page in PAGES for block in docs_tables.blocks(page.read_text())]


def test_the_results_tables_are_generated():
    found = {(page.relative_to(ROOT).as_posix(), name) for page, name, _, _ in BLOCKS}
    for name in ("zoo-all", "zoo-flagships", "training-throughput", "inference-speed", "inference-speed-w256",
                 "verify-flagships", "breadth-sudoku", "breadth-sudoku-public", "breadth-chess", "sudoku-difficulty",
                 "lichess-flagship", "chess-recipes", "sudoku-recipes"):
        assert (docs_tables.TABLES[name].page, name) in found, name


@pytest.mark.parametrize("page, name, command, body", BLOCKS, ids=[f"{b[0].name}:{b[1]}" for b in BLOCKS])
def test_every_generated_table_renders_from_its_source(page, name, command, body):
    """What a page holds between a table's markers is what its JSON (the zoo's: the bundled checkpoints)
    renders to: a hand edit fails here. Nothing is measured: the renderers read saved results only."""
    spec = docs_tables.table(name)
    assert page == ROOT / spec.page and command == spec.command
    assert body == docs_tables.render(name), f"{spec.page}: {name} is stale or edited by hand; run {spec.command} " \
        "(or python -m loopzoo.docs_tables to render it from docs/results/ again)"
    if spec.results:
        results = docs_tables.load(name)
        assert "source" in results or "command" in results and "date" in results, f"{name}: say where the numbers come from"


def test_every_results_file_has_its_table():
    names = {p.stem for p in (ROOT / docs_tables.RESULTS).glob("*.json")}
    assert names <= {name for _, name, _, _ in BLOCKS}, "a results file whose table no page holds"


def test_the_flagship_table_reads_the_cards():
    import json

    from loopzoo.hub import bundled

    table = card.zoo_table("flagships")
    meta = json.loads((bundled()["sudoku-internal-recall-outernorm"] / "config.json").read_text())
    iters = meta["model"]["iters"]
    assert f"| {iters} | {meta['eval']['val']['at'][str(iters)]:.1%} of 500 |" in table
    assert len(table.splitlines()) == 2 + sum(n.endswith("-internal-recall-outernorm") for n in bundled())
    with pytest.raises(ValueError):
        card.zoo_table("some")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    text = page.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    missing = [t for t in targets if "://" not in t and not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


def test_no_docstring_cites_the_unpublished_spec():
    hits = [f"{p.relative_to(ROOT)}:{i}" for d in ("loopzoo", "scripts", "tests", "plugins") for p in (ROOT / d).rglob("*.py")
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
            if re.search(r"\bSPEC (section|sections|\d)", line) and p.name != "test_docs.py"]
    assert not hits, hits


@pytest.mark.subprocess
def test_the_readme_quickstart_runs(tmp_path):
    code = re.search(r"## Quickstart\n\n```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    assert len(code.strip().splitlines()) <= 12
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "13" and re.fullmatch(r"[1-9]{81}", lines[1])
    assert lines[2].startswith(f"Solution(answer='{lines[1]}'") and "verified=True" in lines[2]
    assert lines[3] == "0100" * 4 and re.fullmatch(r"[a-h][1-8][a-h][1-8][qrbn]?", lines[4])
