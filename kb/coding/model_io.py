"""Save and load the trained coder as data, never as code: JSON + NPZ + safetensors.

A data folder may come from someone else, so loading it must not run anything: the config is
JSON, numpy arrays are an NPZ read with `allow_pickle=False`, torch weights are safetensors.
`manifest.json` records the format version, the training-data stamp and every file's SHA-256;
a file that does not match, an unknown version or an old pickle model is refused with a
`ModelRefused` error that says what to do, never replaced silently by the untrained coder.

Each save writes a new generation directory, then switches `manifest.json` to it with one
atomic rename, so a crash leaves the previous model whole.

Models describe themselves as a `State` (JSON-able config, numpy arrays, torch weights);
`nest`/`part` compose the states of their parts, so a new field is one line in its owner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ModelRefused
from kb.fileio import atomic_open, default_mode

FORMAT = "kb-coder"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG, ARRAYS, WEIGHTS = "config.json", "arrays.npz", "weights.safetensors"
LEGACY_FILES = ("model.joblib", "model.stamp.json")  # pickle models of kb before format 1
_GENERATION = re.compile(r"model-[0-9a-f]{12}")
MAX_MANIFEST_BYTES = 1 << 20
KEEP_PREVIOUS = 1  # older generations kept, so a reader that opened one keeps its files


@dataclass
class State:
    """A model as data: JSON-able `config`, numpy `arrays` (NPZ) and torch `weights` (safetensors)."""

    config: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def nest(self, name: str, child: State | None) -> State:
        """Store `child` under `name` (None is kept as None)."""
        self.config[name] = None if child is None else child.config
        if child is not None:
            self.arrays.update({f"{name}/{k}": v for k, v in child.arrays.items()})
            self.weights.update({f"{name}/{k}": v for k, v in child.weights.items()})
        return self

    def part(self, name: str) -> State | None:
        """The state nested under `name`, or None."""
        if self.config.get(name) is None:
            return None
        prefix = name + "/"
        return State(
            self.config[name],
            {k[len(prefix) :]: v for k, v in self.arrays.items() if k.startswith(prefix)},
            {k[len(prefix) :]: v for k, v in self.weights.items() if k.startswith(prefix)},
        )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_files(folder: Path, state: State) -> list[str]:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    (folder / CONFIG).write_text(json.dumps(state.config, ensure_ascii=False, sort_keys=True), "utf-8")
    names = [CONFIG]
    for name, arrays in ((ARRAYS, state.arrays), (WEIGHTS, state.weights)):
        if not arrays:
            continue
        bad = [k for k, v in arrays.items() if np.asarray(v).dtype.hasobject]
        if bad:
            raise TypeError(f"model arrays must be numeric or text, not objects: {bad}")
        if name == ARRAYS:
            with (folder / name).open("wb") as f:
                np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
        else:
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(folder / name))
        names.append(name)
    for name in names:
        with (folder / name).open("rb") as f:
            os.fsync(f.fileno())
    return names


def save_state(
    directory: Path, state: State, stamp: str = "", info: dict[str, Any] | None = None, fmt: str = FORMAT
) -> Path:
    """Write `state` as a new generation under `directory` and switch the manifest to it.

    `fmt` names what the model is (the coder, or another model kept the same way)."""
    directory.mkdir(parents=True, exist_ok=True)
    generation = f"model-{secrets.token_hex(6)}"
    tmp = directory / f".{generation}.tmp"
    names = _write_files(tmp, state)
    tmp.rename(directory / generation)
    manifest = {
        "format": fmt,
        "format_version": FORMAT_VERSION,
        "generation": generation,
        "stamp": stamp,
        "info": info or {},
        "files": {name: sha256(directory / generation / name) for name in names},
    }
    with atomic_open(directory / MANIFEST, "w", perm=default_mode(directory / MANIFEST)) as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    _clean(directory, generation)
    return directory


def _clean(directory: Path, current: str) -> None:
    """Remove unfinished writes, generations beyond `KEEP_PREVIOUS` and legacy pickle files."""
    for path in directory.glob(".model-*.tmp"):
        shutil.rmtree(path, ignore_errors=True)
    for path in directory.glob(f".{MANIFEST}.*.tmp"):
        path.unlink(missing_ok=True)
    old = [p for p in directory.iterdir() if _GENERATION.fullmatch(p.name) and p.name != current]
    old.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for path in old[KEEP_PREVIOUS:]:
        shutil.rmtree(path, ignore_errors=True)
    for name in LEGACY_FILES:
        (directory / name).unlink(missing_ok=True)


def _refuse(directory: Path, reason: str, fmt: str = FORMAT) -> ModelRefused:
    what = "coder" if fmt == FORMAT else f"model ({fmt})"
    return ModelRefused(
        f"the saved {what} in {directory} was refused ({reason}); "
        f"delete {directory} or run `kb build` to retrain it"
    )


def read_manifest(directory: Path, fmt: str = FORMAT) -> dict[str, Any] | None:
    """The verified manifest (format, version, file hashes), None when no model was saved."""
    path = directory / MANIFEST
    if not path.exists():
        if (directory / LEGACY_FILES[0]).exists():
            raise _refuse(directory, f"{LEGACY_FILES[0]} is a pickle, which kb no longer loads", fmt)
        return None
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise ValueError("too large")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _refuse(directory, f"{MANIFEST} is not a kb manifest: {exc}", fmt) from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt:
        raise _refuse(directory, f"{MANIFEST} is not a {fmt} manifest", fmt)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise _refuse(
            directory, f"model format {manifest.get('format_version')!r}, this kb reads {FORMAT_VERSION}", fmt
        )
    generation, files = manifest.get("generation"), manifest.get("files")
    if not isinstance(generation, str) or not _GENERATION.fullmatch(generation):
        raise _refuse(directory, "the manifest names no valid model folder", fmt)
    if not isinstance(files, dict) or CONFIG not in files or not set(files) <= {CONFIG, ARRAYS, WEIGHTS}:
        raise _refuse(directory, "the manifest lists unexpected files", fmt)
    for name, digest in files.items():
        path = directory / generation / name
        if not path.is_file():
            raise _refuse(directory, f"{generation}/{name} is missing", fmt)
        if sha256(path) != digest:
            raise _refuse(directory, f"{generation}/{name} was changed after it was saved", fmt)
    return manifest


def saved_stamp(directory: Path, fmt: str = FORMAT) -> str | None:
    """The training-data stamp of the saved model; None when there is none or it is refused."""
    try:
        manifest = read_manifest(directory, fmt)
    except ModelRefused:
        return None
    return None if manifest is None else str(manifest.get("stamp", ""))


def load_state(directory: Path, fmt: str = FORMAT) -> State | None:
    """The saved state after verifying the manifest; None when no model was saved."""
    manifest = read_manifest(directory, fmt)
    if manifest is None:
        return None
    folder = directory / manifest["generation"]
    files = manifest["files"]
    try:
        state = State(json.loads((folder / CONFIG).read_text(encoding="utf-8")))
        if not isinstance(state.config, dict):
            raise ValueError("config is not an object")
        if ARRAYS in files:
            with np.load(folder / ARRAYS, allow_pickle=False) as data:
                state.arrays = {k: data[k] for k in data.files}
        if WEIGHTS in files:
            from safetensors.numpy import load_file

            state.weights = load_file(str(folder / WEIGHTS))
    except Exception as exc:  # any parse failure means the files are not ours
        raise _refuse(directory, f"unreadable model files: {type(exc).__name__}: {exc}", fmt) from None
    return state
