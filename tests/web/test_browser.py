"""The page in a real browser: serve it on 127.0.0.1, open it in headless Chromium, solve a sudoku
from the examples, move the iteration slider and check the grid the browser shows.

Skips cleanly without Chromium (``apt-get install chromium``; ``.ci/run`` installs it), Gradio or
websocket-client. ``LOOPZOO_SCREENSHOT=PATH`` also saves a screenshot of the page there (the
README's picture).
"""
from __future__ import annotations

import json
import os
import socket

import pytest

from web_helpers import Browser, find_browser

pytest.importorskip("gradio")
pytest.importorskip("websocket")
pytest.importorskip("matplotlib")
BROWSER = find_browser()
pytestmark = [pytest.mark.browser, pytest.mark.subprocess,
              pytest.mark.skipif(BROWSER is None, reason="no chromium (apt-get install chromium)")]

FLAGSHIP = "sudoku-internal-recall-outernorm"
SHOWN = 5  # the iteration the test moves the slider to


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def url():
    from loopzoo.web import actions
    from loopzoo.web.page import build, launch

    if FLAGSHIP not in actions.bundled_models():
        pytest.skip(f"{FLAGSHIP} is not bundled")
    demo = build(default=FLAGSHIP)
    port = free_port()
    launch(demo, host="127.0.0.1", port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def browser():
    with Browser(BROWSER) as b:
        yield b


def set_value(selector: str, value: str) -> str:
    """JavaScript that types ``value`` into the input ``selector`` as a user would."""
    return (f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.value = {json.dumps(value)};"
            "el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true}));"
            "return true; })()")


def grid_cells(browser) -> list[dict]:
    return browser.evaluate("[...document.querySelectorAll('#lz-view table.lz-sudoku td')].map(td => "
                            "({digit: td.textContent.trim(), classes: [...td.classList]}))")


def breaks_rules(digits: list[int], givens: list[int]) -> set[int]:
    """Cells holding a digit repeated in their row, column or box, or a changed given."""
    bad = {i for i in range(81) if givens[i] and givens[i] != digits[i]}
    units = [[9 * r + c for c in range(9)] for r in range(9)] + [[9 * r + c for r in range(9)] for c in range(9)]
    units += [[9 * (br + r) + bc + c for r in range(3) for c in range(3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
    for unit in units:
        for i in unit:
            if sum(digits[j] == digits[i] for j in unit) > 1:
                bad.add(i)
    return bad


def test_solve_a_sudoku_example_and_move_the_slider(url, browser):
    import loopzoo
    from loopzoo.web.examples import examples

    hard = next(e for e in examples("sudoku") if e.label.startswith("hard 1"))
    browser.open(url)
    browser.wait_for("document.querySelector('#lz-examples input[type=radio]') && "
                     "document.querySelector('#lz-input textarea').value.length === 81")
    browser.evaluate(f"document.querySelector('#lz-examples input[value^=\"hard 1\"]').click()")
    browser.wait_for(f"document.querySelector('#lz-input textarea').value === {json.dumps(hard.text)}")
    iters = int(browser.evaluate("document.querySelector('#lz-iters input[type=number]').value"))
    assert iters == loopzoo.load(FLAGSHIP).config.iters  # the model's recommended iterations

    browser.evaluate("document.querySelector('#lz-solve').click()")
    browser.wait_for(f"document.querySelector('#lz-view .lz-view[data-iter=\"{iters}\"]')")
    browser.wait_for("document.querySelector('#lz-curves img, #lz-curves svg')")  # the curves arrived
    assert f"expected {hard.answer}" in browser.evaluate("document.querySelector('#lz-summary').innerText")

    browser.evaluate(set_value("#lz-step input[type=range]", str(SHOWN)))
    browser.wait_for(f"document.querySelector('#lz-view .lz-view[data-iter=\"{SHOWN}\"]')")
    cells = grid_cells(browser)
    assert len(cells) == 81
    digits = [int(c["digit"]) for c in cells]
    expected = loopzoo.load(FLAGSHIP).solve(hard.text, iters=SHOWN)
    assert "".join(map(str, digits)) == expected  # the grid shows the answer after iteration SHOWN
    givens = [0 if ch == "." else int(ch) for ch in hard.text]
    assert [i for i, c in enumerate(cells) if "given" in c["classes"]] == [i for i in range(81) if givens[i]]
    assert {i for i, c in enumerate(cells) if "break" in c["classes"]} == breaks_rules(digits, givens)
    caption = browser.evaluate("document.querySelector('#lz-caption').innerText")
    assert f"iteration {SHOWN} of {iters}" in caption

    screenshot = os.environ.get("LOOPZOO_SCREENSHOT")
    if screenshot:
        browser.screenshot(screenshot)


def test_a_malformed_input_shows_the_input_error_not_a_traceback(url, browser):
    browser.open(url)
    browser.wait_for("document.querySelector('#lz-input textarea').value.length === 81")
    browser.evaluate(set_value("#lz-input textarea", "12345"))
    browser.evaluate("document.querySelector('#lz-solve').click()")
    status = browser.wait_for("(t => t.includes('error') && t)(document.querySelector('#lz-status').innerText)")
    assert "sudoku input 0: a sudoku string has 81 cells, got 5" in status
    assert "Traceback" not in browser.evaluate("document.body.innerText")
