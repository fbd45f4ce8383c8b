"""Candidates -> an :class:`~mirtron_tools.encoding.EncodedSet` whose annotations are the scan's
:data:`~mirtron_tools.scan.parameters.ANNOTATION_COLUMNS` (hosts, subtype, splice distance, decoys)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..encoding import DEFAULT_MAX_LENGTH, EncodedSet
from .folding import Candidate
from .genes import Intron
from .windows import Window


def candidate_id(contig: str, start: int, end: int, strand: str) -> str:
    """``contig:start-end(strand)``, 0-based start as ``bedtools getfasta -s`` writes it."""
    return f"{contig}:{start}-{end}({strand})"


def _hosts(candidate: Candidate, windows: Sequence[Window], introns: Sequence[Intron]) -> list[Intron]:
    indices: list[int] = []
    for window_index in (candidate.window, *candidate.also_from):
        indices.extend(index for index in windows[window_index].hosts if index not in indices)
    return [introns[index] for index in sorted(indices)]


def candidates_to_encoded(candidates: Sequence[Candidate], windows: Sequence[Window], introns: Sequence[Intron],
                          max_length: int = DEFAULT_MAX_LENGTH) -> EncodedSet:
    """An :class:`EncodedSet` whose annotations are :data:`ANNOTATION_COLUMNS`.

    ``gene`` lists the host genes; ``transcript``, ``intron_number`` and ``intron`` (genomic
    ``start-end``) list, in parallel, every transcript intron that hosts the candidate. When any
    candidate is a decoy, a ``decoy`` column (1 = decoy) is added and decoy ids start ``decoy:``.
    """
    contigs, strands, genes, transcripts, numbers, spans = [], [], [], [], [], []
    for candidate in candidates:
        window = windows[candidate.window]
        hosts = _hosts(candidate, windows, introns)
        contigs.append(window.contig)
        strands.append(window.strand)
        host_genes: list[str] = []
        for intron in hosts:
            host_genes.extend(gene for gene in intron.genes if gene not in host_genes)
        genes.append(",".join(host_genes))
        transcripts.append(",".join(name for intron in hosts for name in intron.transcripts))
        numbers.append(",".join(str(number) for intron in hosts for number in intron.numbers))
        spans.append(",".join(f"{intron.start}-{intron.end}" for intron in hosts
                              for _ in intron.transcripts))
    text = (lambda values: np.array(values, dtype=str) if values else np.array([], dtype="<U1"))
    annotations = {
        "contig": text(contigs),
        "start": np.array([candidate.start for candidate in candidates], dtype=np.int64),
        "end": np.array([candidate.end for candidate in candidates], dtype=np.int64),
        "strand": text(strands),
        "subtype": text([candidate.subtype for candidate in candidates]),
        "gene": text(genes),
        "transcript": text(transcripts),
        "intron_number": text(numbers),
        "intron": text(spans),
        "splice_distance": np.array([candidate.splice_distance for candidate in candidates], dtype=np.int32),
    }
    if any(candidate.decoy for candidate in candidates):
        annotations["decoy"] = np.array([int(candidate.decoy) for candidate in candidates], dtype=np.int8)
    return EncodedSet(
        ids=[("decoy:" if candidate.decoy else "") + candidate_id(contig, candidate.start, candidate.end, strand)
             for candidate, contig, strand in zip(candidates, contigs, strands)],
        sequences=[candidate.sequence for candidate in candidates],
        structures=[candidate.structure for candidate in candidates],
        mfe=np.array([candidate.mfe for candidate in candidates], dtype=np.float32),
        max_length=max_length,
        annotations=annotations,
    )
