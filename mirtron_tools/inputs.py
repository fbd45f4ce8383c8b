"""The inputs a model reads, declared once: what each adds, where it comes from, and the one check that a
run supplies what its model needs (used by scoring and attention; training records them in the manifest).

A model's inputs follow from its manifest: the per-position ``channels`` (sequence, structure, free
energy, genome-scan context, coverage tracks, in that order) and a ``reads`` record (read evidence,
applied per candidate on top of the network's probability). To add an input: declare it in
:data:`INPUTS` (its channels, or none for a per-candidate input), build its arrays where
:class:`mirtron_tools.scoring.ModelInputs` builds the others, say what supplies it in
:func:`check_supplied`, and record it in the manifest when training.
"""
from __future__ import annotations

from dataclasses import dataclass

from .coverage import MODEL_CHANNELS as COVERAGE_CHANNELS
from .encoding import CHANNELS, CONTEXT_CHANNELS, ENERGY_CHANNEL, NUCLEOTIDE_CHANNELS
from .errors import InputError, ModelError


@dataclass(frozen=True)
class ModelInput:
    """One kind of model input: its name, the per-position channels it adds (none for per-candidate
    evidence) and what the user supplies for it."""

    name: str
    channels: tuple[str, ...]
    supplied_by: str


SEQUENCE = ModelInput("sequence", CHANNELS[:NUCLEOTIDE_CHANNELS], "the hairpin's sequence (FASTA, BED + genome, NPZ)")
STRUCTURE = ModelInput("structure", CHANNELS[NUCLEOTIDE_CHANNELS:], "its ViennaRNA fold (mt-encode, or on the fly)")
ENERGY = ModelInput("energy", (ENERGY_CHANNEL,), "its minimum free energy (mt-encode)")
CONTEXT = ModelInput("context", CONTEXT_CHANNELS, "a genome scan's annotations (mt-encode --genome --annotation)")
COVERAGE = ModelInput("coverage", COVERAGE_CHANNELS, "coverage tracks (mt-coverage NPZ, --coverage)")
READS = ModelInput("reads", (), "read evidence per sample (mt-coverage NPZ, --coverage)")
#: every input, in channel order
INPUTS: tuple[ModelInput, ...] = (SEQUENCE, STRUCTURE, ENERGY, CONTEXT, COVERAGE, READS)


def inputs_of(manifest: dict) -> list[ModelInput]:
    """The inputs a model reads, from its manifest (``channels`` and a ``reads`` record)."""
    channels = set(manifest.get("channels", []))
    result = [item for item in INPUTS if item.channels and set(item.channels) <= channels]
    if isinstance(manifest.get("reads"), dict):
        result.append(READS)
    return result


def input_names(manifest: dict) -> list[str]:
    """The names of :func:`inputs_of`, as manifests record them (``inputs``)."""
    return [item.name for item in inputs_of(manifest)]


def check_supplied(manifest: dict, model_name: str, source: str, *, scan: bool, coverage: bool,
                   reads: bool) -> None:
    """One clear error when a run does not supply what its model reads, or supplies what it cannot use.

    ``scan``: the input is a genome scan's NPZ; ``coverage``: coverage tracks were given; ``reads``: read
    evidence was given (mt-coverage writes both into one NPZ)."""
    names = {item.name for item in inputs_of(manifest)}
    if "context" in names and not scan:
        raise InputError(source, f"model {model_name} reads where a candidate sits in its intron (intron length, "
                         "subtype, splice distance): score an NPZ of mt-encode --genome --annotation, or give a "
                         "hairpin model (--model human_mirtron)")
    if "reads" in names and not reads:
        raise ModelError(f"{model_name}: this model reads small-RNA-seq evidence: give --coverage READS.npz, one "
                         "file made by mt-coverage from this NPZ and the BAMs of every sample")
    expected = manifest.get("coverage")
    if "coverage" in names and not coverage:
        raise ModelError(f"{model_name}: this model was trained with small-RNA-seq coverage "
                         f"({', '.join(COVERAGE_CHANNELS)}); give --coverage COV.npz made by mt-coverage with "
                         f"--flank {(expected or {}).get('flank')}")
    if coverage and not ({"coverage", "reads"} & names):
        raise ModelError(f"{model_name}: this model was trained on sequence only; it cannot use --coverage")
