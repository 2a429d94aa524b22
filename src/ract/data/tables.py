"""Read and write tables (.csv, .tsv, .jsonl/.json, .parquet, and gzip-compressed text).

:func:`read_table` and :func:`write_table` are the single place where tables are read and written, so
every command reports a bad file the same way.
"""

import gzip
import json
from pathlib import Path

import pandas as pd

from ract.atomic import atomic_path
from ract.errors import RactError

#: File name endings :func:`read_table` and :func:`write_table` understand. ``.json`` is read as JSON
#: lines, or as one JSON array of objects when the file starts with ``[``.
SUPPORTED_FORMATS: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".jsonl",
    ".json",
    ".parquet",
    ".csv.gz",
    ".tsv.gz",
    ".jsonl.gz",
    ".json.gz",
)
_FORMAT_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
_GZIP_FORMATS = frozenset({"csv", "tsv", "jsonl", "json"})


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table from a .csv, .tsv, .jsonl/.json, .parquet (or gzip-compressed text) file.

    Only empty CSV/TSV cells count as missing values; strings such as ``"NA"`` or ``"null"`` are kept
    as text. Files must be UTF-8 (a byte-order mark is fine).

    Args:
        path: the file; its format is taken from its name (see :data:`SUPPORTED_FORMATS`).

    Returns:
        The table with a default ``RangeIndex`` (row ``i`` is data row ``i`` of the file).

    Raises:
        RactError: the file is missing, has an unsupported format, is not UTF-8 or cannot be parsed.
    """
    path = Path(path).expanduser()
    _check_is_file(path)
    fmt, gz = _table_format(path)
    try:
        frame = _read_frame(path, fmt, gz)
    except RactError:
        raise
    except UnicodeDecodeError as err:
        raise RactError(_utf8_error_message(path, gz)) from err
    except pd.errors.EmptyDataError as err:
        raise RactError(f"{path} is empty: expected a header row naming the columns") from err
    except (ValueError, OSError, TypeError) as err:
        raise RactError(f"could not read {path} as {fmt.upper()}{' (gzip)' if gz else ''}: {err}") from err
    except Exception as err:
        if _is_arrow_error(err):
            raise RactError(f"could not read {path} as Parquet: {err}") from err
        raise
    return frame.reset_index(drop=True)


def write_table(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` atomically in the format given by the name of ``path``.

    The table goes to a temporary file in the same directory, which then replaces ``path``, so readers
    never see a half-written file. The index is not written. ``.json`` files are written as JSON lines.

    Args:
        df: the table to write.
        path: destination; its name must end in one of :data:`SUPPORTED_FORMATS`.

    Returns:
        The destination path.

    Raises:
        RactError: unsupported format, missing directory, or the file cannot be written.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    path = Path(path).expanduser()
    fmt, gz = _table_format(path)
    if not path.parent.is_dir():
        raise RactError(f"cannot write {path}: directory {path.parent} does not exist")
    try:
        with atomic_path(path) as tmp:
            _write_frame(df, tmp, fmt, gz)
    except OSError as err:
        raise RactError(f"could not write {path}: {err}") from err
    return path


def _check_is_file(path: Path) -> None:
    if path.is_dir():
        raise RactError(f"{path} is a directory, not a data file (supported formats: {_formats_text()})")
    if not path.exists():
        raise RactError(f"file not found: {path}")


def _formats_text() -> str:
    return ", ".join(SUPPORTED_FORMATS)


def _table_format(path: Path) -> tuple[str, bool]:
    """(format, gzip-compressed) from the file name; RactError for an unsupported name."""
    name = path.name.lower()
    gz = name.endswith(".gz")
    fmt = _FORMAT_BY_SUFFIX.get(Path(name.removesuffix(".gz")).suffix)
    if fmt is None or (gz and fmt not in _GZIP_FORMATS):
        raise RactError(f"unsupported file format: {path} (supported formats: {_formats_text()})")
    return fmt, gz


def _read_frame(path: Path, fmt: str, gz: bool) -> pd.DataFrame:
    compression = "gzip" if gz else None
    if fmt in ("csv", "tsv"):
        return pd.read_csv(
            path,
            sep="," if fmt == "csv" else "\t",
            compression=compression,
            encoding="utf-8",
            keep_default_na=False,
            na_values=[""],
            low_memory=False,
        )
    if fmt in ("jsonl", "json"):
        return _read_json(path, gz)
    return pd.read_parquet(path)


def _read_json(path: Path, gz: bool) -> pd.DataFrame:
    lines = _first_byte(path, gz) != b"["
    try:
        return pd.read_json(path, lines=lines, dtype=False, encoding="utf-8", compression="gzip" if gz else None)
    except UnicodeDecodeError:
        raise
    except ValueError as err:
        detail = _bad_json_line(path, gz) if lines else None
        raise RactError(detail or f"could not read {path} as JSON: {err}") from err


def _open_binary(path: Path, gz: bool):
    return gzip.open(path, "rb") if gz else open(path, "rb")  # noqa: SIM115 - returned to a with block


def _first_byte(path: Path, gz: bool) -> bytes:
    """First non-blank byte of the (decompressed) file, after any UTF-8 byte-order mark."""
    with _open_binary(path, gz) as handle:
        head = handle.read(4096)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]


def _bad_json_line(path: Path, gz: bool) -> str | None:
    """A message naming the first line of a JSON-lines file that is not valid JSON, if any."""
    with _open_binary(path, gz) as handle:
        for line_number, raw in enumerate(handle, start=1):
            text = raw.decode("utf-8").removeprefix("\ufeff")
            if not text.strip():
                continue
            try:
                json.loads(text)
            except json.JSONDecodeError as err:
                return f"{path}: line {line_number} is not valid JSON ({err.msg}, column {err.colno})"
    return None


def _utf8_error_message(path: Path, gz: bool) -> str:
    """Say where the first non-UTF-8 byte of a file is (offset and line), and how to fix it."""
    with _open_binary(path, gz) as handle:
        raw = handle.read()
    try:
        raw.decode("utf-8")
        position = "position unknown"
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        after = " of the decompressed data" if gz else ""
        position = f"byte 0x{raw[err.start]:02x} at byte offset {err.start}{after}, line {line}"
    return (
        f"{path} is not valid UTF-8 ({position}). Re-encode it as UTF-8, for example with "
        f"`iconv -f latin1 -t utf-8 in.csv > out.csv` if it is Latin-1."
    )


def _is_arrow_error(err: Exception) -> bool:
    return any(cls.__name__ == "ArrowException" for cls in type(err).__mro__)


def _write_frame(df: pd.DataFrame, path: Path, fmt: str, gz: bool) -> None:
    compression = "gzip" if gz else None
    if fmt in ("csv", "tsv"):
        df.to_csv(path, sep="," if fmt == "csv" else "\t", index=False, compression=compression)
    elif fmt in ("jsonl", "json"):
        df.to_json(path, orient="records", lines=True, force_ascii=False, compression=compression)
    else:
        df.to_parquet(path, index=False)
