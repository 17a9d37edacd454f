"""Reading and writing the data files: plain, ``.gz``, ``.xz`` or ``.zst`` CSV.

Every reader checks what it reads and raises :class:`~loopzoo.errors.DataError` naming the
file, the line and the problem. Writers are byte-deterministic (no timestamps), so the same
content always hashes the same.
"""
from __future__ import annotations

import csv
import gzip
import io
import lzma
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from ..errors import DataError


def _decompress_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [OSError, EOFError, lzma.LZMAError, zlib.error]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)


# What reading a truncated or corrupt .gz/.xz/.zst file can raise (zlib.error and ZstdError
# are not OSErrors); readers turn them into DataError.
DECOMPRESS_ERRORS = _decompress_errors()


def open_text(path: str | Path) -> IO[str]:
    """Open a text file for reading, decompressing ``.gz``, ``.xz`` and ``.zst`` by suffix."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    if suffix == ".xz":
        return io.TextIOWrapper(lzma.open(path, "rb"), encoding="utf-8", newline="")
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise DataError(
                f"{path}: reading .zst files needs the zstandard package: pip install 'loopzoo[zst]' "
                "(or decompress it first: zstd -d FILE)"
            ) from None
        stream = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
        return io.TextIOWrapper(stream, encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_csv(path: str | Path, required: Sequence[str], progress: bool = False) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for each data row of a CSV with a header holding ``required`` columns.

    ``progress`` shows a bar of rows read (on a terminal only).

    Raises :class:`DataError` on a missing column, a short row or undecodable bytes.
    """
    path = Path(path)
    with open_text(path) as f:
        try:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: the file is empty (expected a header with {', '.join(required)})")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise DataError(
                    f"{path}, line 1: missing column(s) {', '.join(missing)}; the header is {','.join(header)}"
                )
            bar = None
            if progress:
                from tqdm import tqdm

                bar = tqdm(desc=f"reading {path.name}", unit=" rows", disable=None, mininterval=2)
            for row in reader:
                line = reader.line_num
                if bar is not None:
                    bar.update()
                if not row or row == [""]:
                    continue
                if len(row) < len(header):
                    raise DataError(f"{path}, line {line}: {len(row)} fields, the header has {len(header)}")
                yield line, dict(zip(header, row))
        except UnicodeDecodeError as exc:
            raise DataError(f"{path}: not UTF-8 text ({exc.reason})") from None
        except DECOMPRESS_ERRORS as exc:  # truncated or corrupt compression
            raise DataError(f"{path}: cannot decompress: {exc}") from None
        except csv.Error as exc:
            raise DataError(f"{path}: malformed CSV: {exc}") from None


def write_csv(path: str | Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Write a CSV, compressed by suffix (``.gz`` with mtime 0, ``.xz``), reproducibly byte for byte."""
    path = Path(path)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = text.getvalue().encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".gz":
        with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
            f.write(data)
    elif path.suffix == ".xz":
        tmp.write_bytes(lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    else:
        tmp.write_bytes(data)
    tmp.replace(path)
