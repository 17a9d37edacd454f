"""``loopzoo serve`` without its extras, and ``import loopzoo`` staying free of the web dependencies."""
from __future__ import annotations

import subprocess
import sys

import pytest

from loopzoo.cli import main


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


@pytest.mark.subprocess
def test_import_loopzoo_and_its_cli_do_not_import_the_web_dependencies():
    code = ("import sys, loopzoo, loopzoo.cli; loopzoo.cli.build_parser(); "
            "print(sorted(m for m in ('gradio', 'loopzoo.web.page', 'fastapi', 'websocket') if m in sys.modules))")
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.subprocess
def test_serve_without_gradio_says_what_to_install():
    out = run_python("import sys; sys.modules['gradio'] = None\n"
                     "from loopzoo.cli import main; sys.exit(main(['serve']))")
    assert out.returncode == 2
    assert "pip install 'loopzoo[web]'" in out.stderr and "Traceback" not in out.stderr


def test_serve_refuses_a_bad_port(capsys):
    assert main(["serve", "--port", "70000"]) == 2
    assert "--port must be in 1..65535, got 70000" in capsys.readouterr().err
