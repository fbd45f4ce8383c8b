"""Property-based fuzzing of every reader: an input either parses or raises our InputError, never another
exception (a traceback). FASTA, GTF/GFF3, BED, labels TSV and encoded NPZ, from text built out of
the pieces of each format (so that many examples get deep into the parser) and from raw bytes."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirtron_tools.encoding import ENCODED_KIND, ENCODING_FORMAT_VERSION, model_inputs
from mirtron_tools.errors import InputError
from mirtron_tools.io.annotation import read_transcripts
from mirtron_tools.io.bed import read_bed
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.io.fasta import read_fasta
from mirtron_tools.io.tsv import read_labels

FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def parses_or_input_error(read, path: Path) -> object:
    """Run a reader to the end; the only exception allowed is InputError."""
    try:
        result = read(path)
        return list(result) if not isinstance(result, (dict, list)) else result
    except InputError as error:
        assert str(error).startswith(str(path)) or str(error).startswith("standard input"), str(error)
        return None


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    return path


# some raw text: any character, with the format's own separators over-represented
NOISE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
SEPARATED = st.text(alphabet=st.sampled_from(list("\t\n\r ;=\",#>@.+-0123456789") + ["é", "\ufeff", "\x00"]),
                    max_size=12)
BINARY = st.binary(max_size=300)


def lines(piece) -> st.SearchStrategy[str]:
    return st.lists(piece, max_size=12).map(lambda parts: "\n".join(parts) + "\n")


def mostly(valid, invalid) -> st.SearchStrategy:
    """``valid`` about 6 times in 7: most examples then get past the first checks."""
    return st.sampled_from(range(7)).flatmap(lambda choice: invalid if choice == 0 else valid)


@st.composite
def mutated(draw, document: st.SearchStrategy[list[str]], noise: st.SearchStrategy[str]) -> str:
    """A valid document's lines with none (half the time), one or a few faults: a line replaced by
    noise, noise inserted, a line cut short, or a line repeated."""
    parts = list(draw(document))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from(["replace", "insert", "cut", "repeat"]))
        where = draw(st.integers(0, max(len(parts) - 1, 0)))
        if kind == "insert" or not parts:
            parts.insert(where, draw(noise))
        elif kind == "replace":
            parts[where] = draw(noise)
        elif kind == "cut":
            parts[where] = parts[where][:draw(st.integers(0, len(parts[where])))]
        else:
            parts.insert(where, parts[where])
    return "\n".join(parts) + ("\n" if draw(st.booleans()) else "")


# --- FASTA ---------------------------------------------------------------------------------------

SEQUENCE_LINE = st.text(alphabet=st.sampled_from(list("ACGTUNacgtunRYXZ-* \t.") + ["é"]), max_size=40)
HEADER_LINE = st.one_of(st.just(">"), st.builds(lambda name: f">{name}", NOISE),
                        st.sampled_from([">a", ">a desc", ">b", "> ", ">chr1:10-30(+)"]))
VALID_SEQUENCE_LINE = st.text(alphabet=st.sampled_from(list("ACGTUNacgtuRY")), min_size=1, max_size=40)
FASTA_DOCUMENT = st.lists(st.tuples(st.sampled_from(["", " description", "\tmore words"]),
                                    st.lists(VALID_SEQUENCE_LINE, min_size=1, max_size=3)), max_size=6).map(
    lambda records: [line for number, (description, sequence_lines) in enumerate(records)
                     for line in [f">r{number}{description}", *sequence_lines]])
FASTA_TEXT = st.one_of(lines(st.one_of(HEADER_LINE, SEQUENCE_LINE, NOISE, SEPARATED)),
                       st.builds(lambda bom, text: bom + text, st.sampled_from(["", "", "\ufeff"]),
                                 mutated(FASTA_DOCUMENT, st.one_of(HEADER_LINE, SEQUENCE_LINE, NOISE, SEPARATED))))


@FUZZ
@given(text=FASTA_TEXT)
def test_fasta_reader_parses_or_raises_input_error(folder, text):
    records = parses_or_input_error(read_fasta, write(folder, "x.fa", text))
    for record in records or []:
        assert record.identifier and record.sequence and set(record.sequence) <= set("ACGUNRYKMSWBDHV")


@FUZZ
@given(content=BINARY, gzipped=st.booleans())
def test_fasta_reader_on_bytes(folder, content, gzipped):
    import gzip

    parses_or_input_error(read_fasta, write(folder, "b.fa", gzip.compress(content) if gzipped else content))


# --- GTF / GFF3 ----------------------------------------------------------------------------------

GTF_ATTRIBUTES = st.lists(st.one_of(st.sampled_from(['gene_id "g1";', 'transcript_id "t1";', 'transcript_id "t2";',
                                                     'gene_name "G";', 'exon_number "1";', 'exon_number "2";',
                                                     'exon_number "x";', "gene_id g2;", 'broken "', "=;"]),
                                     st.builds(lambda value: f'exon_number "{value}";', NOISE)),
                          max_size=5).map(" ".join)
GFF3_ATTRIBUTES = st.lists(st.sampled_from(["ID=t1", "ID=g1", "Parent=t1", "Parent=g1", "Parent=t1,t2",
                                            "Name=G%20x", "Parent=", "noequals", "ID="]),
                           max_size=4).map(";".join)
COORDINATE = st.one_of(st.integers(-5, 400).map(str), st.sampled_from(["", "x", "1.5", "1e3", " 7", "1_0", "\u0661"]))
FEATURE_LINE = st.builds(
    lambda contig, feature, start, end, strand, attributes:
        f"{contig}\tsrc\t{feature}\t{start}\t{end}\t.\t{strand}\t.\t{attributes}",
    st.sampled_from(["chr1", "chr2", "", "c d"]), st.sampled_from(["exon", "gene", "mRNA", "transcript", "CDS"]),
    COORDINATE, COORDINATE, st.sampled_from(["+", "-", ".", "?"]), st.one_of(GTF_ATTRIBUTES, GFF3_ATTRIBUTES, NOISE))


@st.composite
def annotation_document(draw) -> list[str]:
    """A valid GTF or GFF3: 1-3 transcripts of 1-4 ordered, non-overlapping exons."""
    gff3 = draw(st.booleans())
    result = ["##gff-version 3"] if gff3 and draw(st.booleans()) else []
    for number in range(draw(st.integers(1, 3))):
        contig, strand = draw(st.sampled_from(["chr1", "chr2"])), draw(st.sampled_from(["+", "-"]))
        position, exons = draw(st.integers(1, 500)), []
        for _ in range(draw(st.integers(1, 4))):
            length = draw(st.integers(1, 60))
            exons.append((position, position + length - 1))
            position += length + draw(st.integers(1, 200))
        numbered = draw(st.booleans())
        if gff3:
            result.append(f"{contig}\tsrc\tgene\t{exons[0][0]}\t{exons[-1][1]}\t.\t{strand}\t.\tID=g{number};Name=G{number}")
            result.append(f"{contig}\tsrc\tmRNA\t{exons[0][0]}\t{exons[-1][1]}\t.\t{strand}\t.\tID=t{number};Parent=g{number}")
        for index, (start, end) in enumerate(exons):
            exon_number = index + 1 if strand == "+" else len(exons) - index
            attributes = (f"Parent=t{number}" if gff3 else
                          f'gene_id "g{number}"; transcript_id "t{number}"; gene_name "G{number}";'
                          + (f' exon_number "{exon_number}";' if numbered else ""))
            result.append(f"{contig}\tsrc\texon\t{start}\t{end}\t.\t{strand}\t.\t{attributes}")
    return result


ANNOTATION_NOISE = st.one_of(FEATURE_LINE, SEPARATED, NOISE,
                             st.builds(lambda line, cut: "\t".join(line.split("\t")[:cut]), FEATURE_LINE,
                                       st.integers(0, 8)))
ANNOTATION_TEXT = st.one_of(mutated(annotation_document(), ANNOTATION_NOISE), mutated(annotation_document(),
                                                                                        ANNOTATION_NOISE), lines(st.one_of(FEATURE_LINE, FEATURE_LINE, st.sampled_from(["##gff-version 3", "#comment", "",
                                                                               "##FASTA"]),
                                  st.builds(lambda line, cut: "\t".join(line.split("\t")[:cut]), FEATURE_LINE,
                                            st.integers(0, 8)), SEPARATED)))


@FUZZ
@given(text=ANNOTATION_TEXT)
def test_gtf_gff3_reader_parses_or_raises_input_error(folder, text):
    transcripts = parses_or_input_error(read_transcripts, write(folder, "x.gtf", text))
    for transcript in transcripts or []:
        assert all(0 <= start < end for start, end in transcript.exons)


@FUZZ
@given(content=BINARY)
def test_gtf_gff3_reader_on_bytes(folder, content):
    parses_or_input_error(read_transcripts, write(folder, "b.gtf", content))


# --- BED -----------------------------------------------------------------------------------------

BED_LINE = st.builds(
    lambda fields, cut: "\t".join(fields[:cut]),
    st.tuples(st.one_of(st.sampled_from(["chr1", "sim1", ""]), NOISE), COORDINATE, COORDINATE,
              st.one_of(st.sampled_from(["a", "b", ".", "", "a"]), NOISE), st.sampled_from(["0", "x"]),
              st.sampled_from(["+", "-", ".", "", " +"])).map(list),
    st.integers(0, 7))
BED_DOCUMENT = st.lists(st.tuples(st.sampled_from(["chr1", "sim1"]), st.integers(0, 1000), st.integers(1, 200),
                                  st.sampled_from(["+", "-"]), st.sampled_from(["named", "."])), max_size=6).map(
    lambda rows: [f"{contig}\t{start}\t{start + length}\t{f'b{number}' if name == 'named' else '.'}\t0\t{strand}"
                  for number, (contig, start, length, strand, name) in enumerate(rows)])
BED_NOISE = st.one_of(BED_LINE, st.sampled_from(["track name=x", "browser position", "#c", ""]), SEPARATED)
BED_TEXT = st.one_of(mutated(BED_DOCUMENT, BED_NOISE), mutated(BED_DOCUMENT, BED_NOISE), lines(BED_NOISE))


@FUZZ
@given(text=BED_TEXT)
def test_bed_reader_parses_or_raises_input_error(folder, text):
    regions = parses_or_input_error(read_bed, write(folder, "x.bed", text))
    for _, region, _ in regions or []:
        assert 0 <= region.start < region.end and region.strand in "+-"


# --- labels TSV ----------------------------------------------------------------------------------

LABEL_LINE = st.builds(lambda identifier, word: f"{identifier}\t{word}",
                       st.sampled_from(["a", "b", "id", "name", ""]),
                       st.sampled_from(["1", "0", "mirtron", "other", "label", "2", "", "yes\tx"]))


@FUZZ
@given(text=lines(st.one_of(LABEL_LINE, LABEL_LINE, SEPARATED, NOISE)))
def test_labels_reader_parses_or_raises_input_error(folder, text):
    labels = parses_or_input_error(read_labels, write(folder, "x.tsv", text))
    assert labels is None or set(labels.values()) <= {0, 1}


# --- encoded NPZ ---------------------------------------------------------------------------------

SEQUENCE = mostly(st.text(alphabet=st.sampled_from(list("ACGUNRY")), min_size=1, max_size=12),
                  st.text(alphabet=st.sampled_from(list("ACGUNRXacgu") + ["é"]), max_size=12))
STRUCTURE = st.text(alphabet=st.sampled_from(list("().[x")), max_size=12)
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


@st.composite
def encoded_arrays(draw) -> dict[str, np.ndarray]:
    count = draw(st.integers(0, 6))

    def column(strategy, size=None):
        return draw(st.lists(strategy, min_size=size if size is not None else count,
                             max_size=size if size is not None else count))

    def size():  # usually consistent, sometimes one off
        return draw(mostly(st.just(count), st.sampled_from([max(count - 1, 0), count + 1])))

    sequences = column(SEQUENCE, size())
    matching = [draw(st.sampled_from(["." * len(sequence), "(" + "." * max(len(sequence) - 2, 0) + ")"]))
                [:len(sequence)] for sequence in sequences]
    structures = draw(mostly(st.just(matching), st.lists(STRUCTURE, min_size=count, max_size=count)))
    arrays = {
        "ids": np.array(draw(mostly(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "f", "g"]),
                                                min_size=count, max_size=count, unique=True),
                                       st.lists(NOISE, min_size=count, max_size=count))), dtype=str),
        "sequences": np.array(sequences, dtype=str),
        "structures": np.array(structures, dtype=str),
        "mfe": draw(mostly(st.builds(lambda values: np.array(values, dtype=np.float32),
                                     st.lists(st.floats(-80, 0, width=32), min_size=count, max_size=count)),
                           st.one_of(st.builds(lambda values: np.array(values, dtype=np.float32),
                                               st.lists(FLOATS, min_size=count, max_size=count)),
                                     st.just(np.array(["x"] * count))))),
        "max_length": draw(mostly(st.just(np.array(200, dtype=np.int32)),
                                  st.sampled_from([np.array(0), np.array("200"), np.array([1, 2])]))),
    }
    if draw(st.booleans()):
        arrays["annotation_gene"] = np.array(column(NOISE, size()), dtype=str)
    dropped = draw(mostly(st.just([]), st.lists(st.sampled_from(sorted(arrays)), min_size=1, max_size=1)))
    for key in dropped:
        arrays.pop(key)
    arrays["format"] = draw(mostly(st.just(np.array(ENCODED_KIND)), st.sampled_from([np.array("other"),
                                                                                     np.array([1])])))
    arrays["format_version"] = draw(mostly(st.just(np.array(ENCODING_FORMAT_VERSION, dtype=np.int32)),
                                           st.sampled_from([np.array("1"), np.array([1, 1]), np.array(2.5),
                                                            np.array(7)])))
    return arrays


@FUZZ
@given(arrays=encoded_arrays(), truncate=st.sampled_from([None, None, None, 0.5, 0.9]))
def test_encoded_npz_reader_parses_or_raises_input_error(folder, arrays, truncate):
    path = folder / "x.npz"
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    data = buffer.getvalue()
    path.write_bytes(data if truncate is None else data[: int(len(data) * truncate)])
    try:
        encoded = read_encoded(path)
    except InputError as error:
        assert str(error).startswith(str(path)), str(error)
        return
    model_inputs(encoded, energy=True)  # what passes the reader can be encoded for a model


@FUZZ
@given(content=BINARY, zip_member=st.booleans())
def test_encoded_npz_reader_on_bytes(folder, content, zip_member):
    path = folder / "b.npz"
    if zip_member:  # a zip archive whose members are not arrays
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("format.npy", content)
            archive.writestr("format_version.npy", content[::-1])
        content = buffer.getvalue()
    path.write_bytes(content)
    parses_or_input_error(read_encoded, path)
