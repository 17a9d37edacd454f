"""The per-task views: what the page draws for one iteration, read back from the HTML."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from loopzoo.registry import tasks, views
from loopzoo.web import actions
from loopzoo.web.record import Recording
from loopzoo.web.views import PrefixSumsView, SudokuView, View, rule_breaks, view_for

SOLVED = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"


class Cells(HTMLParser):
    """``(attributes, text)`` of every ``<td>`` or ``<span>`` in an HTML string."""

    def __init__(self, tag: str):
        super().__init__()
        self.tag, self.found, self._open = tag, [], None

    def handle_starttag(self, tag, attrs):
        if tag == self.tag:
            self._open = [dict(attrs), ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == self.tag and self._open is not None:
            self.found.append(tuple(self._open))
            self._open = None


def cells(html: str, tag: str) -> list[tuple[dict, str]]:
    parser = Cells(tag)
    parser.feed(html)
    return parser.found


def fake(task_name: str, text: str, answers: list[str], logits: np.ndarray, expected: str | None = None) -> Recording:
    task = tasks.get(task_name)()
    T = len(answers)
    return Recording("fake", task, text, task.parse(text, 0), answers, logits, np.ones(T), np.ones(T), expected)


@pytest.mark.parametrize("name", tasks.names())
def test_every_built_in_task_has_a_registered_view(name):
    assert name in views.names() and type(view_for(name)) is views.get(name)


def test_a_task_without_a_view_is_shown_as_text():
    rec = fake("prefix-sums", "01", ["01<b>"], np.zeros((1, 2, 2)))
    html = view_for("no-such-task").render(rec, 1)
    assert "01&lt;b&gt;" in html and 'data-iter="1"' in html and type(view_for("no-such-task")) is View


def test_rule_breaks_finds_repeats_and_changed_givens():
    digits = np.array([int(c) for c in SOLVED])
    givens = np.where(np.arange(81) % 3 == 0, digits, 0)
    assert rule_breaks(givens, digits) == {}
    broken = digits.copy()
    broken[1] = broken[0]  # row 1 and box 1 now hold 5 twice; column 2 lost its 3
    found = rule_breaks(givens, broken)
    assert set(found) == {0, 1} | {i for i in range(81) if i % 9 == 1 and broken[i] == broken[1]}
    assert any("repeated in row 1" in why for why in found[1])
    changed = digits.copy()
    changed[0], changed[3] = changed[3], changed[0]  # two givens of row 1 swapped: no repeat in the row
    assert any(why.startswith("given 5 changed to 6") for why in rule_breaks(givens, changed)[0])


def test_the_sudoku_grid_marks_givens_breaks_changes_and_confidence():
    puzzle = "." + SOLVED[1:40] + "." * 41
    first, second = "1" * 81, SOLVED[:1] + "2" + SOLVED[2:]  # iteration 2: one wrong cell, one changed given
    logits = np.zeros((2, 81, 9))
    logits[1, :, 0] = np.linspace(0, 8, 81)  # confidence grows along the grid
    rec = fake("sudoku", puzzle, [first, second], logits, expected=SOLVED)
    html = SudokuView().render(rec, 2)
    tds = cells(html, "td")
    assert len(tds) == 81 and "".join(text for _, text in tds) == second
    classes = [attrs["class"].split() for attrs, _ in tds]
    assert [i for i, c in enumerate(classes) if "given" in c] == list(range(1, 40))
    digits = np.array([int(c) for c in second])
    assert {i for i, c in enumerate(classes) if "break" in c} == set(rule_breaks(rec.parsed, digits))
    assert 1 in set(rule_breaks(rec.parsed, digits))  # the changed given
    assert [i for i, c in enumerate(classes) if "changed" in c] == [i for i in range(81) if first[i] != second[i]]
    alpha = [float(re.search(r"rgba\([^)]*, ([\d.]+)\)", attrs["style"]).group(1)) for attrs, _ in tds]
    assert alpha[-1] > alpha[0] and all(b >= a for a, b in zip(alpha, alpha[1:]))
    assert "80/81 cells right" in SudokuView().caption(rec, 2)


def test_the_bit_string_highlights_changed_and_wrong_bits():
    rec = fake("prefix-sums", "0110", ["0000", "0110"], np.zeros((2, 4, 2)))
    view = PrefixSumsView()
    rec.expected = view.known_answer(rec.parsed)
    assert rec.expected == "0100"
    spans = [(attrs["class"].split(), text) for attrs, text in cells(view.render(rec, 2), "span")]
    assert "".join(text for _, text in spans) == "0110"
    assert [i for i, (c, _) in enumerate(spans) if "changed" in c] == [1, 2]
    assert [i for i, (c, _) in enumerate(spans) if "wrong" in c] == [2]
    assert not any("changed" in c for c, _ in cells(view.render(rec, 1), "span"))  # nothing before iteration 1
    assert "2 bits changed" in view.caption(rec, 2) and "1 of 4 bits wrong" in view.caption(rec, 2)


def test_the_chess_board_shows_the_predicted_move_and_its_runners_up():
    chess = pytest.importorskip("chess")
    from loopzoo.data import load_split

    ds = load_split("chess", "test", n=1)
    rec = actions.solve("chess-internal-recall-outernorm", None, ds.inputs[0], 6)
    view = view_for("chess")
    for t in range(1, 7):
        ranked = view.ranked(rec, t)
        assert ranked[0][0].uci() == rec.answer(t).uci  # ranked as the task's decode picks its answer
        assert {m.uci() for m, _ in ranked} == {m.uci() for m in chess.Board(ds.inputs[0]).legal_moves}
    html = view.render(rec, 6)
    assert f'data-move="{rec.answer(6).uci}"' in html
    heads = re.findall(r'<polygon [^>]*fill="(#[0-9a-f]+)" class="arrow"', html)  # one head per arrow
    assert len(heads) == 1 + min(view.alternatives, len(ranked) - 1) and heads[-1] == "#15803dcc"  # the answer on top
    rows = cells(html, "tr")
    assert len(rows) == 1 + min(view.alternatives + 1, len(ranked))  # header, the answer, the runners-up
