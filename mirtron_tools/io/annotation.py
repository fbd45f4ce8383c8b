"""Gene models from GTF or GFF3 (plain or gzip): exons grouped into transcripts.

Only ``exon`` lines are used. GTF exons need ``transcript_id`` and ``gene_id`` (``gene_name`` is
used as the gene label when present). GFF3 exons name their transcript(s) in ``Parent``; the
transcript's own ``Parent`` names the gene, whose ``Name`` (else ``gene_name``, else ID) is the
label. The format is recognised by the ``##gff-version 3`` header or by the attribute syntax of
the first feature line. Coordinates become 0-based, end-exclusive.
"""
from __future__ import annotations

import os
import re
from urllib.parse import unquote

from ..errors import InputError
from ..scan.genes import Transcript
from .text import read_lines

_GTF_ATTRIBUTE = re.compile(r'\s*([^\s";]+)\s+(?:"([^"]*)"|([^\s";]+))\s*(?:;|$)')


def _gtf_attributes(text: str, source: str, line: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _GTF_ATTRIBUTE.match(text, position)
        if match is None:
            raise InputError(source, f"malformed GTF attributes near '{text[position:position + 30]}' "
                             "(expected key \"value\"; pairs)", line)
        attributes.setdefault(match[1], match[2] if match[2] is not None else match[3])
        position = match.end()
    return attributes


def _gff3_attributes(text: str, source: str, line: int) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for pair in text.strip().strip(";").split(";"):
        if not pair.strip():
            continue
        if "=" not in pair:
            raise InputError(source, f"malformed GFF3 attribute '{pair.strip()}' (expected key=value)", line)
        key, value = pair.split("=", 1)
        attributes[key.strip()] = unquote(value.strip())
    return attributes


def read_transcripts(path: str | os.PathLike) -> list[Transcript]:
    """Multi- and single-exon transcripts of a GTF/GFF3, in order of first appearance.

    Raises InputError (file and line) for lines without 9 tab-separated columns, coordinates
    that are not positive whole numbers or have start > end, exons without strand or without a
    transcript, transcripts whose exons lie on several contigs or strands, exons that overlap,
    and exon numbers (GTF ``exon_number``) that disagree with the exons' order on the strand.
    """
    source = str(path)
    gff3: bool | None = None
    # transcript -> [contig, strand, gene_key, [(start, end, line, exon_number)]]
    exons: dict[str, list] = {}
    parents: dict[str, str] = {}  # GFF3: transcript ID -> gene ID
    labels: dict[str, str] = {}  # gene ID -> display name
    features = 0
    for line_number, line in read_lines(path):
        if line.startswith("#"):
            if line.startswith("##gff-version"):
                gff3 = True
            if line.startswith("##FASTA"):
                break
            continue
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 9:
            raise InputError(source, f"expected 9 tab-separated columns (GTF/GFF3), found {len(fields)}",
                             line_number)
        features += 1
        contig, _, feature, start_text, end_text, _, strand, _, attribute_text = fields
        if gff3 is None:
            gff3 = "=" in attribute_text and '"' not in attribute_text
        try:
            start, end = int(start_text), int(end_text)
        except ValueError:
            raise InputError(source, f"start '{start_text}' and end '{end_text}' must be whole numbers",
                             line_number) from None
        if start < 1 or end < start:
            raise InputError(source, f"bad coordinates {start}-{end} (need 1 <= start <= end)", line_number)
        attributes = (_gff3_attributes if gff3 else _gtf_attributes)(attribute_text, source, line_number)
        if gff3 and feature != "exon":
            if "ID" in attributes:
                if "Parent" in attributes:
                    parents[attributes["ID"]] = attributes["Parent"].split(",")[0]
                label = attributes.get("Name") or attributes.get("gene_name")
                if label:
                    labels[attributes["ID"]] = label
            continue
        if feature != "exon":
            continue
        if strand not in ("+", "-"):
            raise InputError(source, f"exon has strand '{strand}'; introns need '+' or '-'", line_number)
        if gff3:
            owners = [name for name in attributes.get("Parent", "").split(",") if name]
            if not owners:
                raise InputError(source, "exon has no Parent attribute (GFF3 exons name their transcript)",
                                 line_number)
            gene = None
        else:
            if "transcript_id" not in attributes or "gene_id" not in attributes:
                raise InputError(source, "exon lacks transcript_id or gene_id (GTF)", line_number)
            owners = [attributes["transcript_id"]]
            gene = attributes["gene_id"]
            if "gene_name" in attributes:
                labels.setdefault(gene, attributes["gene_name"])
        number_text = attributes.get("exon_number")
        number = int(number_text) if number_text and number_text.isascii() and number_text.isdigit() else None
        for owner in owners:
            entry = exons.get(owner)
            if entry is None:
                exons[owner] = [contig, strand, gene, [(start - 1, end, line_number, number)]]
                continue
            if entry[0] != contig or entry[1] != strand:
                raise InputError(source, f"transcript '{owner}' has exons on {entry[0]} ({entry[1]}) "
                                 f"and on {contig} ({strand})", line_number)
            entry[3].append((start - 1, end, line_number, number))
    if features == 0:
        raise InputError(source, "no GTF/GFF3 feature lines found")
    if not exons:
        raise InputError(source, "no exon lines found (introns are derived from exons)")
    transcripts = []
    for name, (contig, strand, gene, pieces) in exons.items():
        pieces.sort()
        for previous, current in zip(pieces, pieces[1:]):
            if current[0] < previous[1]:
                raise InputError(source, f"exons of transcript '{name}' overlap ({contig}:{previous[0] + 1}-"
                                 f"{previous[1]} at line {previous[2]} and {current[0] + 1}-{current[1]})",
                                 current[2])
        numbers = [piece[3] for piece in pieces]
        if all(number is not None for number in numbers) and len(pieces) > 1:
            expected = list(range(1, len(pieces) + 1)) if strand == "+" else list(range(len(pieces), 0, -1))
            if numbers != expected:
                wrong = next(piece for piece, want in zip(pieces, expected) if piece[3] != want)
                raise InputError(source, f"exons of transcript '{name}' are out of order: exon_number "
                                 f"{wrong[3]} at {contig}:{wrong[0] + 1}-{wrong[1]} should be {expected[pieces.index(wrong)]} "
                                 f"on the {strand} strand", wrong[2])
        if gene is None:  # GFF3: transcript -> gene through the transcript's Parent
            gene = parents.get(name, name)
        transcripts.append(Transcript(name, labels.get(gene, gene), contig, strand,
                                      tuple((start, end) for start, end, _, _ in pieces)))
    return transcripts


def annotation_contigs(transcripts: list[Transcript]) -> dict[str, int]:
    """Each contig of the transcripts and the largest exon end on it."""
    ends: dict[str, int] = {}
    for transcript in transcripts:
        ends[transcript.contig] = max(ends.get(transcript.contig, 0), transcript.exons[-1][1])
    return ends
