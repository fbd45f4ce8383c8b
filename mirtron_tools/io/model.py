"""Model files: a Keras ``.keras`` archive with a ``mirtron_manifest.json`` member beside Keras' own.

The manifest says what the model expects (encoding version, channels, coverage, max length),
how it was trained (data sha256, seed, versions) and how well (validation metrics, threshold).
"""
from __future__ import annotations

import errno
import json
import os
import zipfile
import zlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from ..errors import FormatVersionError, ModelError
from .atomic import WRITE_ERRORS, atomic_path

if TYPE_CHECKING:
    import numpy as np

MANIFEST_MEMBER = "mirtron_manifest.json"
MODEL_FORMAT = "mirtron_tools.model"
#: Bump when the manifest or the model's input contract changes incompatibly.
MODEL_FORMAT_VERSION = 1
DEFAULT_MODEL = "human_mirtron"


def bundled_models() -> dict[str, Path]:
    """Bundled model names and their files (shipped inside the package)."""
    folder = resources.files("mirtron_tools") / "models"
    if not folder.is_dir():  # an installation without model files
        return {}
    return {Path(entry.name).stem: Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".keras")}


def resolve_model(name_or_path: str | None) -> Path:
    """A bundled model name (default: the human mirtron model) or a path to a ``.keras`` file."""
    bundled = bundled_models()
    name = name_or_path or DEFAULT_MODEL
    if name in bundled:
        return bundled[name]
    if os.path.exists(name):
        return Path(name)
    names = ", ".join(sorted(bundled)) or "none installed"
    raise ModelError(f"{name}: neither a bundled model ({names}) nor a readable file")


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a model file: which model scored a piece of a scan."""
    import hashlib

    sha = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def read_manifest(path: str | os.PathLike, check: bool = True) -> dict:
    """Read and check the manifest of a model file without loading TensorFlow.

    ``check`` also checks what the commands rely on (:func:`check_manifest`); without it only the
    manifest's own format and version are checked (a model saved by a script or a test)."""
    name = str(path)
    if not zipfile.is_zipfile(name):
        raise ModelError(f"{name}: not a .keras model file (not a zip archive; corrupt or truncated?)")
    try:
        with zipfile.ZipFile(name) as archive:
            if MANIFEST_MEMBER not in archive.namelist():
                raise ModelError(f"{name}: model has no mirtron_tools manifest (was it saved by mt-train?)")
            manifest = json.loads(archive.read(MANIFEST_MEMBER))
            network_channels = _network_channels(archive)
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError, zlib.error) as error:
        raise ModelError(f"{name}: corrupt model file ({error})") from None
    if not isinstance(manifest, dict):
        raise ModelError(f"{name}: manifest is not a {MODEL_FORMAT} manifest (not a JSON object)")
    if manifest.get("format") != MODEL_FORMAT:
        raise ModelError(f"{name}: manifest is not a {MODEL_FORMAT} manifest")
    version = manifest.get("format_version")
    if version != MODEL_FORMAT_VERSION:
        raise FormatVersionError(
            name, f"model format version {version}, this mirtron_tools reads version {MODEL_FORMAT_VERSION}"
            + (" (upgrade mirtron_tools)" if isinstance(version, int) and version > MODEL_FORMAT_VERSION
               else " (retrain the model with this version)"))
    if check:
        check_manifest(manifest, name, network_channels)
    return manifest


def _whole_number(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_manifest(manifest: dict, name: str, network_channels: int | None = None) -> None:
    """The fields mt-predict, mt-attend and mt-train --init-model rely on, checked before TensorFlow loads.

    ``threshold`` a number in [0, 1]; ``encoding_format_version`` the version this package encodes;
    ``channels`` the encoding's channels (then optional ones), as many as the network's input has
    (``network_channels``, read from the Keras config; None skips that check); ``max_length`` a
    positive whole number; a ``coverage`` record with its channel names when present.
    """
    from ..encoding import CHANNELS, ENCODING_FORMAT_VERSION

    threshold = manifest.get("threshold")
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 <= threshold <= 1.0:
        shown = "missing" if threshold is None else repr(threshold)
        raise ModelError(f"{name}: manifest threshold is {shown}, expected a number between 0 and 1 "
                         "(re-create the model with mt-train)")
    version = manifest.get("encoding_format_version")
    if not _whole_number(version):
        raise ModelError(f"{name}: manifest encoding_format_version is {version!r}, expected a whole number")
    if version != ENCODING_FORMAT_VERSION:
        raise FormatVersionError(
            name, f"model was trained on encoding format version {version}, this mirtron_tools encodes version "
            f"{ENCODING_FORMAT_VERSION}" + (" (upgrade mirtron_tools)" if version > ENCODING_FORMAT_VERSION
                                            else " (retrain the model with this version)"))
    channels = manifest.get("channels")
    if (not isinstance(channels, list) or not all(isinstance(channel, str) for channel in channels)
            or channels[:len(CHANNELS)] != list(CHANNELS)):
        raise ModelError(f"{name}: manifest channels {channels!r} do not start with the encoding's channels "
                         f"({', '.join(CHANNELS)})")
    if network_channels is not None and network_channels != len(channels):
        raise ModelError(f"{name}: the manifest lists {len(channels)} input channels but the network reads "
                         f"{network_channels}; the model file is inconsistent (re-create it with mt-train)")
    max_length = manifest.get("max_length")
    if max_length is not None and (not _whole_number(max_length) or max_length < 1):
        raise ModelError(f"{name}: manifest max_length is {max_length!r}, expected a positive whole number")
    coverage = manifest.get("coverage")
    if coverage is not None and (not isinstance(coverage, dict) or not isinstance(coverage.get("channels"), list)):
        raise ModelError(f"{name}: manifest coverage record has no list of channels")


def _network_channels(archive: zipfile.ZipFile) -> int | None:
    """Channels of the network's input, from the Keras ``config.json`` (None when it cannot be told)."""
    if "config.json" not in archive.namelist():
        return None
    try:
        config = json.loads(archive.read("config.json"))
        shapes = [layer["config"].get("batch_shape") or layer["config"].get("batch_input_shape")
                  for layer in config["config"]["layers"] if layer.get("class_name") == "InputLayer"]
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    widths = {shape[-1] for shape in shapes if isinstance(shape, list) and shape and isinstance(shape[-1], int)}
    return widths.pop() if len(widths) == 1 else None


def save_model(model, path: str | os.PathLike, manifest: dict) -> None:
    """Save a Keras model with its manifest, atomically."""
    record = {"format": MODEL_FORMAT, "format_version": MODEL_FORMAT_VERSION, **manifest}
    with atomic_path(path, suffix=".keras") as temporary:
        model.save(temporary)
        with zipfile.ZipFile(temporary, "a") as archive:
            archive.writestr(MANIFEST_MEMBER, json.dumps(record, indent=2, sort_keys=True))


def load_model(path: str | os.PathLike):
    """Load ``(keras_model, manifest)``; the manifest's format is checked before Keras reads the file.

    The commands check the whole manifest with :func:`read_manifest` before TensorFlow loads."""
    manifest = read_manifest(path, check=False)
    import keras

    # the custom layers register themselves (as "mirtron_tools>ClassName") when their modules are imported
    from .. import ensemble as _ensemble_layers  # noqa: F401
    from .. import features as _feature_layers  # noqa: F401
    from .. import model as _network_layers  # noqa: F401

    try:
        model = keras.saving.load_model(str(path), compile=False)
    except Exception as error:  # Keras raises many types for a damaged archive
        if isinstance(error, OSError) and error.errno in WRITE_ERRORS | {errno.EACCES, errno.EPERM}:
            import tempfile

            raise ModelError(f"{path}: cannot load the Keras model: Keras unpacks it into the temporary folder "
                             f"{tempfile.gettempdir()}, which cannot be written ({error.strerror or error}); free "
                             "space there or set TMPDIR to another folder") from None
        raise ModelError(f"{path}: cannot load the Keras model ({type(error).__name__}: {error})") from None
    return model, manifest


def update_manifest(path: str | os.PathLike, changes: dict) -> dict:
    """Merge ``changes`` into a model file's manifest (e.g. benchmark metrics measured after
    training), rewriting the archive atomically; the Keras members are copied unchanged."""
    manifest = {**read_manifest(path), **changes}
    with atomic_path(path, suffix=".keras") as temporary:
        with zipfile.ZipFile(str(path)) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target:
            for member in source.infolist():
                if member.filename != MANIFEST_MEMBER:
                    target.writestr(member, source.read(member.filename))
            target.writestr(MANIFEST_MEMBER, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def read_network(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """The Keras graph and weights of a model file, without Keras or TensorFlow.

    Returns ``(config, weights)``: the parsed ``config.json`` and every variable of ``model.weights.h5``
    as a numpy array keyed by its path in the archive (``layers/functional/layers/dense/vars/0``),
    optimizer state left out. Raises :class:`~mirtron_tools.errors.ModelError` for a damaged file."""
    import io

    import h5py
    import numpy as np

    name = str(path)
    weights: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(name) as archive:
            config = json.loads(archive.read("config.json"))
            payload = archive.read("model.weights.h5")
        with h5py.File(io.BytesIO(payload), "r") as store:
            def keep(key: str, item) -> None:
                if isinstance(item, h5py.Dataset) and "/optimizer/" not in f"/{key}":
                    weights[key] = np.asarray(item[()])

            store.visititems(keep)
    except (KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError, OSError, EOFError,
            zlib.error) as error:
        raise ModelError(f"{name}: corrupt model file ({error})") from None
    return config, weights
