"""Which model scores an input, and how it reads small-RNA-seq evidence (manifests only: no TensorFlow).

Defaults: a genome-scan NPZ (mt-encode --annotation) is scored by the bundled ``genome`` model, and with
read evidence (``--coverage`` from mt-coverage) by ``genome_reads``; other hairpins by ``human_mirtron``,
and with read evidence by ``human_mirtron_reads``. A read-aware model's manifest holds a ``reads`` record
(:class:`mirtron_tools.reads.ReadModel`): its read part is applied in numpy on top of the sequence
model's probability.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

from .errors import InputError, ModelError

logger = logging.getLogger("mirtron_tools.predict")

#: the bundled models chosen by default, by (genome scan, with reads)
DEFAULT_MODELS = {(True, False): "genome", (True, True): "genome_reads", (False, True): "human_mirtron_reads"}
#: arrays that mark an NPZ as a genome scan's (mt-encode --annotation)
SCAN_COLUMNS = ("annotation_splice_distance", "annotation_subtype")
COORDINATE_COLUMNS = tuple(f"annotation_{key}" for key in ("contig", "start", "end", "strand"))


def choose_model(name: str | None, scan: bool, reads: bool, source: str) -> tuple[Path, dict]:
    """The model file and manifest: ``name``, else the default for the input (see :data:`DEFAULT_MODELS`)."""
    from .io.model import bundled_models, read_manifest, resolve_model

    if name is None:
        name = DEFAULT_MODELS.get((scan, reads))
        if name is not None and name not in bundled_models():
            name = None if not scan else DEFAULT_MODELS[(True, False)]
        if name is not None:
            logger.info("%s input%s: scoring with the bundled '%s' model", "genome-scan" if scan else "hairpin",
                        " with read evidence" if reads else "", name)
    path = resolve_model(name)
    manifest = read_manifest(path)
    if manifest.get("input") == "genome_scan" and not scan:
        logger.warning("model %s was trained on genome-scan candidates (mt-encode --annotation); %s is not one, "
                       "so its probabilities are outside what the model was calibrated for", path.name, source)
    return path, manifest


def read_scoring(manifest: dict, model_name: str, coverage: Sequence[str], source: str,
                 scan_record: dict | None, min_samples: int | None = None):
    """The :class:`~mirtron_tools.scoring.ReadScoring` of a read-aware model (None for other models), with
    its evidence read from ``coverage`` (mt-coverage NPZs) and checked against the input's scan."""
    if not isinstance(manifest.get("reads"), dict):
        if min_samples is not None:
            raise ModelError(f"{model_name}: --min-samples needs a read-aware model (this one reads no evidence)")
        return None
    from .io.reads import has_evidence, merge_evidence, read_evidence
    from .reads import ReadModel
    from .scoring import ReadScoring

    for path in coverage:  # (inputs.check_supplied says what is missing)
        if not has_evidence(path):
            raise InputError(path, f"has no read evidence, which model {model_name} reads: give the reads NPZ that "
                             "mt-coverage made from this NPZ and the BAMs of every sample")
    found = [read_evidence(path) for path in coverage]
    if scan_record is not None and any(item.scan is not None for item in found):
        # the reads of this scan or piece among those given (Galaxy gives a job every piece's reads)
        matching = [index for index, item in enumerate(found) if item.scan == scan_record]
        if not matching:
            other = next(item.scan for item in found if item.scan is not None)
            assert other is not None
            differs = sorted(key for key in set(scan_record) | set(other) if scan_record.get(key) != other.get(key))
            raise InputError(coverage[0], f"holds the reads of another scan or piece than {source} (differs in "
                             f"{', '.join(differs)}): run mt-coverage on {source}")
        found, coverage = [found[matching[0]]], [coverage[matching[0]]]
    evidence = found[0] if len(found) == 1 else merge_evidence(found, coverage)
    return ReadScoring(ReadModel.from_manifest(manifest["reads"], min_samples), evidence, " ".join(coverage))
