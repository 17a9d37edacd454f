"""Fuzzed files: config.json text, safetensors checkpoints, data files of each format.

Also checks that nothing in loopzoo can unpickle: no pickle-based loader in the source, and a
pickle that would run code is refused by name (safetensors) and never executed.
"""
from __future__ import annotations

import atexit
import gzip
import itertools
import json
import lzma
import pickle
import re
import shutil
import struct
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import loopzoo
from loopzoo import checkpoint
from loopzoo.config import ModelConfig
from loopzoo.config import approx_parameters
from loopzoo.data import chess as chess_data
from loopzoo.data import load_split
from loopzoo.data import sudoku as sudoku_data
from loopzoo.errors import CheckpointError
from loopzoo.model import build

pytestmark = pytest.mark.fuzz

ROOT = Path(__file__).resolve().parents[2]
WORK = Path(tempfile.mkdtemp(prefix="loopzoo-fuzz-"))
atexit.register(shutil.rmtree, WORK, ignore_errors=True)
COUNTER = itertools.count()


def fresh(suffix: str = "") -> Path:
    """A new path under the fuzz work directory (unique, so no reader cache sees an old file)."""
    return WORK / f"case{next(COUNTER)}{suffix}"


# --- config.json -----------------------------------------------------------------------------
FIELD_NAMES = ["task", "recall", "norm", "cell", "width", "heads", "mlp_ratio", "window", "depth", "iters", "rope_base", "name"]
NAMES = ["sudoku", "chess", "prefix-sums", "mazes", "internal-recall", "recall", "no-recall", "outernorm", "prenorm",
         "perinorm", "gru", "full", "local", "sudoku-internal-recall-outernorm"]
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=10)
field_values = st.one_of(st.integers(-3, 70), st.sampled_from([2, 4, 8, 16, 32, 64, 256, 10**5, 10**7, 10**30]),
                         st.integers(), st.floats(), st.text(max_size=12), st.sampled_from(NAMES), st.none(), st.booleans(),
                         json_values)
config_dicts = st.dictionaries(st.sampled_from(FIELD_NAMES + ["bogus"]), field_values, max_size=12)
VALID_CONFIG = {"task": "sudoku", "recall": "internal-recall", "norm": "outernorm", "width": 16, "heads": 2, "iters": 3}
near_valid = st.tuples(st.sampled_from([{**VALID_CONFIG, "task": t} for t in ("sudoku", "chess", "prefix-sums")]),
                       st.dictionaries(st.sampled_from(FIELD_NAMES + ["bogus"]), field_values, max_size=2),
                       st.lists(st.sampled_from(FIELD_NAMES), max_size=1)).map(
    lambda t: {k: v for k, v in {**t[0], **t[1]}.items() if k not in t[2]})
config_texts = st.one_of(
    near_valid.map(json.dumps),
    near_valid.map(lambda d: json.dumps({"model": d})),
    config_dicts.map(json.dumps),
    config_dicts.map(lambda d: json.dumps({"model": d})),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.sampled_from(["1" * 5000, "[" * 100_000, '{"task": "sudoku", "width": 1e400}', '{"task": "sudoku", "iters": ' + "9" * 5000 + "}",
                     '{"task": "sudoku", "rope_base": NaN}', '{"task": "sudoku", "rope_base": -Infinity}', "\ufeff{}", "\x00"]),
)


def config_case(text: str):
    path = fresh()
    path.mkdir()
    (path / "config.json").write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        checkpoint.read_config(path)
    except CheckpointError:
        pass
    config = ModelConfig.from_json(text)
    if approx_parameters(config.width, config.mlp_ratio, config.depth) <= 200_000 and config.iters <= 50:
        model = build(config)
        model.solve(model.task.example, iters=min(config.iters, 3))
    return config


@given(config_texts)
def test_config_json(fuzz, text):
    fuzz("config-json", config_case, text)


# --- safetensors -----------------------------------------------------------------------------
BASE = Path(tempfile.mkdtemp(prefix="loopzoo-fuzz-ckpt-"))
atexit.register(shutil.rmtree, BASE, ignore_errors=True)
loopzoo.create("prefix-sums-internal-recall-outernorm", width=16, heads=2).save(BASE)
WEIGHTS = (BASE / "model.safetensors").read_bytes()
CONFIG = json.loads((BASE / "config.json").read_text())
HEADER_LEN = struct.unpack("<Q", WEIGHTS[:8])[0]
HEADER = json.loads(WEIGHTS[8 : 8 + HEADER_LEN])
DATA = WEIGHTS[8 + HEADER_LEN :]
TENSORS = sorted(k for k in HEADER if k != "__metadata__")
DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "XX", "", 5]

shapes = st.one_of(st.lists(st.integers(0, 40), max_size=3), st.lists(st.integers(-2, 2**40), max_size=3), json_values)
header_edits = st.lists(st.one_of(
    st.tuples(st.just("dtype"), st.sampled_from(TENSORS), st.sampled_from(DTYPES)),
    st.tuples(st.just("shape"), st.sampled_from(TENSORS), shapes),
    st.tuples(st.just("offsets"), st.sampled_from(TENSORS), st.one_of(st.lists(st.integers(-1, len(DATA) + 64), max_size=3),
                                                                      st.lists(st.integers(), max_size=2), json_values)),
    st.tuples(st.just("drop"), st.sampled_from(TENSORS), st.none()),
    st.tuples(st.just("add"), st.sampled_from(["extra", "embed.weight2", "__metadata__", ""]), st.tuples(st.sampled_from(DTYPES), shapes)),
    st.tuples(st.just("metadata"), st.just("__metadata__"), json_values),
), max_size=3)
byte_edits = st.lists(st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, len(WEIGHTS))),
    st.tuples(st.just("flip"), st.integers(0, len(WEIGHTS) - 1), st.integers(1, 255)),
    st.tuples(st.just("length"), st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 2 * HEADER_LEN))),
    st.tuples(st.just("append"), st.binary(max_size=64)),
), max_size=3)


def build_weights(edits, byte_ops) -> bytes:
    header = json.loads(json.dumps(HEADER))
    data = DATA
    for op, name, value in edits:
        if op == "drop":
            header.pop(name, None)
        elif op == "add":
            dtype, shape = value
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + 4]}
            data += b"\0" * 4
        elif op == "metadata":
            header["__metadata__"] = value
        elif isinstance(header.get(name), dict):
            header[name][{"dtype": "dtype", "shape": "shape", "offsets": "data_offsets"}[op]] = value
    raw = json.dumps(header).encode()
    blob = bytearray(struct.pack("<Q", len(raw)) + raw + data)
    for op in byte_ops:
        if op[0] == "truncate":
            blob = blob[: op[1]]
        elif op[0] == "flip" and op[1] < len(blob):
            blob[op[1]] ^= op[2]
        elif op[0] == "length" and len(blob) >= 8:
            blob[:8] = struct.pack("<Q", op[1])
        elif op[0] == "append":
            blob += op[1]
    return bytes(blob)


def load_case(blob: bytes, hash_mode: str):
    import hashlib

    path = fresh()
    path.mkdir()
    (path / "model.safetensors").write_bytes(blob)
    config = dict(CONFIG)
    if hash_mode == "right":
        config["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    elif hash_mode == "none":
        config.pop("weights_sha256")
    (path / "config.json").write_text(json.dumps(config))
    model = checkpoint.load(path)
    assert blob == WEIGHTS or hash_mode != "wrong"  # a wrong hash never loads
    return model


@given(header_edits, byte_edits, st.sampled_from(["right", "right", "none", "wrong"]))
def test_safetensors_files(fuzz, edits, byte_ops, hash_mode):
    fuzz("safetensors", load_case, build_weights(edits, byte_ops), hash_mode)


def test_pickle_is_refused_by_name_and_never_run(tmp_path):
    """A pickle whose loading would create a file: refused naming safetensors, file never created."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    blob = pickle.dumps(Payload())
    (tmp_path / "pytorch_model.bin").write_bytes(blob)
    (tmp_path / "model.pt").write_bytes(blob)
    for target in (tmp_path / "pytorch_model.bin", tmp_path / "model.pt"):
        with pytest.raises(CheckpointError, match="never unpickles.*safetensors"):
            loopzoo.load(target)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({k: v for k, v in CONFIG.items() if k != "weights_sha256"}))
    (ckpt / "pytorch_model.bin").write_bytes(blob)
    with pytest.raises(CheckpointError, match=r"no model.safetensors \(found \['pytorch_model.bin'\]: loopzoo never unpickles"):
        loopzoo.load(ckpt)
    (ckpt / "model.safetensors").write_bytes(blob)  # a pickle under the safetensors name
    with pytest.raises(CheckpointError, match="not a valid safetensors file"):
        loopzoo.load(ckpt)
    assert not marker.exists()


def test_no_unpickling_loader_in_the_source():
    pattern = re.compile(r"\bimport pickle\b|\bpickle\.loads?\(|torch\.load\(|allow_pickle\s*=\s*True|\bdill\b|joblib\.load")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "loopzoo").rglob("*.py"))
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


# --- data files ------------------------------------------------------------------------------
FIXTURES = ROOT / "tests" / "data" / "fixtures"
SUDOKU_ROWS = (FIXTURES / "sudoku_extreme.csv").read_text().splitlines()
LICHESS_ROWS = (FIXTURES / "lichess_puzzles.csv").read_text().splitlines()
CHESS_ROWS = [
    "fen,move,rating,gap,best,game,ply",
    "rnb1k2r/p4ppp/2p4n/1pbqP3/P2Q4/2P4P/1P2BPP1/RNB1K1NR b KQkq - 1 10,c5d4,1,405,496,0,19",
    "rn2k2r/p4p1p/2p3pn/1p1qP3/P2P4/2N4b/1P2BPP1/R1B1K1NR w KQkq - 0 13,c3d5,1,482,639,0,24",
    "8/8/8/4k3/8/8/4P3/4K3 w - - 0 1,e2e4,3,300,300,1,40",
]
FORMATS = {"sudoku": SUDOKU_ROWS, "lichess": LICHESS_ROWS, "chess": CHESS_ROWS}
FIELD_TEXT = "0123456789.,\"abcdefghKQkqrnbpw-/ \n\r\x00\xff"


def field_edit():
    return st.tuples(st.integers(0, 40), st.integers(0, 12), st.integers(0, 3),
                     st.one_of(st.text(alphabet=FIELD_TEXT, max_size=6), st.sampled_from(["nan", "inf", "-1e400", "", "1" * 200])))


def make_text(rows: list[str], picks: list[int], edits, junk: list[str]) -> str:
    header, body = rows[0], rows[1:]
    lines = [header] + [body[i % len(body)] for i in picks]
    for line_no, field, kind, text in edits:
        k = line_no % len(lines)
        fields = lines[k].split(",")
        f = field % len(fields)
        fields[f] = {0: text, 1: fields[f] + text, 2: fields[f][: len(fields[f]) // 2], 3: fields[f][::-1]}[kind]
        lines[k] = ",".join(fields)
    return "\n".join(lines + junk) + "\n"


def compress(data: bytes, kind: str) -> bytes:
    if kind == ".gz":
        return gzip.compress(data, mtime=0)
    if kind == ".xz":
        return lzma.compress(data)
    if kind == ".zst":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


READERS = {
    "sudoku": [sudoku_data.read, sudoku_data.read_paper_split] + [
        (lambda split: lambda p: load_split("sudoku", split, path=p))(s) for s in ("train", "val", "test")],
    "lichess": [chess_data.read_lichess, chess_data.read_lichess_split] + [
        (lambda split: lambda p: load_split("chess", split, path=p))(s) for s in ("train", "test")],
    "chess": [chess_data.read_generated] + [(lambda split: lambda p: load_split("chess", split, path=p))(s) for s in ("train", "test")],
}


def data_case(fmt: str, reader: int, text: str, kind: str, byte_ops) -> object:
    blob = bytearray(compress(text.encode("utf-8", "surrogatepass"), kind))
    for op, pos, value in byte_ops:
        if op == 0:
            blob = blob[: pos % (len(blob) + 1)]
        elif blob:
            blob[pos % len(blob)] ^= value
    path = fresh(".csv" + kind)
    path.write_bytes(bytes(blob))
    return READERS[fmt][reader % len(READERS[fmt])](path)


def data_strategy(fmt: str):
    rows = FORMATS[fmt]
    return st.tuples(
        st.integers(0, 9),
        st.builds(make_text, st.just(rows), st.lists(st.integers(0, 50), max_size=8), st.lists(field_edit(), max_size=3),
                  st.lists(st.text(max_size=30), max_size=2)),
        st.sampled_from(["", ".gz", ".xz", ".zst"]),
        st.one_of(st.just([]), st.lists(st.tuples(st.integers(0, 1), st.integers(0, 10**6), st.integers(1, 255)), max_size=2)),
    )


@given(data_strategy("sudoku"))
def test_sudoku_data_files(fuzz, case):
    reader, text, kind, byte_ops = case
    fuzz("data-sudoku-csv", data_case, "sudoku", reader, text, kind, byte_ops)


@given(data_strategy("lichess"))
def test_lichess_data_files(fuzz, case):
    reader, text, kind, byte_ops = case
    fuzz("data-lichess-csv", data_case, "lichess", reader, text, kind, byte_ops)


@given(data_strategy("chess"))
def test_chess_data_files(fuzz, case):
    reader, text, kind, byte_ops = case
    fuzz("data-chess-csv", data_case, "chess", reader, text, kind, byte_ops)
