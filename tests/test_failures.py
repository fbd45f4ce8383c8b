"""Nothing lost, nothing half-written, no traceback: one parametrised test per failure class.

Outputs that are inputs or each other, corrupt NPZ fields, bad model manifests, options out of
range, SIGTERM with a temporary file present, write errors, and the smaller input faults. No test
here trains a model; the command tests stop before TensorFlow loads (they fail in the checks).
"""
from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mirtron_tools.cli import attend, encode, predict, train
from mirtron_tools.cli import coverage as coverage_cli
from mirtron_tools.encoding import ENCODED_KIND, ENCODING_FORMAT_VERSION
from mirtron_tools.errors import InputError, ModelError, OutputError
from mirtron_tools.io.atomic import atomic_outputs, check_outputs
from mirtron_tools.io.encoded import read_encoded
from mirtron_tools.io.model import MANIFEST_MEMBER, read_manifest
from mirtron_tools.io.npz import looks_like_npz, write_arrays
from mirtron_tools.io.tsv import read_labels

COMMANDS = {"mt-encode": encode, "mt-predict": predict, "mt-attend": attend, "mt-coverage": coverage_cli,
            "mt-train": train}
FASTA = ">a\nGGGAAACCCUUUGGGAAACCC\n>b\nACGUACGUACGUACGUAAAA\n"


def one_error_line(capsys, prog: str) -> str:
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"{prog}: error: "), error
    return error[0]


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.fixture
def inputs(tmp_path, test_data):
    """A FASTA, copies of an encoded NPZ, a labels table, a BAM with its index (all in tmp_path)."""
    (tmp_path / "x.fa").write_text(FASTA)
    shutil.copy(test_data / "synthetic_hairpins.npz", tmp_path / "p.npz")
    shutil.copy(test_data / "synthetic_hairpins.npz", tmp_path / "n.npz")
    shutil.copy(test_data / "sim_candidates.npz", tmp_path / "c.npz")
    shutil.copy(test_data / "sim_reads.bam", tmp_path / "r.bam")
    shutil.copy(test_data / "sim_reads.bam.bai", tmp_path / "r.bam.bai")
    (tmp_path / "lab.tsv").write_text("id\tlabel\na\t1\nb\t0\n")
    return tmp_path


# --- 1. an output that is also an input, or two outputs on one path: exit 1, inputs untouched ----

SAME_PATH = {
    "encode -o input": ("mt-encode", ["x.fa", "-o", "x.fa"], "x.fa", "-o"),
    "encode --table input": ("mt-encode", ["x.fa", "-o", "y.npz", "--table", "x.fa"], "x.fa", "--table"),
    "predict -o input": ("mt-predict", ["x.fa", "-o", "x.fa"], "x.fa", "-o"),
    "predict --metrics labels": ("mt-predict", ["x.fa", "-o", "o.tsv", "--labels", "lab.tsv", "--metrics", "lab.tsv"],
                                 "lab.tsv", "--metrics"),
    "attend -o input": ("mt-attend", ["x.fa", "-o", "x.fa"], "x.fa", "-o"),
    "coverage -o input": ("mt-coverage", ["c.npz", "r.bam", "-o", "c.npz"], "c.npz", "-o"),
    "coverage --table bam": ("mt-coverage", ["c.npz", "r.bam", "-o", "o.npz", "--table", "r.bam"], "r.bam",
                             "--table"),
    "coverage --table index": ("mt-coverage", ["c.npz", "r.bam", "-o", "o.npz", "--table", "r.bam.bai"],
                               "r.bam.bai", "--table"),
    "train -o positive": ("mt-train", ["--positive", "p.npz", "--negative", "n.npz", "-o", "p.npz"], "p.npz", "-o"),
    "train --plots negative": ("mt-train", ["--positive", "p.npz", "--negative", "n.npz", "-o", "m.keras",
                                            "--plots", "n.npz"], "n.npz", "--plots"),
}


@pytest.mark.parametrize("case", sorted(SAME_PATH))
def test_an_output_that_is_an_input_is_refused_before_any_work(inputs, monkeypatch, capsys, case):
    prog, argv, clobbered, option = SAME_PATH[case]
    monkeypatch.chdir(inputs)
    before = {name: (inputs / name).read_bytes() for name in files_in(inputs)}
    assert COMMANDS[prog].main([*argv, "-q"]) == 1
    line = one_error_line(capsys, prog)
    assert f"{clobbered}: output ({option}) is also an input of this run" in line
    assert {name: (inputs / name).read_bytes() for name in files_in(inputs)} == before


def test_a_hard_link_to_an_input_is_the_input(inputs, capsys):
    os.link(inputs / "x.fa", inputs / "linked.fa")
    assert encode.main([str(inputs / "x.fa"), "-o", str(inputs / "linked.fa"), "-q"]) == 1
    assert "is also an input" in one_error_line(capsys, "mt-encode")


TWO_OUTPUTS = {
    "train -o = --metrics": ("mt-train", ["--positive", "p.npz", "--negative", "n.npz", "-o", "m.keras",
                                          "--metrics", "m.keras"], "-o and --metrics"),
    "train --metrics = --plots": ("mt-train", ["--positive", "p.npz", "--negative", "n.npz", "-o", "m.keras",
                                               "--metrics", "z", "--plots", "./z"], "--metrics and --plots"),
    "attend -o = --predictions": ("mt-attend", ["x.fa", "-o", "a.tsv", "--predictions", "a.tsv"],
                                  "-o and --predictions"),
    "attend --predictions = --aggregate": ("mt-attend", ["x.fa", "-o", "a.tsv", "--predictions", "b.tsv",
                                                         "--aggregate", "b.tsv"], "--predictions and --aggregate"),
    "encode -o = --table": ("mt-encode", ["x.fa", "-o", "y.npz", "--table", "y.npz"], "-o and --table"),
    "coverage -o = --table": ("mt-coverage", ["c.npz", "r.bam", "-o", "o.npz", "--table", "o.npz"],
                              "-o and --table"),
    "predict -o = --metrics": ("mt-predict", ["x.fa", "-o", "o.tsv", "--labels", "lab.tsv", "--metrics", "o.tsv"],
                               "-o and --metrics"),
}


@pytest.mark.parametrize("case", sorted(TWO_OUTPUTS))
def test_two_outputs_on_one_path_are_refused(inputs, monkeypatch, capsys, case):
    prog, argv, options = TWO_OUTPUTS[case]
    monkeypatch.chdir(inputs)
    before = files_in(inputs)
    assert COMMANDS[prog].main([*argv, "-q"]) == 1
    assert f"{options} name one path; each output needs its own file" in one_error_line(capsys, prog)
    assert files_in(inputs) == before


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_an_output_that_is_a_folder_is_refused_up_front(inputs, monkeypatch, capsys, prog):
    monkeypatch.chdir(inputs)
    (inputs / "folder").mkdir()
    argv = {"mt-encode": ["x.fa"], "mt-predict": ["x.fa"], "mt-attend": ["x.fa"], "mt-coverage": ["c.npz", "r.bam"],
            "mt-train": ["--positive", "p.npz", "--negative", "n.npz"]}[prog]
    assert COMMANDS[prog].main([*argv, "-o", "folder", "-q"]) == 1
    line = one_error_line(capsys, prog)
    assert "folder: is a folder; give a file name for this output" in line and "/." not in line
    assert files_in(inputs / "folder") == []


def test_output_guard_lets_devices_and_standard_output_through(tmp_path):
    check_outputs({"-o": "/dev/null", "--table": "/dev/null", "--metrics": "-"}, [tmp_path / "x.fa"])
    with pytest.raises(OutputError, match="standard output"):
        check_outputs({"-o": "-", "--predictions": "-"})
    with pytest.raises(OutputError, match="output folder .* does not exist"):
        check_outputs({"-o": tmp_path / "missing" / "x.tsv"})


# --- multi-output commands: all outputs or none -------------------------------------------------

def test_encode_leaves_no_npz_when_its_table_fails(inputs, monkeypatch, capsys):
    import mirtron_tools.io.encoded as encoded_io

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(encoded_io, "write_table", full_disk)
    assert encode.main([str(inputs / "x.fa"), "-o", str(inputs / "out.npz"), "-q"]) == 1
    line = one_error_line(capsys, "mt-encode")
    assert "out.npz" in line and "No space left on device" in line
    assert not any(name.startswith(("out", ".out")) for name in files_in(inputs))


def test_atomic_outputs_commit_together_or_not_at_all(tmp_path):
    with pytest.raises(RuntimeError), atomic_outputs() as group:
        group.path(tmp_path / "a.tsv").write_text("a")
        group.path(tmp_path / "b.tsv").write_text("b")
        raise RuntimeError("stopped")
    assert files_in(tmp_path) == []
    with atomic_outputs() as group:
        group.path(tmp_path / "a.tsv").write_text("a")
        group.path(tmp_path / "b.tsv").write_text("b")
    assert files_in(tmp_path) == ["a.tsv", "b.tsv"]


# --- write errors name the output ----------------------------------------------------------------

def test_a_write_error_names_the_output_it_happened_in(tmp_path):
    with pytest.raises(OutputError) as error, atomic_outputs() as group:
        group.path(tmp_path / "a.tsv")
        temporary = group.path(tmp_path / "b.tsv")
        raise OSError(errno.ENOSPC, "No space left on device", str(temporary))
    assert str(error.value) == f"{tmp_path / 'b.tsv'}: cannot write: No space left on device"
    with pytest.raises(OutputError) as error, atomic_outputs() as group:
        group.path(tmp_path / "a.tsv")
        group.path(tmp_path / "b.tsv")
        raise OSError(errno.EFBIG, "File too large")
    assert str(error.value) == f"{tmp_path / 'a.tsv'} or {tmp_path / 'b.tsv'}: cannot write: File too large"
    with pytest.raises(PermissionError), atomic_outputs() as group:  # not a write fault: left as it is
        group.path(tmp_path / "a.tsv")
        raise PermissionError(errno.EACCES, "Permission denied", "some-input.fa")
    assert files_in(tmp_path) == []


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_disk_names_the_output(inputs, capsys):
    assert encode.main([str(inputs / "x.fa"), "-o", "/dev/full", "--table", str(inputs / "t.tsv"), "-q"]) == 1
    assert one_error_line(capsys, "mt-encode") == ("mt-encode: error: /dev/full: cannot write: "
                                                    "No space left on device")
    assert files_in(inputs).count("t.tsv") == 0


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_standard_output_is_named(inputs):
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "mirtron_tools.cli.encode", str(inputs / "x.fa"),
                                 "-o", str(inputs / "y.npz"), "--table", "-", "-q"], stdout=full,
                                stderr=subprocess.PIPE, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "mt-encode: error: standard output: cannot write: No space left on device"]
    assert "y.npz" not in files_in(inputs)


def test_a_file_size_limit_names_the_output(inputs):
    script = ("import resource, sys\n"
              "resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))\n"
              "from mirtron_tools.cli import encode\n"
              f"sys.exit(encode.main([{str(inputs / 'big.fa')!r}, '-o', {str(inputs / 'big.npz')!r}, '-q']))\n")
    (inputs / "big.fa").write_text("".join(f">s{number}\n{'ACGU' * 30}\n" for number in range(200)))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"mt-encode: error: {inputs / 'big.npz'}: cannot write: File too large"]
    assert not any("big.npz" in name or "big.tsv" in name for name in files_in(inputs))


# --- 2./3. corrupt NPZ fields: one InputError naming file and record ----------------------------

def _encoded_arrays(test_data) -> dict[str, np.ndarray]:
    with np.load(test_data / "synthetic_hairpins.npz") as archive:
        return {key: archive[key] for key in archive.files if key not in ("format", "format_version")}


def _with_sequence(arrays, row: int, sequence: str, structure: str | None = None):
    sequences = [str(value) for value in arrays["sequences"]]
    structures = [str(value) for value in arrays["structures"]]
    sequences[row] = sequence
    if structure is not None:
        structures[row] = structure
    return {**arrays, "sequences": np.array(sequences), "structures": np.array(structures)}


def _structure(arrays, row: int, transform):
    structures = [str(value) for value in arrays["structures"]]
    structures[row] = transform(structures[row])
    return {**arrays, "structures": np.array(structures)}


CORRUPT_NPZ = {
    "ids one short": (lambda a: {**a, "ids": a["ids"][:-1]}, "'sequences' has 20 record(s), 'ids' has 19"),
    "mfe one short": (lambda a: {**a, "mfe": a["mfe"][:-1]}, "'mfe' has 19 record(s), 'ids' has 20"),
    "annotation one short": (lambda a: {**a, "annotation_gene": np.array(["g"] * 19)},
                             "'annotation_gene' has 19 record(s)"),
    "structure shorter": (lambda a: _structure(a, 3, lambda text: text[:-1]), "has a structure of"),
    "non-ASCII letter": (lambda a: _with_sequence(a, 2, "ACGUé" + "A" * 15, "." * 20), "character 'é' in its sequence"),
    "X letters": (lambda a: _with_sequence(a, 1, "X" * 20, "." * 20), "character 'X' in its sequence"),
    "lower case": (lambda a: _with_sequence(a, 1, "acgu" * 5, "." * 20), "character 'a' in its sequence"),
    "empty sequence": (lambda a: _with_sequence(a, 0, "", ""), "has an empty sequence"),
    "other dot-bracket characters": (lambda a: _structure(a, 4, lambda text: "[" + text[1:]),
                                     "character '[' in its structure"),
    "unbalanced dot-bracket": (lambda a: _structure(a, 5, lambda text: "(" + text[1:] if text[0] != "(" else
                                                    "." + text[1:]), "unbalanced dot-bracket"),
    "closing before opening": (lambda a: _with_sequence(a, 6, "ACGUA", ")...("), "unbalanced dot-bracket"),
    "mfe NaN": (lambda a: {**a, "mfe": np.where(np.arange(len(a["mfe"])) == 7, np.nan, a["mfe"]).astype(np.float32)},
                "has mfe nan"),
    "mfe infinite": (lambda a: {**a, "mfe": np.full(len(a["mfe"]), -np.inf, dtype=np.float32)}, "has mfe -inf"),
    "mfe text": (lambda a: {**a, "mfe": np.array(["x"] * len(a["mfe"]))}, "'mfe' must hold numbers"),
    "ids numbers": (lambda a: {**a, "ids": np.arange(len(a["ids"]))}, "'ids' must be a 1-D array of text"),
    "max_length text": (lambda a: {**a, "max_length": np.array("200")}, "max_length '200'"),
    "max_length zero": (lambda a: {**a, "max_length": np.array(0)}, "max_length 0"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT_NPZ))
def test_corrupt_npz_fields_are_one_input_error(tmp_path, test_data, case):
    change, message = CORRUPT_NPZ[case]
    path = tmp_path / "bad.npz"
    write_arrays(path, ENCODED_KIND, ENCODING_FORMAT_VERSION, change(_encoded_arrays(test_data)))
    with pytest.raises(InputError) as error:
        read_encoded(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value), str(error.value)


@pytest.mark.parametrize("version, message", [(np.array("1"), "format_version '1'"),
                                              (np.array([1, 1]), "format_version [1, 1]"),
                                              (np.array(1.5), "format_version 1.5"),
                                              (np.array(99, dtype=np.int32), "upgrade mirtron_tools")])
def test_npz_format_version_must_be_a_known_whole_number(tmp_path, test_data, version, message):
    path = tmp_path / "v.npz"
    np.savez_compressed(path, format=np.array(ENCODED_KIND), format_version=version, **_encoded_arrays(test_data))
    with pytest.raises(InputError, match=re.escape(message)):
        read_encoded(path)


def test_a_truncated_npz_is_reported_as_a_truncated_npz(tmp_path, test_data):
    data = (test_data / "synthetic_hairpins.npz").read_bytes()
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: len(data) // 2])
    assert looks_like_npz(path)  # so mt-predict does not read it as FASTA ("not a text file")
    with pytest.raises(InputError, match="NPZ is truncated or corrupt"):
        read_encoded(path)


def test_mt_coverage_reports_an_annotation_array_one_short(inputs, capsys):
    with np.load(inputs / "c.npz") as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("format", "format_version")}
    arrays["annotation_start"] = arrays["annotation_start"][:-1]
    write_arrays(inputs / "short.npz", ENCODED_KIND, ENCODING_FORMAT_VERSION, arrays)
    assert coverage_cli.main([str(inputs / "short.npz"), str(inputs / "r.bam"), "-o", str(inputs / "o.npz"),
                              "-q"]) == 1
    assert "'annotation_start' has 15 record(s), 'ids' has 16" in one_error_line(capsys, "mt-coverage")


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "annotation_start": a["annotation_start"].astype(str)}, "'annotation_start' holds <U"),
    (lambda a: {**a, "annotation_end": a["annotation_end"].astype(float)}, "'annotation_end' holds float64"),
    (lambda a: {**a, "annotation_start": a["annotation_start"] - 10_000, "annotation_end": a["annotation_end"] - 10_000},
     "(expected 0 <= start < end"),
])
def test_mt_coverage_rejects_coordinates_that_are_not_whole_numbers_or_negative(inputs, capsys, change, message):
    with np.load(inputs / "c.npz") as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("format", "format_version")}
    write_arrays(inputs / "odd.npz", ENCODED_KIND, ENCODING_FORMAT_VERSION, change(arrays))
    assert coverage_cli.main([str(inputs / "odd.npz"), str(inputs / "r.bam"), "-o", str(inputs / "o.npz"),
                              "-q"]) == 1
    line = one_error_line(capsys, "mt-coverage")
    assert line.startswith(f"mt-coverage: error: {inputs / 'odd.npz'}: ") and message in line, line


def test_mt_coverage_rejects_candidates_past_the_contig_end(inputs, capsys):
    with np.load(inputs / "c.npz") as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("format", "format_version")}
    arrays["annotation_start"] = arrays["annotation_start"] + 5000
    arrays["annotation_end"] = arrays["annotation_end"] + 5000
    write_arrays(inputs / "far.npz", ENCODED_KIND, ENCODING_FORMAT_VERSION, arrays)
    assert coverage_cli.main([str(inputs / "far.npz"), str(inputs / "r.bam"), "-o", str(inputs / "o.npz"),
                              "-q"]) == 1
    line = one_error_line(capsys, "mt-coverage")
    assert line.startswith(f"mt-coverage: error: {inputs / 'far.npz'}: record ") and "runs past the end" in line


# --- bad model manifests: ModelError before TensorFlow loads ------------------------------------

def _rewrite_manifest(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as copy:
        for member in archive.infolist():
            data = archive.read(member.filename)
            if member.filename == MANIFEST_MEMBER:
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
            copy.writestr(member, data)
    return target


BAD_MANIFESTS = {
    "threshold missing": (lambda m: m.pop("threshold"), "manifest threshold is missing"),
    "threshold text": (lambda m: m.update(threshold="high"), "manifest threshold is 'high'"),
    "threshold above 1": (lambda m: m.update(threshold=1.5), "manifest threshold is 1.5"),
    "threshold bool": (lambda m: m.update(threshold=True), "manifest threshold is True"),
    "encoding version newer": (lambda m: m.update(encoding_format_version=2), "upgrade mirtron_tools"),
    "encoding version text": (lambda m: m.update(encoding_format_version="1"), "encoding_format_version is '1'"),
    "channels other than the network's": (lambda m: m.update(channels=m["channels"] + ["mfe_per_nt"]),
                                          "lists 8 input channels but the network reads 7"),
    "channels not the encoding's": (lambda m: m.update(channels=["x"] * 7), "do not start with the encoding"),
    "max_length negative": (lambda m: m.update(max_length=-3), "max_length is -3"),
    "format version text": (lambda m: m.update(format_version="1"), "model format version 1"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_manifest_is_one_model_error(tmp_path, test_data, case):
    change, message = BAD_MANIFESTS[case]
    path = _rewrite_manifest(test_data / "tiny_model.keras", tmp_path / "bad.keras", change)
    with pytest.raises(ModelError if "version" not in case or "text" in case and "encoding" in case
                       else (ModelError, InputError)) as error:
        read_manifest(path)
    assert str(error.value).startswith(str(path)) and message in str(error.value), str(error.value)


@pytest.mark.parametrize("prog", ["mt-predict", "mt-attend"])
def test_commands_stop_on_a_bad_manifest_with_one_line(tmp_path, test_data, capsys, prog):
    model = _rewrite_manifest(test_data / "tiny_model.keras", tmp_path / "bad.keras", lambda m: m.pop("threshold"))
    (tmp_path / "x.fa").write_text(FASTA)
    assert COMMANDS[prog].main([str(tmp_path / "x.fa"), "-o", str(tmp_path / "o.tsv"), "--model", str(model),
                                "-q"]) == 1
    assert "manifest threshold is missing" in one_error_line(capsys, prog)
    assert files_in(tmp_path) == ["bad.keras", "x.fa"]


def test_bundled_and_test_models_pass_the_manifest_check(test_data):
    from mirtron_tools.io.model import bundled_models

    for path in [*bundled_models().values(), test_data / "tiny_model.keras", test_data / "tiny_coverage_model.keras"]:
        assert 0 <= read_manifest(path)["threshold"] <= 1


# --- options checked at parse time: usage error, exit 2 -----------------------------------------

BAD_OPTIONS = {
    "train --dropout 2": ("mt-train", ["-o", "m.keras", "--dropout", "2"], "--dropout: must be at least 0 and below 1"),
    "train --dropout 1": ("mt-train", ["-o", "m.keras", "--dropout", "1"], "--dropout"),
    "train --validation-fraction 1.5": ("mt-train", ["-o", "m.keras", "--validation-fraction", "1.5"],
                                        "--validation-fraction: must be above 0 and below 1"),
    "train --validation-fraction 0": ("mt-train", ["-o", "m.keras", "--validation-fraction", "0"],
                                      "--validation-fraction"),
    "train --learning-rate -1": ("mt-train", ["-o", "m.keras", "--learning-rate", "-1"],
                                 "--learning-rate: must be a positive number"),
    "train --learning-rate nan": ("mt-train", ["-o", "m.keras", "--learning-rate", "nan"], "finite"),
    "train --folds 1": ("mt-train", ["-o", "m.keras", "--folds", "1"], "--folds: must be 0"),
    "train --kmer-weight 2": ("mt-train", ["-o", "m.keras", "--kmer-weight", "2"], "--kmer-weight"),
    "train --tree-weight -1": ("mt-train", ["-o", "m.keras", "--tree-weight", "-1"], "--tree-weight"),
    "train --threads 0": ("mt-train", ["-o", "m.keras", "--threads", "0"], "--threads: must be a positive"),
    "encode --region empty": ("mt-encode", ["-o", "x.npz", "--region", ""], "--region: must not be empty"),
    "encode --threads 0": ("mt-encode", ["x.fa", "-o", "x.npz", "--threads", "0"], "--threads"),
    "predict --min-probability 1.5": ("mt-predict", ["x.fa", "-o", "o.tsv", "--min-probability", "1.5"],
                                      "--min-probability: must be between 0 and 1"),
    "predict --threshold nan": ("mt-predict", ["x.fa", "-o", "o.tsv", "--threshold", "nan"], "--threshold"),
    "attend --threshold -0.1": ("mt-attend", ["x.fa", "-o", "o.tsv", "--threshold", "-0.1"], "--threshold"),
    "coverage --threads 0": ("mt-coverage", ["c.npz", "r.bam", "-o", "o.npz", "--threads", "0"], "--threads"),
}


@pytest.mark.parametrize("case", sorted(BAD_OPTIONS))
def test_options_out_of_range_are_usage_errors(capsys, case):
    prog, argv, message = BAD_OPTIONS[case]
    with pytest.raises(SystemExit) as exit_info:
        COMMANDS[prog].main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# --- signals: SIGTERM like SIGINT ---------------------------------------------------------------

def test_sigterm_during_a_write_removes_the_temporary_file_and_exits_143(tmp_path):
    script = ("import os, signal, sys, time\n"
              "from mirtron_tools.cli import common\n"
              "from mirtron_tools.io.atomic import atomic_outputs\n"
              "def execute(args):\n"
              "    with atomic_outputs() as group:\n"
              f"        group.path({str(tmp_path / 'x.npz')!r}).write_text('half')\n"
              f"        group.path({str(tmp_path / 'x.tsv')!r}).write_text('half')\n"
              "        print('written', flush=True)\n"
              "        time.sleep(60)\n"
              "sys.exit(common.run(common.base_parser('mt-x', ''), [], execute))\n")
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stdout.readline() == "written\n"
    assert len(files_in(tmp_path)) == 2  # the hidden temporary files exist now
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 143
    assert process.stderr.read().strip().splitlines() == ["mt-x: stopped by SIGTERM"]
    assert files_in(tmp_path) == []


def test_sigterm_to_mt_encode_with_two_workers_is_one_line_and_leaves_nothing(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "many.fa").write_text("".join(f">s{number}\n{''.join(rng.choice(list('ACGU'), 150))}\n"
                                              for number in range(6000)))
    process = subprocess.Popen([sys.executable, "-m", "mirtron_tools.cli.encode", str(tmp_path / "many.fa"), "-o",
                                str(tmp_path / "many.npz"), "--threads", "2", "-v"], stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    for line in process.stderr:  # wait until folding has started (the pool's workers are running)
        if "folding" in line:
            break
    time.sleep(0.5)
    os.killpg(process.pid, signal.SIGTERM)  # the whole group, workers included, as a job scheduler does
    assert process.wait(timeout=60) == 143
    rest = process.stderr.read().strip().splitlines()
    assert rest == ["mt-encode: stopped by SIGTERM"], rest
    assert files_in(tmp_path) == ["many.fa"]


# --- smaller input faults ------------------------------------------------------------------------

def test_a_byte_order_mark_is_accepted(tmp_path):
    from mirtron_tools.io.fasta import read_fasta

    (tmp_path / "bom.fa").write_bytes(b"\xef\xbb\xbf" + FASTA.encode())
    assert [record.identifier for record in read_fasta(tmp_path / "bom.fa")] == ["a", "b"]
    (tmp_path / "bom.tsv").write_bytes(b"\xef\xbb\xbfid\tlabel\na\t1\n")
    assert read_labels(tmp_path / "bom.tsv") == {"a": 1}


@pytest.mark.parametrize("text, line", [("a\t2\nb\t1\n", 1), ("x\tmaybe\n", 1), ("id\tlabel\nb\tperhaps\n", 2)])
def test_a_first_data_row_with_a_bad_label_is_an_error_not_a_header(tmp_path, text, line):
    (tmp_path / "lab.tsv").write_text(text)
    with pytest.raises(InputError) as error:
        read_labels(tmp_path / "lab.tsv")
    assert str(error.value).startswith(f"{tmp_path / 'lab.tsv'}:{line}: label ")


@pytest.mark.parametrize("header", ["id\tlabel", "name\tclass", "hairpin\tis_mirtron", "ID\tLabel"])
def test_header_lines_are_still_headers(tmp_path, header):
    (tmp_path / "lab.tsv").write_text(f"{header}\na\t1\nb\tno\n")
    assert read_labels(tmp_path / "lab.tsv") == {"a": 1, "b": 0}


def test_closed_standard_input_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mirtron_tools.cli.encode", "-", "-o", str(tmp_path / "x.npz")],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            preexec_fn=lambda: os.close(0), check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "mt-encode: error: standard input: is closed: give a file, or pipe the input in"]


@pytest.mark.parametrize("content, message", [
    (b"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:sim1\tLN:3040\n", "is SAM text, not BAM or CRAM: convert and index it"),
    (b"r1\t0\tsim1\t10\t0\t4M\t*\t0\t0\tACGU\tIIII\n", "is SAM text"),
    (b"", "alignment file is empty"),
    (b"\x00\x01binary", "is not a BAM or CRAM file"),
])
def test_alignment_files_are_told_apart_by_their_magic(inputs, capsys, content, message):
    (inputs / "x.bam").write_bytes(content)
    assert coverage_cli.main([str(inputs / "c.npz"), str(inputs / "x.bam"), "-o", str(inputs / "o.npz"), "-q"]) == 1
    line = one_error_line(capsys, "mt-coverage")
    assert line.startswith(f"mt-coverage: error: {inputs / 'x.bam'}: ") and message in line
    assert "samtools index x.bam\n" not in line or "sort" in line


def test_gzip_sam_is_not_bam(inputs, capsys):
    import gzip

    (inputs / "x.bam").write_bytes(gzip.compress(b"@HD\tVN:1.6\n"))
    assert coverage_cli.main([str(inputs / "c.npz"), str(inputs / "x.bam"), "-o", str(inputs / "o.npz"), "-q"]) == 1
    assert "is gzip-compressed text (SAM?), not BAM or CRAM" in one_error_line(capsys, "mt-coverage")


def test_training_with_too_few_positives_names_the_files(inputs, capsys):
    with np.load(inputs / "p.npz") as archive:
        arrays = {key: archive[key] for key in archive.files if key not in ("format", "format_version")}
    for name, rows in (("one.npz", [0]), ("rest.npz", list(range(1, 10)))):
        write_arrays(inputs / name, ENCODED_KIND, ENCODING_FORMAT_VERSION,
                     {key: (value[rows] if key in ("ids", "sequences", "structures", "mfe", "lengths", "onehot")
                            else value) for key, value in arrays.items()})
    assert train.main(["--positive", str(inputs / "one.npz"), "--negative", str(inputs / "rest.npz"), "-o",
                       str(inputs / "m.keras"), "-q"]) == 1
    line = one_error_line(capsys, "mt-train")
    assert f"{inputs / 'one.npz'}: need at least 2 positive hairpins to train, found 1" in line
