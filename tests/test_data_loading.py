"""Tests of ract.data: reading tables, building label maps, presets. Small files only, no models."""

import gzip
import os
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ract.data import LabelledData, find_data_dir, load_data, read_table, write_table
from ract.errors import RactError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _frame(n: int = 6) -> pd.DataFrame:
    labels = ["pos", "neg", "neu"]
    return pd.DataFrame({"text": [f"text number {i}" for i in range(n)], "label": [labels[i % 3] for i in range(n)]})


def _write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["d.csv", "d.tsv", "d.jsonl", "d.json", "d.parquet", "d.csv.gz", "d.jsonl.gz"])
def test_reads_every_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    frame = _frame()
    if name.startswith("d.csv"):
        frame.to_csv(path, index=False)
    elif name == "d.tsv":
        frame.to_csv(path, sep="\t", index=False)
    elif name.startswith("d.json"):
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    data = load_data(str(path))
    assert data.texts == frame["text"].tolist()
    assert data.label_names == ["neg", "neu", "pos"]
    assert data.labels.dtype == np.int64
    assert data.labels.tolist() == [2, 0, 1, 2, 0, 1]
    assert data.row_ids.tolist() == list(range(6))
    assert data.clean_labels is None
    assert data.source == str(path)
    assert data.num_classes == 3


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    _frame().to_json(path, orient="records")
    assert len(load_data(str(path))) == 6


@pytest.mark.parametrize("name", ["out.csv", "out.tsv", "out.jsonl", "out.parquet", "out.csv.gz", "out.json.gz"])
def test_write_table_round_trip_is_atomic(tmp_path: Path, name: str) -> None:
    frame = pd.DataFrame({"text": ['a, "quoted"\ttab', "NA", "é"], "label": [0, 1, 2]})
    path = write_table(frame, tmp_path / name)
    assert os.listdir(tmp_path) == [name]  # no temporary file left behind
    back = read_table(path)
    assert back["text"].tolist() == frame["text"].tolist()
    assert back["label"].tolist() == [0, 1, 2]


def test_write_table_errors(tmp_path: Path) -> None:
    with pytest.raises(RactError, match="does not exist"):
        write_table(_frame(), tmp_path / "missing" / "out.csv")
    with pytest.raises(RactError, match="supported formats"):
        write_table(_frame(), tmp_path / "out.xlsx")


def test_na_strings_are_text_not_missing(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\nNA,a\nnull,b\n")
    assert load_data(str(path)).texts == ["NA", "null"]


# --------------------------------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------------------------------


def test_integer_labels_keep_their_value(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,2\nb,0\nc,3\nd,0\n")
    data = load_data(str(path))
    assert data.labels.tolist() == [2, 0, 3, 0]
    assert data.label_names == ["0", "1", "2", "3"]


def test_integer_labels_not_from_zero_are_remapped(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,5\nb,1\nc,3\n")
    data = load_data(str(path))
    assert data.labels.tolist() == [2, 0, 1]
    assert data.label_names == ["1", "3", "5"]


def test_num_labels_fixes_the_classes(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,1\nb,0\n")
    data = load_data(str(path), num_labels=4)
    assert data.num_classes == 4
    assert data.labels.tolist() == [1, 0]


def test_label_outside_num_labels(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,0\nb,1\nc,7\nd,-1\n")
    with pytest.raises(RactError, match="2 rows") as info:
        load_data(str(path), num_labels=3)
    assert "row 2 -> 7" in str(info.value)
    assert "row 3 -> -1" in str(info.value)
    assert "d.csv" in str(info.value)


def test_string_labels_with_wrong_num_labels(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,x\nb,y\n")
    with pytest.raises(RactError, match="num_labels=3"):
        load_data(str(path), num_labels=3)


def test_clean_label_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label,gold\na,cat,cat\nb,dog,cat\nc,cat,dog\nd,dog,bird\n")
    data = load_data(str(path), clean_label_column="gold")
    assert data.label_names == ["cat", "dog", "bird"]  # an unseen clean value gets a new id
    assert data.labels.tolist() == [0, 1, 0, 1]
    assert data.clean_labels is not None
    assert data.clean_labels.tolist() == [0, 0, 1, 2]
    assert any("bird" in note for note in data.notes)


def test_clean_label_outside_fixed_classes(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label,gold\na,0,0\nb,1,5\n")
    with pytest.raises(RactError, match="gold"):
        load_data(str(path), clean_label_column="gold", num_labels=2)


def test_missing_label_is_an_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,0\nb,\nc,1\nd,\n")
    with pytest.raises(RactError, match=r"2 rows with a missing label .* rows 1, 3"):
        load_data(str(path))


def test_single_class(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,x\nb,x\n")
    with pytest.raises(RactError, match="same label 'x'"):
        load_data(str(path))


def test_single_class_after_dropping_empty_texts(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,x\n,y\n")
    with pytest.raises(RactError, match="at least two classes"):
        load_data(str(path))


# --------------------------------------------------------------------------------------------------
# Texts, limit, subset
# --------------------------------------------------------------------------------------------------


def test_empty_texts_are_dropped_with_a_note(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", 'text,label\na,0\n,1\n"   ",0\nb,1\n')
    data = load_data(str(path))
    assert data.texts == ["a", "b"]
    assert data.row_ids.tolist() == [0, 3]
    assert data.notes == ["dropped 2 empty texts in column 'text' at rows 1, 2 (0-based data rows)"]


def test_empty_texts_error(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", 'text,label\na,0\n,1\n"   ",0\nb,1\n')
    with pytest.raises(RactError, match="2 empty texts in column 'text' at rows 1, 2"):
        load_data(str(path), on_empty_text="error")


def test_non_string_texts_are_converted(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": 12, "label": 0}\n{"text": "ok", "label": 1}\n', encoding="utf-8")
    data = load_data(str(path))
    assert data.texts == ["12", "ok"]


def test_limit_is_seeded_sorted_and_deterministic(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    _frame(100).to_csv(path, index=False)
    first = load_data(str(path), limit=10, seed=3)
    again = load_data(str(path), limit=10, seed=3)
    other = load_data(str(path), limit=10, seed=4)
    assert len(first) == 10
    assert first.row_ids.tolist() == again.row_ids.tolist()
    assert first.row_ids.tolist() != other.row_ids.tolist()
    assert np.all(np.diff(first.row_ids) > 0)
    assert first.texts == [f"text number {i}" for i in first.row_ids]
    assert len(load_data(str(path), limit=1000)) == 100


@pytest.mark.parametrize("limit", [0, -5])
def test_limit_must_be_positive(tmp_path: Path, limit: int) -> None:
    path = tmp_path / "d.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(RactError, match="limit"):
        load_data(str(path), limit=limit)


def test_subset_keeps_row_ids() -> None:
    data = LabelledData(
        texts=["a", "b", "c"],
        labels=np.array([0, 1, 0]),
        label_names=["x", "y"],
        clean_labels=np.array([0, 0, 0]),
        row_ids=np.array([4, 7, 9]),
        source="s",
        notes=["n"],
    )
    part = data.subset(np.array([2, 0]))
    assert part.texts == ["c", "a"]
    assert part.row_ids.tolist() == [9, 4]
    assert part.clean_labels is not None and part.clean_labels.tolist() == [0, 0]
    assert data.subset(np.array([False, True, False])).texts == ["b"]
    part.notes.append("more")
    assert data.notes == ["n"]


# --------------------------------------------------------------------------------------------------
# File and column errors
# --------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RactError, match="file not found"):
        load_data(str(tmp_path / "nope.csv"))
    with pytest.raises(RactError, match="file not found"):
        load_data("data/nope.csv")


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "d.xlsx"
    path.write_bytes(b"whatever")
    with pytest.raises(RactError, match=r"unsupported file format.*\.csv.*\.parquet"):
        load_data(str(path))


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(RactError, match="is a directory"):
        load_data(str(tmp_path))


def test_missing_column_lists_existing_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "sentence,label\na,0\nb,1\n")
    with pytest.raises(RactError, match=r"no text column 'text'.*'sentence', 'label'"):
        load_data(str(path))
    with pytest.raises(RactError, match=r"label column 'y' not found in .*d\.csv; columns are: 'sentence', 'label'"):
        load_data(str(path), text_column="sentence", label_column="y")
    assert len(load_data(str(path), text_column="sentence")) == 2


def test_empty_data_set(tmp_path: Path) -> None:
    with pytest.raises(RactError, match="no data rows"):
        load_data(str(_write_csv(tmp_path / "h.csv", "text,label\n")))
    with pytest.raises(RactError, match="is empty"):
        load_data(str(_write_csv(tmp_path / "e.csv", "")))
    with pytest.raises(RactError, match="no rows left"):
        load_data(str(_write_csv(tmp_path / "t.csv", "text,label\n,0\n  ,1\n")))


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(b"text,label\nok,0\ncaf\xe9,1\n")
    with pytest.raises(RactError, match=r"latin\.csv is not valid UTF-8 \(byte 0xe9 at byte offset 19, line 3\)"):
        load_data(str(path))


def test_non_utf8_bytes_gzip(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b"text,label\ncaf\xe9,1\nb,0\n")
    with pytest.raises(RactError, match="not valid UTF-8.*line 2"):
        load_data(str(path))


def test_malformed_csv(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "d.csv", "text,label\na,0\nb,1,extra\n")
    with pytest.raises(RactError, match=r"could not read .*d\.csv"):
        load_data(str(path))


def test_bad_json_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "a", "label": 0}\n\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(RactError, match="line 3 is not valid JSON"):
        load_data(str(path))


def test_bad_parquet(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(RactError, match="d.parquet"):
        load_data(str(path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"on_empty_text": "skip"}, "on_empty_text"),
        ({"num_labels": 1}, "num_labels"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_options(tmp_path: Path, kwargs: dict, message: str) -> None:
    path = tmp_path / "d.csv"
    _frame().to_csv(path, index=False)
    with pytest.raises(RactError, match=message):
        load_data(str(path), **kwargs)


# --------------------------------------------------------------------------------------------------
# Hugging Face Hub (faked: no network)
# --------------------------------------------------------------------------------------------------


class _ClassLabel:
    def __init__(self, names: list[str]) -> None:
        self.names = names


_ClassLabel.__name__ = "ClassLabel"


class _FakeDataset:
    def __init__(self, frame: pd.DataFrame, features: dict) -> None:
        self._frame, self.features = frame, features

    def to_pandas(self) -> pd.DataFrame:
        return self._frame.copy()


def _fake_datasets(load) -> types.ModuleType:
    module = types.ModuleType("datasets")
    module.load_dataset = load
    return module


def test_hub_class_labels_become_names(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"text": ["a", "b", "c"], "label": [1, 0, 1]})
    features = {"text": object(), "label": _ClassLabel(["bad", "good"])}
    calls = []

    def load(name, split):
        calls.append((name, split))
        return _FakeDataset(frame, features)

    monkeypatch.setitem(sys.modules, "datasets", _fake_datasets(load))
    data = load_data("someone/reviews", split="test")
    assert calls == [("someone/reviews", "test")]
    assert data.label_names == ["bad", "good"]
    assert data.labels.tolist() == [1, 0, 1]
    assert data.source == "someone/reviews"


def test_hub_failure_is_a_ract_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def load(name, split):
        raise ConnectionError("offline")

    monkeypatch.setitem(sys.modules, "datasets", _fake_datasets(load))
    with pytest.raises(RactError, match=r"(?s)Hugging Face Hub.*offline.*local file"):
        load_data("someone/reviews")


def test_hub_without_datasets_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(RactError, match="needs the `datasets` package"):
        load_data("someone/reviews")


# --------------------------------------------------------------------------------------------------
# Presets (skipped when the shared data dir is absent)
# --------------------------------------------------------------------------------------------------


def _preset_dir() -> Path:
    env = os.environ.get("RACT_DATA_DIR")
    for candidate in (Path(env) if env else None, SHARED_DATA):
        if candidate is not None and (candidate / "ag_news").is_dir():
            return candidate.resolve()
    pytest.skip("shared preset data dir not found")


def test_preset_ag_news() -> None:
    root = _preset_dir()
    data = load_data("ag_news", limit=50, data_dir=root)
    assert len(data) == 50
    assert data.label_names == ["World", "Sports", "Business", "Sci/Tech"]
    assert data.source == "ag_news"
    assert set(data.labels.tolist()) <= {0, 1, 2, 3}
    assert np.all(np.diff(data.row_ids) > 0) and data.row_ids.max() < 10_000


def test_preset_trec() -> None:
    root = _preset_dir()
    data = load_data("trec", data_dir=root)
    assert data.label_names == ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
    assert np.bincount(data.labels).tolist() == [86, 1162, 1250, 1223, 835, 896]
    test = load_data("trec", split="test", data_dir=root)
    assert np.bincount(test.labels).tolist() == [9, 138, 94, 65, 81, 113]


def test_preset_sst2() -> None:
    root = _preset_dir()
    data = load_data("sst2", split="test", data_dir=root)
    assert data.label_names == ["negative", "positive"]
    assert np.bincount(data.labels).tolist() == [912, 909]
    assert len(load_data("sst2", split="dev", data_dir=root)) == 872


def test_preset_data_dir_is_found_without_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    root = _preset_dir()
    monkeypatch.delenv("RACT_DATA_DIR", raising=False)
    if root != SHARED_DATA.resolve():
        pytest.skip("preset data is not in the shared location")
    assert find_data_dir() is not None
    monkeypatch.setenv("RACT_DATA_DIR", str(root))
    assert find_data_dir() == root


def test_preset_errors(tmp_path: Path) -> None:
    with pytest.raises(RactError, match="no split 'validation'"):
        load_data("trec", split="validation", data_dir=tmp_path)
    with pytest.raises(RactError, match="not found in data dir"):
        load_data("trec", data_dir=tmp_path)
    with pytest.raises(RactError, match="is not a directory"):
        load_data("trec", data_dir=tmp_path / "missing")
