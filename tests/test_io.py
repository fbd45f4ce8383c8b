import gzip

import numpy as np
import pytest
from conftest import write

from mirtron_tools.errors import FormatVersionError, InputError, ModelError
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.io.fasta import read_fasta
from mirtron_tools.io.model import bundled_models, read_manifest, resolve_model
from mirtron_tools.io.npz import write_arrays
from mirtron_tools.io.tsv import read_labels


def test_fasta_normalises_and_reads_gzip(tmp_path):
    text = ">a first\nacgt\nNNry\n\n>b\nGGGUUU\n"
    plain = write(tmp_path / "x.fa", text)
    zipped = tmp_path / "x.fa.gz"
    zipped.write_bytes(gzip.compress(text.encode()))
    for path in (plain, zipped):
        records = list(read_fasta(path))
        assert [(r.identifier, r.sequence, r.line) for r in records] == [("a", "ACGUNNRY", 1), ("b", "GGGUUU", 5)]


@pytest.mark.parametrize("text, problem", [
    ("", "file is empty"),
    ("ACGU\n", "not FASTA"),
    (">a\n>b\nACGU\n", "record 'a' has no sequence"),
    (">a\nACGU\n>a\nACGU\n", "duplicate record id 'a'"),
    (">a\nACXU\n", "x.fa:2: record 'a' has character 'X'"),
    (">\nACGU\n", "no identifier"),
])
def test_fasta_errors_name_file_line_record(tmp_path, text, problem):
    path = write(tmp_path / "x.fa", text)
    with pytest.raises(InputError, match=problem.replace("(", r"\(")):
        list(read_fasta(path))


def test_truncated_gzip(tmp_path):
    data = gzip.compress((">a\n" + "ACGU" * 5000 + "\n").encode())
    path = tmp_path / "cut.fa.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt gzip"):
        list(read_fasta(path))


def test_npz_of_other_version_or_kind(tmp_path, test_data):
    path = tmp_path / "old.npz"
    write_arrays(path, "mirtron_tools.encoded", 99, {"ids": np.array(["a"])})
    with pytest.raises(FormatVersionError, match="format version 99"):
        read_encoded(path)
    write_arrays(path, "something.else", 1, {})
    with pytest.raises(InputError, match="expected 'mirtron_tools.encoded'"):
        read_encoded(path)
    np.savez(tmp_path / "plain.npz", a=np.zeros(2))
    with pytest.raises(InputError, match="no format header"):
        read_encoded(tmp_path / "plain.npz")
    assert len(read_encoded(test_data / "synthetic_hairpins.npz")) == 20


def test_labels_file(tmp_path):
    labels = read_labels(write(tmp_path / "l.tsv", "id\tlabel\na\tmirtron\nb\t0\n# note\nc\tTRUE\n"))
    assert labels == {"a": 1, "b": 0, "c": 1}
    with pytest.raises(InputError, match="l2.tsv:2: label 'maybe'"):
        read_labels(write(tmp_path / "l2.tsv", "a\t1\nb\tmaybe\n"))


def test_model_resolution_and_manifest(tmp_path, test_data):
    assert "human_mirtron" in bundled_models()
    manifest = read_manifest(resolve_model(None))
    assert manifest["task"] == "mirtron" and 0 < manifest["threshold"] < 1
    with pytest.raises(ModelError, match="neither a bundled model"):
        resolve_model("no_such_model")
    broken = tmp_path / "broken.keras"
    broken.write_bytes((test_data / "tiny_model.keras").read_bytes()[:5000])
    with pytest.raises(ModelError, match="not a .keras model file"):
        read_manifest(broken)
