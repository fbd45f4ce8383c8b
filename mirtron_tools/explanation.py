"""The mt-attend run as library calls: plan and check it, load the model, explain chunk by chunk, draw.

:func:`plan_explanation` does every check that can fail on the inputs before a model is read;
:func:`load_explainer` loads the model as a :class:`~mirtron_tools.inference.Scorer` (numpy, no TensorFlow,
for every bundled model); :class:`Explainer` turns chunks of hairpins into table rows, predictions and the
aggregate profile, and keeps the hairpins to draw; :func:`draw_figures` draws them. The per-position scores
themselves (attention, mutagenesis) are in :mod:`mirtron_tools.attribution`.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from .attribution import (
    EndProfile,
    TopScoring,
    attention_header,
    attention_rows,
    mutagenesis_header,
    mutagenesis_importance,
    mutagenesis_rows,
    prediction_groups,
    saturation_mutagenesis,
)
from .encoding import DEFAULT_MAX_LENGTH
from .errors import InputError, ModelError
from .inference import Scorer
from .progress import no_progress
from .scoring import ModelInputs, Scored

if TYPE_CHECKING:
    from .coverage import CoverageSet

logger = logging.getLogger(__name__)

METHODS = ("attention", "mutagenesis")


def sidecar(output: str, name: str) -> str | None:
    """``attention.tsv`` -> ``attention.<name>.tsv``; None for standard output."""
    if output == "-":
        return None
    path = Path(output)
    return str(path.with_suffix(f".{name}.tsv") if path.suffix == ".tsv" else Path(f"{output}.{name}.tsv"))


def safe_name(identifier: str) -> str:
    """The one rule for file names made from ids: a strand ``(+)``/``(-)`` (or a final ``:+``/``:-``)
    becomes ``_plus``/``_minus``, every other run of characters outside letters, digits, ``.``,
    ``_`` and ``-`` becomes one ``_``: ``chr1:100-160(-)`` -> ``chr1_100-160_minus``."""
    stranded = re.sub(r"\(([+-])\)|:([+-])$",
                      lambda match: "_plus" if "+" in match.group(0) else "_minus", identifier)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stranded).strip("._") or "hairpin"


def figure_name(identifier: str, method: str, taken: set[str], extension: str) -> str:
    """A file name for one hairpin's figure (:func:`safe_name`); collisions get a number."""
    stem = safe_name(identifier)
    name, number = f"{stem}_{method}.{extension}", 1
    while name in taken:
        number += 1
        name = f"{stem}_{number}_{method}.{extension}"
    taken.add(name)
    return name


def check_plot_folder(folder: str) -> bool:
    """Fail early when the figures cannot be written; True when the folder must be created."""
    path = Path(folder)
    if path.exists():
        if not path.is_dir():
            raise InputError(folder, "plot folder is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(folder, "plot folder is not writable")
        return False
    parent = path.resolve().parent
    if not parent.is_dir():
        raise InputError(folder, f"cannot create the plot folder: {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(folder, f"cannot create the plot folder: {parent} is not writable")
    return True


def unknown_ids_error(source: str, unknown: Sequence[str]) -> InputError:
    from .io.text import shortened

    return InputError(source, f"{len(unknown)} id(s) given with --ids are not in the input: {shortened(unknown)}")


def network_share_note(manifest: dict) -> str | None:
    """What share of the model's probability the attention networks carry (the rest: the k-mer
    regression and boosted trees of a blended ensemble), from the manifest; None for networks alone."""
    training = manifest.get("training", {})
    shares = {"k-mer regression": training.get("kmer_weight") or 0.0,
              "boosted trees": training.get("tree_weight") if isinstance(training.get("tree_weight"), (int, float))
              else 0.0}
    others = {name: float(share) for name, share in shares.items() if share}
    if not others:
        return None
    networks = max(0.0, 1.0 - sum(others.values()))
    rest = ", ".join(f"{name} {share:.0%}" for name, share in others.items())
    return f"the networks explained here carry {networks:.0%} of the call ({rest})"


@dataclass
class Plan:
    """What mt-attend will do, checked before any model is read."""

    model_path: Path
    manifest: dict
    coverage: CoverageSet | None
    extra_names: list[str]
    truth: dict | None
    wanted: set[str] | None
    expected: int | None  # hairpins to analyse, when known up front
    threshold: float
    positive_call: str


def plan_explanation(source: str, model: str | None, labels: str | None, coverage_paths: Sequence[str],
                     ids: Sequence[str] | None, threshold: float | None) -> Plan:
    """Every check on the inputs (the hairpins sniffed, the manifest, coverage, --ids), before the model
    is loaded and work starts."""
    from .coverage import check_coverage_for_model, check_coverage_ids
    from .io.coverage import read_coverage_files
    from .io.hairpins import input_ids, sniff_hairpins
    from .io.model import read_manifest, resolve_model
    from .io.tsv import read_labels

    sniff_hairpins(source)
    model_path = resolve_model(model)
    manifest = read_manifest(model_path)
    coverage_source = " ".join(coverage_paths)
    coverage = read_coverage_files(list(coverage_paths)) if coverage_paths else None
    check_coverage_for_model(manifest, coverage, str(model_path), coverage_source)
    wanted = set(ids) if ids else None
    known = input_ids(source) if wanted is not None or coverage is not None else None
    if known is not None:  # standard input is read once, so its ids are checked as they come
        if ids:
            present = set(known)
            unknown = [identifier for identifier in ids if identifier not in present]
            if unknown:
                raise unknown_ids_error(source, unknown)
            known = [identifier for identifier in known if identifier in set(ids)]
        if coverage is not None:
            check_coverage_ids(known, coverage, coverage_source)
    return Plan(model_path, manifest, coverage, list(manifest["coverage"]["channels"]) if coverage is not None else [],
                read_labels(labels) if labels else None, wanted, len(known) if known is not None else None,
                threshold if threshold is not None else float(manifest["threshold"]),
                manifest.get("positive_class", "positive"))


def load_explainer(plan: Plan, method: str, prepare_keras: Callable[[], None] | None = None,
                   threads: int = 1) -> Scorer:
    """The model, after checking that ``method`` can explain it (numpy unless a layer needs Keras)."""
    from .encoding import uses_context
    from .inference import load_scorer

    if uses_context(plan.manifest):
        raise ModelError(f"{plan.model_path}: this model scores genome-scan candidates from their intron context "
                         "(mt-predict); mt-attend explains hairpin models such as human_mirtron or premirna")
    scorer = load_scorer(plan.model_path, plan.manifest, prepare_keras, threads)
    if method == "attention":
        try:
            scorer.attention_readers()
        except ModelError:
            raise ModelError(f"{plan.model_path}: the model has no attention layer "
                             "('--method mutagenesis' works with any model)") from None
    return scorer


def explained(scorer: Scorer, method: str, inputs: ModelInputs, chunk, batch_size: int = 256,
              threads: int = 1) -> Iterator[tuple[float, np.ndarray, np.ndarray | None, np.ndarray | None]]:
    """Per hairpin of a chunk: (probability, per-position scores, mutagenesis deltas or None, coverage track)."""
    extra = inputs.extra(chunk)
    arrays = inputs.arrays(chunk, extra)
    if method == "attention":
        probabilities, weights = scorer.attention(arrays, batch_size)
        for row in range(len(chunk)):
            yield float(probabilities[row]), weights[row], None, None if extra is None else extra[row]
        return

    def predict(batch):
        return scorer.predict(batch, batch_size)

    probabilities = predict(arrays)
    for row, deltas in enumerate(saturation_mutagenesis(chunk.sequences, predict, probabilities, extra,
                                                        threads=threads, energy=inputs.energy)):
        yield (float(probabilities[row]), mutagenesis_importance(chunk.sequences[row], deltas), deltas,
               None if extra is None else extra[row])


@dataclass
class Explainer:
    """Explains chunks of hairpins into the per-position table and the predictions (open text streams),
    adding every hairpin to the aggregate ``profile`` and keeping those to draw (the ``wanted`` ids in
    input order, else the ``top`` highest scoring)."""

    scorer: Scorer
    inputs: ModelInputs
    plan: Plan
    method: str
    profile: EndProfile
    top: TopScoring
    batch_size: int = 256
    threads: int = 1
    drawn: list = field(default_factory=list)
    found: set[str] = field(default_factory=set)  # ids seen, kept only with --ids (bounded by the ids given)
    analysed: int = 0
    labelled: int = 0

    def header(self) -> list[str]:
        return (attention_header if self.method == "attention" else mutagenesis_header)(self.plan.extra_names)

    def add(self, chunk, table: IO[str], predictions: IO[str] | None, progress: Callable[[int], None]) -> None:
        from .io.predictions import write_tsv_rows

        plan = self.plan
        probabilities = []
        for row, (probability, scores, deltas, track) in enumerate(
                explained(self.scorer, self.method, self.inputs, chunk, self.batch_size, self.threads)):
            identifier, sequence, structure = chunk.ids[row], chunk.sequences[row], chunk.structures[row]
            call = plan.positive_call if probability >= plan.threshold else "other"
            rows = (attention_rows(identifier, sequence, structure, scores, track) if deltas is None
                    else mutagenesis_rows(identifier, sequence, structure, deltas, track))
            table.writelines("\t".join(fields) + "\n" for fields in rows)
            label = plan.truth.get(identifier) if plan.truth is not None else None
            self.labelled += label is not None
            for group in prediction_groups(probability, plan.threshold, plan.positive_call, label):
                self.profile.add(group, scores)
            payload = (identifier, sequence, structure, scores, probability, call, deltas, track)
            if plan.wanted is not None:
                self.drawn.append(payload)
                self.found.add(identifier)
            else:
                self.top.offer(probability, payload)
            probabilities.append(probability)
            self.analysed += 1
            progress(1)
        if predictions:
            write_tsv_rows(predictions, Scored(chunk.ids, chunk.lengths, {}, np.array(probabilities)),
                           np.arange(len(chunk)), plan.threshold, plan.positive_call, [])

    def finish(self, source: str, labels: str | None, ids: Sequence[str] | None) -> list:
        """Check what only the whole input tells; the hairpins to draw."""
        if not self.analysed:
            raise InputError(source, "no sequences to analyse")
        if self.plan.wanted is not None and len(self.found) < len(self.plan.wanted):  # standard input
            raise unknown_ids_error(source, [identifier for identifier in ids or [] if identifier not in self.found])
        if self.plan.truth is not None and not self.labelled:
            raise InputError(labels or "", "none of the labelled ids is in the input")
        return self.drawn if self.plan.wanted is not None else self.top.items()


def draw_figures(path: Callable[..., Any], folder: Path, method: str, extension: str, profile: EndProfile,
                 items, coverage, model_name: str, count: int, note: str | None = None) -> None:
    """Draw the aggregate and per-hairpin figures; ``path(final, suffix)`` gives the file to save each to
    (a temporary one of an atomic output group). Coverage tracks are drawn as read counts over the hairpin
    (the model's scaled channels are in the table); ``note`` says what share of the call the networks carry."""
    from .coverage import read_count_tracks
    from .plots import attribution_figure, end_profile_figure, save_figure

    aggregate_name = f"aggregate_{method}.{extension}"
    taken = {aggregate_name}
    what = "attention" if method == "attention" else "mutagenesis importance"
    title = f"mean {what} by distance from the ends: {count} hairpins, {model_name}"
    figure = end_profile_figure(profile, method, title=title + (f"\n{note}" if note else ""))
    save_figure(figure, path(folder / aggregate_name, f".{extension}"))
    for identifier, sequence, structure, scores, probability, call, deltas, track in items:
        tracks = None
        if track is not None and coverage is not None:  # reads over the hairpin, flanks left out
            tracks = read_count_tracks(coverage, identifier)
        figure = attribution_figure(identifier, sequence, structure, scores, probability, call, method,
                                    deltas, tracks, note)
        save_figure(figure, path(folder / figure_name(identifier, method, taken, extension), f".{extension}"))
    logger.info("drew %d figure(s) in %s", len(taken), folder)


@dataclass
class ExplainRequest:
    """What to explain and write (mt-attend's options; see ``mt-attend --help``)."""

    input: str
    output: str
    method: str = "attention"
    model: str | None = None
    labels: str | None = None
    coverage: list[str] = field(default_factory=list)
    ids: list[str] | None = None
    threshold: float | None = None
    top: int | None = None
    plots: str | None = None
    format: str = "png"
    predictions: str | None = None
    aggregate: str | None = None
    batch_size: int = 256
    chunk_size: int = 1024
    max_length: int = DEFAULT_MAX_LENGTH
    skip_long: bool = False
    threads: int = 1


def explain(request: ExplainRequest, create_plots: bool = False, engine: Callable[[], None] | None = None,
            progress_factory: Callable[[str, int | None], Any] | None = None) -> None:
    """mt-attend's run as a library call: score and explain every hairpin of ``request.input`` (attention
    read-out or in-silico mutagenesis) and write the table, the predictions and aggregate sidecars and the
    figures (``create_plots``: the figure folder is to be made). ``engine`` is called only when a model needs
    Keras after all."""
    from .attribution import EndProfile, TopScoring
    from .io.atomic import atomic_outputs, atomic_text
    from .io.fasta import HairpinStats
    from .io.hairpins import input_chunks
    from .io.npz import looks_like_npz
    from .io.predictions import write_tsv_header
    from .prediction import LengthCheck
    from .scoring import ModelInputs

    plan = plan_explanation(request.input, request.model, request.labels, request.coverage, request.ids, request.threshold)
    scorer = load_explainer(plan, request.method, engine, request.threads)
    manifest = plan.manifest
    logger.info("model %s (task %s, threshold %.3f), method %s", plan.model_path.name, manifest.get("task"),
                plan.threshold, request.method)
    explainer = Explainer(scorer, ModelInputs(manifest, request.input, plan.coverage, " ".join(request.coverage)), plan,
                          request.method, EndProfile(max(int(manifest.get("max_length", request.max_length)),
                                                      request.max_length)),
                          TopScoring(0 if not request.plots or plan.wanted is not None
                                     else (10 if request.top is None else request.top)), request.batch_size, request.threads)
    lengths = LengthCheck.from_manifest(manifest)
    stats = HairpinStats()
    progress = (progress_factory or no_progress)(request.method, plan.expected)
    plot_folder = Path(request.plots) if request.plots else None
    try:
        with contextlib.ExitStack() as outputs:
            written = outputs.enter_context(atomic_outputs())  # every output renamed at the end, or none
            table = outputs.enter_context(atomic_text(request.output, written))
            table.write("\t".join(explainer.header()) + "\n")
            predictions = outputs.enter_context(atomic_text(request.predictions, written)) if request.predictions else None
            if predictions:
                write_tsv_header(predictions, [])
            for chunk in input_chunks([request.input], looks_like_npz(request.input), request.chunk_size, request.max_length,
                                      request.skip_long, request.threads, stats, plan.wanted):
                lengths.add(chunk.lengths)
                explainer.add(chunk, table, predictions, progress)
            items = explainer.finish(request.input, request.labels, request.ids)
            progress.close()
            if request.aggregate:
                aggregate = outputs.enter_context(atomic_text(request.aggregate, written))
                aggregate.write("\t".join(EndProfile.HEADER) + "\n")
                aggregate.writelines("\t".join(fields) + "\n" for fields in explainer.profile.rows())
            if plot_folder is not None:
                if create_plots:
                    plot_folder.mkdir()
                draw_figures(written.path, plot_folder, request.method, request.format, explainer.profile, items,
                             plan.coverage, plan.model_path.name, explainer.analysed, network_share_note(manifest))
    except BaseException:
        if create_plots and plot_folder is not None and plot_folder.is_dir() and not any(plot_folder.iterdir()):
            plot_folder.rmdir()
        raise
    stats.report(request.input)
    if warning := lengths.message(plan.model_path.name):
        logger.warning("%s", warning)
    logger.info("wrote %s%s%s", request.output, f", {request.predictions}" if request.predictions else "",
                f", {request.aggregate}" if request.aggregate else "")


