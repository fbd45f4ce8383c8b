"""Faults at cluster scale: stale indexes, shared caches, read-only inputs, full disks, SIGKILL.

Every case: the exit status of docs/errors.md, one line naming the file, no partial file under an
output's name, inputs unchanged (the ``untouched_inputs`` fixture snapshots every input folder
before and after each test) and the cache consistent afterwards. Derived files (indexes,
decompressed genomes) go to the cache, ``MIRTRON_CACHE``, never beside an input.
"""
from __future__ import annotations

import builtins
import errno
import gzip
import multiprocessing
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import TEST_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mirtron_tools.cli import coverage as coverage_cli
from mirtron_tools.cli import encode
from mirtron_tools.io import cache, genome
from mirtron_tools.io.genome import Genome

ROOT = Path(__file__).resolve().parent.parent
REGION = ["--region", "gm1:1-8000"]


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in sorted(folder.rglob("*"))}


@pytest.fixture
def inputs(tmp_path):
    """A folder for a test's own inputs (made read-only once filled, with :func:`seal`)."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


_sealed: dict[str, dict[str, tuple[int, int]]] = {}


@pytest.fixture(autouse=True)
def untouched_inputs(tmp_path, monkeypatch):
    """Nothing is written beside any input: test-data/ and each folder given to :func:`seal` are the same
    after the test (names, sizes, modification times); each test gets an empty cache of its own."""
    monkeypatch.setenv("MIRTRON_CACHE", str(tmp_path / "cache"))
    (tmp_path / "out").mkdir()
    before = snapshot(TEST_DATA)
    _sealed.clear()
    yield
    changed = [name for name, contents in _sealed.items() if snapshot(Path(name)) != contents]
    for name in _sealed:
        Path(name).chmod(0o755)
    assert snapshot(TEST_DATA) == before, "a file was written or changed in test-data/"
    assert not changed, f"a file was written beside an input in {changed}"


def seal(folder: Path) -> None:
    """Make an input folder read-only and remember what it holds (compared when the test ends)."""
    _sealed[str(folder)] = snapshot(folder)
    for path in folder.rglob("*"):
        path.chmod(0o444)
    folder.chmod(0o555)


def run_command(module: str, *argv, preexec=None, timeout: float = 120, environment: dict | None = None,
                **options) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **(environment or {})}
    return subprocess.run([sys.executable, "-m", f"mirtron_tools.cli.{module}", *map(str, argv)], env=environment,
                          capture_output=True, text=True, preexec_fn=preexec, check=False, timeout=timeout, **options)


def one_error_line(stderr: str, prog: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.startswith(f"{prog}: error:")]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def scan(genome_path, output, *extra) -> int:
    return encode.main(["--genome", str(genome_path), "--annotation", str(TEST_DATA / "scan_genes.gtf"),
                        "-o", str(output), "-q", *extra])


def cache_entries(root: Path, kind: str) -> list[Path]:
    return sorted(path for path in (root / kind).glob("*") if not path.name.startswith(".")) \
        if (root / kind).is_dir() else []


def leftovers(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob(".*") if not path.name.endswith(".lock"))


# ------------------------------------------------------------------ stale and missing genome indexes

@pytest.mark.parametrize("index_age", ["older", "newer"])
def test_a_stale_fai_never_changes_a_result(inputs, tmp_path, index_age, capsys):
    """The genome is rewritten in place (a short contig put in front) and its old .fai kept beside it:
    older than the file (found by its time) or touched since (found by its offsets)."""
    genome_path = inputs / "genome.fa"
    shutil.copy(TEST_DATA / "scan_genome.fa", genome_path)
    shutil.copy(TEST_DATA / "scan_genome.fa.fai", inputs / "genome.fa.fai")
    text = ">short\nACGUACGUAC\n" + (TEST_DATA / "scan_genome.fa").read_text()
    genome_path.write_text(text)
    stamp = genome_path.stat().st_mtime_ns + (10**9 if index_age == "newer" else -10**9)
    os.utime(inputs / "genome.fa.fai", ns=(stamp, stamp))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "genome.fa").write_text(text)
    seal(inputs)
    assert scan(genome_path, tmp_path / "out" / "stale.npz", *REGION) == 0
    assert "genome.fa.fai" in capsys.readouterr().err  # the stale index is named in one warning
    assert scan(fresh / "genome.fa", tmp_path / "out" / "fresh.npz", *REGION) == 0
    assert (tmp_path / "out" / "stale.tsv").read_text() == (tmp_path / "out" / "fresh.tsv").read_text()
    assert names(fresh) == ["genome.fa"]  # indexed into the cache, not beside the genome
    assert len(cache_entries(tmp_path / "cache", "genome-index")) == 1  # one entry for the one content


def test_fai_checks_find_each_kind_of_stale_index(tmp_path):
    source = (TEST_DATA / "scan_genome.fa").read_text()
    index = str(TEST_DATA / "scan_genome.fa.fai")
    assert genome.fai_problem(str(TEST_DATA / "scan_genome.fa"), index) is None
    edits = {
        "contig in front": ">x\nAC\n" + source,
        "contig at the end": source + ">x\nACGU\n",
        "sequence longer": source.replace("\n>gm2", "A\n>gm2", 1),
        "rewrapped": ">" + "\n>".join(
            part.split("\n", 1)[0] + "\n" + part.split("\n", 1)[1].replace("\n", "")[:5000] + "\n"
            for part in source[1:].split("\n>")),
        "renamed": source.replace(">gm2", ">chr2", 1),
    }
    for name, text in edits.items():
        (tmp_path / "g.fa").write_text(text)
        assert genome.fai_problem(str(tmp_path / "g.fa"), index) is not None, name


@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9_.|-]{1,12}", fullmatch=True),
                                  st.integers(min_value=1, max_value=300)), min_size=1, max_size=5,
                        unique_by=lambda record: record[0]),
       width=st.integers(min_value=1, max_value=80), crlf=st.booleans(), grown=st.integers(min_value=0, max_value=4))
def test_own_fai_equals_samtools_and_any_growth_makes_it_stale(tmp_path, records, width, crlf, grown):
    end = "\r\n" if crlf else "\n"

    def fasta(extra: int) -> str:
        parts = []
        for number, (name, length) in enumerate(records):
            sequence = "ACGT" * (length // 4 + 1)
            sequence = sequence[:length + (extra if number == len(records) // 2 else 0)]
            lines = [sequence[start:start + width] for start in range(0, len(sequence), width)]
            parts.append(f">{name} description{end}" + "".join(line + end for line in lines))
        return "".join(parts)

    path = tmp_path / "g.fa"
    path.write_bytes(fasta(0).encode())
    with open(path, "rb") as stream:
        genome.write_fai(str(path), stream, tmp_path / "own.fai")
    pysam.faidx(str(path), "--fai-idx", str(tmp_path / "samtools.fai"))
    assert (tmp_path / "own.fai").read_text() == (tmp_path / "samtools.fai").read_text()
    assert genome.fai_problem(str(path), tmp_path / "own.fai") is None
    if grown:
        path.write_bytes(fasta(grown).encode())
        assert genome.fai_problem(str(path), tmp_path / "own.fai") is not None


def test_bgzip_genome_with_a_stale_gzi_is_indexed_into_the_cache(inputs, tmp_path):
    pysam.tabix_compress(str(TEST_DATA / "scan_genome.fa"), str(inputs / "g.fa.gz"))
    pysam.faidx(str(inputs / "g.fa.gz"))  # the user's own fresh .fai and .gzi: used as they are
    seal(inputs)
    with Genome(inputs / "g.fa.gz") as opened:
        expected = opened.fetch("gm2", 100, 200, "-")
    assert not (tmp_path / "cache").exists()
    other = tmp_path / "other"
    other.mkdir()
    with open(TEST_DATA / "scan_genome.fa", "rb") as source:
        data = b">extra\nACGT\n" + source.read()
    (other / "plain.fa").write_bytes(data)
    pysam.tabix_compress(str(other / "plain.fa"), str(other / "g.fa.gz"))
    for suffix in (".fai", ".gzi"):  # an index of the old file, newer than the new file
        shutil.copy(inputs / f"g.fa.gz{suffix}", other / f"g.fa.gz{suffix}")
    with Genome(other / "g.fa.gz") as opened:
        assert opened.lengths["extra"] == 4 and opened.fetch("gm2", 100, 200, "-") == expected
    assert len(cache_entries(tmp_path / "cache", "genome-index")) == 1


# ------------------------------------------------------------------ stale and missing BAM indexes

def _coverage(candidates, bam, output) -> int:
    return coverage_cli.main([str(candidates), str(bam), "-o", str(output), "-q"])


@pytest.mark.parametrize("index_age", ["older", "newer", "none"])
def test_a_stale_or_missing_bai_never_changes_a_result(inputs, tmp_path, index_age):
    """The BAM is rewritten (reads of one strand only) and the old .bai kept beside it, or it has no index."""
    with pysam.AlignmentFile(str(TEST_DATA / "sim_reads.bam")) as source:
        header = source.header
        reads = [read for read in source.fetch(until_eof=True) if not read.is_reverse]
    bam = inputs / "reads.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as output:
        for read in reads:
            output.write(read)
    if index_age != "none":
        shutil.copy(TEST_DATA / "sim_reads.bam.bai", inputs / "reads.bam.bai")
        stamp = bam.stat().st_mtime_ns + (10**9 if index_age == "newer" else -10**9)
        os.utime(inputs / "reads.bam.bai", ns=(stamp, stamp))
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(bam, fresh / "reads.bam")
    pysam.index(str(fresh / "reads.bam"))
    seal(inputs)
    candidates = TEST_DATA / "sim_candidates.npz"
    assert _coverage(candidates, bam, tmp_path / "out" / "stale.npz") == 0
    assert _coverage(candidates, fresh / "reads.bam", tmp_path / "out" / "fresh.npz") == 0
    with np.load(tmp_path / "out" / "stale.npz") as stale, np.load(tmp_path / "out" / "fresh.npz") as good:
        assert stale.files == good.files
        assert all(np.array_equal(stale[key], good[key]) for key in good.files if key not in ("provenance", "settings"))
    assert len(cache_entries(tmp_path / "cache", "alignment-index")) == 1


def test_a_users_fresh_bai_is_used_as_it_is(tmp_path):
    assert _coverage(TEST_DATA / "sim_candidates.npz", TEST_DATA / "sim_reads.bam", tmp_path / "c.npz") == 0
    assert not (tmp_path / "cache").exists()  # nothing derived: the index beside the BAM was used


def test_an_unsorted_bam_without_index_is_one_line(inputs, tmp_path, capsys):
    with pysam.AlignmentFile(str(TEST_DATA / "sim_reads.bam")) as source:
        header = source.header.to_dict()
        reads = list(source.fetch(until_eof=True))
    header["HD"].pop("SO", None)
    with pysam.AlignmentFile(str(inputs / "r.bam"), "wb", header=header) as output:
        for read in reversed(reads):
            output.write(read)
    seal(inputs)
    assert _coverage(TEST_DATA / "sim_candidates.npz", inputs / "r.bam", tmp_path / "out" / "c.npz") == 1
    line = one_error_line(capsys.readouterr().err, "mt-coverage")
    assert line.startswith(f"mt-coverage: error: {inputs / 'r.bam'}: cannot be indexed") and "sort" in line
    assert names(tmp_path / "out") == [] and cache_entries(tmp_path / "cache", "alignment-index") == []
    assert leftovers(tmp_path / "cache") == []


def test_a_cram_without_index_and_a_reference_without_fai_write_nothing_beside(inputs, tmp_path):
    """htslib looks for the reference's .fai beside it (and would build one there): it is given a checked one."""
    from mirtron_tools.io.bam import open_alignment_file

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    shutil.copy(TEST_DATA / "sim_genome.fa", scratch / "ref.fa")
    with pysam.AlignmentFile(str(TEST_DATA / "sim_reads.bam")) as source, pysam.AlignmentFile(
            str(inputs / "r.cram"), "wc", template=source, reference_filename=str(scratch / "ref.fa")) as output:
        for read in source.fetch(until_eof=True):
            output.write(read)
    shutil.copy(TEST_DATA / "sim_genome.fa", inputs / "genome.fa")
    seal(inputs)
    with open_alignment_file(str(TEST_DATA / "sim_reads.bam")) as bam, \
            open_alignment_file(str(inputs / "r.cram"), str(inputs / "genome.fa")) as cram:
        for contig in bam.references:
            expected = [(read.query_name, read.reference_start, read.query_sequence) for read in bam.fetch(contig)]
            found = [(read.query_name, read.reference_start, read.query_sequence) for read in cram.fetch(contig)]
            assert found == expected and expected
    assert len(cache_entries(tmp_path / "cache", "alignment-index")) == 1
    assert len(cache_entries(tmp_path / "cache", "genome-index")) == 1


# ------------------------------------------------------------------ the cache: shared, concurrent, degraded

def _gzip_genome(folder: Path) -> Path:
    path = folder / "genome.fa.gz"
    with open(TEST_DATA / "scan_genome.fa", "rb") as source, gzip.open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    return path


def _scan_job(arguments) -> int:
    genome_path, output, start = arguments
    start.wait()
    return scan(genome_path, output, *REGION)


def test_eight_concurrent_scans_make_one_copy(inputs, tmp_path, monkeypatch):
    genome_path = _gzip_genome(inputs)
    seal(inputs)
    builds = tmp_path / "builds.txt"
    decompress = genome._decompress

    def counted(path, target):
        with open(builds, "a") as log:
            log.write(f"{os.getpid()}\n")
        decompress(path, target)

    monkeypatch.setattr(genome, "_decompress", counted)
    context = multiprocessing.get_context("fork")
    start = context.Manager().Event()
    outputs = [tmp_path / "out" / f"scan{number}.npz" for number in range(8)]
    with context.Pool(8) as pool:
        waiting = pool.map_async(_scan_job, [(genome_path, output, start) for output in outputs])
        time.sleep(0.2)
        start.set()
        assert waiting.get(timeout=120) == [0] * 8
    assert len(builds.read_text().splitlines()) == 1  # decompressed by one job; the others waited for it
    assert len(cache_entries(tmp_path / "cache", "genomes")) == 1 and leftovers(tmp_path / "cache") == []
    tables = {(output.with_suffix(".tsv")).read_text() for output in outputs}
    assert len(tables) == 1
    # another path to the same bytes shares the copy
    other = tmp_path / "elsewhere.fa.gz"
    shutil.copy(genome_path, other)
    assert scan(other, tmp_path / "out" / "other.npz", *REGION) == 0
    assert len(cache_entries(tmp_path / "cache", "genomes")) == 1
    assert (tmp_path / "out" / "other.tsv").read_text() in tables


class _FullFile:
    """A file whose writes fail with ENOSPC after ``room`` bytes (a disk that fills while it is written)."""

    def __init__(self, stream, room: int):
        self.stream, self.room = stream, room

    def write(self, data):
        if len(data) > self.room:
            self.stream.write(data[:self.room])
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stream.close()


@pytest.mark.parametrize("fault", ["full", "read-only", "not a folder"])
def test_an_unusable_cache_degrades_to_a_temporary_folder(inputs, tmp_path, monkeypatch, capsys, fault):
    genome_path = _gzip_genome(inputs)
    seal(inputs)
    root = tmp_path / "cache"
    real_open = builtins.open
    if fault == "full":
        root.mkdir()

        def full_open(file, mode="r", *args, **kwargs):
            stream = real_open(file, mode, *args, **kwargs)
            if any(flag in mode for flag in "wa") and str(file).startswith(str(root)) \
                    and not str(file).endswith(".lock"):
                return _FullFile(stream, 4096)
            return stream

        monkeypatch.setattr(builtins, "open", full_open)
    elif fault == "read-only":
        root.mkdir()
        root.chmod(0o555)
        if os.access(root, os.W_OK):  # root: permission bits do not stop it; refuse as a read-only mount would
            real_mkdir = os.mkdir

            def read_only_mkdir(path, *args, **kwargs):
                if str(path).startswith(str(root)):
                    raise OSError(errno.EROFS, "Read-only file system", str(path))
                return real_mkdir(path, *args, **kwargs)

            monkeypatch.setattr(os, "mkdir", read_only_mkdir)
    else:
        root.write_text("a file where the cache folder should be\n")
    monkeypatch.setattr(cache, "_fallback", None)
    try:
        assert scan(genome_path, tmp_path / "out" / "o.npz", *REGION) == 0
    finally:
        monkeypatch.undo()
        if root.is_dir():
            root.chmod(0o755)
    warnings = [line for line in capsys.readouterr().err.splitlines() if "temporary folder" in line]
    assert len(warnings) == 1 and str(root) in warnings[0], warnings
    assert scan(TEST_DATA / "scan_genome.fa", tmp_path / "out" / "plain.npz", *REGION) == 0
    assert (tmp_path / "out" / "o.tsv").read_text() == (tmp_path / "out" / "plain.tsv").read_text()
    if root.is_dir():  # nothing half-written left in it
        assert cache_entries(root, "genomes") == [] and leftovers(root) == []


def test_cache_bound_and_clear(tmp_path, monkeypatch, capsys):
    root = tmp_path / "cache"
    for number in range(3):
        path = tmp_path / f"g{number}.fa"
        path.write_text(f">c{number}\n" + "ACGT" * 2500 + "\n")
        with Genome(path):
            pass
    for entry in cache_entries(root, "genome-index"):  # used long ago
        os.utime(entry, (time.time() - 1000, time.time() - 1000))
    assert len(cache_entries(root, "genome-index")) == 3
    assert cache.prune(limit=10, root=root) and len(cache.entries(root)) == 0
    monkeypatch.setenv(cache.SIZE_VARIABLE, "1")  # a bound below one entry: the newest one is kept
    for number in range(2):
        with Genome(tmp_path / f"g{number}.fa"):
            pass
        for entry in cache_entries(root, "genome-index"):
            os.utime(entry, (time.time() - 1000, time.time() - 1000))
    assert len(cache_entries(root, "genome-index")) == 1
    assert cache.main([]) == 0 and str(root) in capsys.readouterr().out
    old_copy = root / "genomes" / "genome.fa.0123456789abcdef.fa"  # the layout before content keys
    old_copy.parent.mkdir()
    old_copy.write_text(">c\nACGT\n")
    (root / "galaxy").mkdir()  # the cache folder's other tenants stay
    assert cache.main(["--clear"]) == 0 and cache.entries(root) == []
    assert not old_copy.exists() and (root / "galaxy").is_dir()
    monkeypatch.setenv(cache.SIZE_VARIABLE, "0")  # no cache: a temporary folder for each run
    with Genome(tmp_path / "g2.fa") as opened:
        assert opened.lengths == {"c2": 10000}
    assert cache.entries(root) == []
    assert cache.parse_size("20G") == 20 * 2**30 and cache.parse_size("1.5M") == int(1.5 * 2**20)


# ------------------------------------------------------------------ write limits on every command's outputs

def _file_size_limit(size: int):
    def apply():
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return apply


WRITE_LIMITED = {
    "mt-encode FASTA": ("encode", [TEST_DATA / "synthetic_hairpins.fa", "-o", "{out}/e.npz"], "e.npz"),
    "mt-encode scan": ("encode", ["--genome", TEST_DATA / "scan_genome.fa", "--annotation",
                                  TEST_DATA / "scan_genes.gtf", *REGION, "-o", "{out}/s.npz"], "s.npz"),
    "mt-coverage": ("coverage", [TEST_DATA / "sim_candidates.npz", TEST_DATA / "sim_reads.bam", "-o",
                                 "{out}/c.npz", "--table", "{out}/c.tsv"], "c.npz"),
}


@pytest.mark.parametrize("case", sorted(WRITE_LIMITED))
def test_a_file_size_limit_is_one_line_and_no_output(tmp_path, case):
    module, argv, named = WRITE_LIMITED[case]
    out = tmp_path / "out"
    result = run_command(module, *(str(arg).format(out=out) for arg in argv), preexec=_file_size_limit(300))
    assert result.returncode == 1
    line = one_error_line(result.stderr, f"mt-{module}")
    assert line == f"mt-{module}: error: {out / named}: cannot write: File too large"
    assert names(out) == []


TF_WRITE_LIMITED = {  # the limit starts once the model is loaded (Keras unpacks it into TMPDIR first)
    "mt-predict": ("predict", ["-o", "{out}/p.tsv"], "p.tsv"),
    "mt-attend": ("attend", ["-o", "{out}/a.tsv"], "a.tsv"),
}


@pytest.mark.parametrize("case", ["mt-predict", pytest.param("mt-attend", marks=pytest.mark.slow)])
def test_a_file_size_limit_after_the_model_loaded(tmp_path, case):
    module, argv, named = TF_WRITE_LIMITED[case]
    out = tmp_path / "out"
    arguments = ["-m", str(TEST_DATA / "tiny_model.keras"), str(TEST_DATA / "synthetic_hairpins.npz"),
                 *(arg.format(out=out) for arg in argv)]
    script = ("import resource, sys\n"
              "from mirtron_tools import inference\n"
              "from mirtron_tools.io import model\n"
              "from mirtron_tools.cli import " + module + " as command\n"
              "def limit_after(load):\n"
              "    def limited(*args, **kwargs):\n"
              "        loaded = load(*args, **kwargs)\n"
              "        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))\n"
              "        return loaded\n"
              "    return limited\n"
              "model.load_model = limit_after(model.load_model)  # Keras\n"
              "inference.load_scorer = limit_after(inference.load_scorer)  # the numpy scorer\n"
              f"sys.exit(command.main({arguments!r}))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=180,
                            env={**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 1, result.stderr
    line = one_error_line(result.stderr, f"mt-{module}")  # mt-attend names its two tables: which one filled is unknown
    assert line.startswith(f"mt-{module}: error: {out / named}") and line.endswith(": cannot write: File too large")
    assert names(out) == []


@pytest.mark.slow
def test_a_full_temporary_folder_while_loading_a_model_is_named(tmp_path):
    """Keras unpacks a model into the temporary folder (the numpy scorer reads the archive as it is: Keras is
    forced here, as a model with a layer the numpy scorer lacks would be)."""
    result = run_command("predict", "-m", TEST_DATA / "tiny_model.keras", TEST_DATA / "synthetic_hairpins.npz",
                         "-o", tmp_path / "out" / "p.tsv", preexec=_file_size_limit(300),
                         environment={"MIRTRON_TOOLS_ENGINE": "keras"})
    assert result.returncode == 1
    line = one_error_line(result.stderr, "mt-predict")
    assert "unpacks it into the temporary folder" in line and "File too large" in line
    assert names(tmp_path / "out") == []


@pytest.mark.slow
def test_a_file_size_limit_on_mt_train(tmp_path):
    out = tmp_path / "out"
    result = run_command("train", "--encoded", TEST_DATA / "synthetic_hairpins.npz", "--labels",
                         TEST_DATA / "synthetic_labels.tsv", "-o", out / "m.keras", "--epochs", "1",
                         "--lstm-units", "4", "--seed", "1", "-q", preexec=_file_size_limit(300))
    assert result.returncode == 1
    assert one_error_line(result.stderr, "mt-train") == f"mt-train: error: {out / 'm.keras'}: cannot write: File too large"
    assert names(out) == []


# ------------------------------------------------------------------ truncated inputs

def test_truncated_inputs_are_one_line(inputs, tmp_path, capsys):
    data = gzip.compress((TEST_DATA / "scan_genome.fa").read_bytes())
    (inputs / "cut.fa.gz").write_bytes(data[: len(data) // 2])
    fasta = gzip.compress((TEST_DATA / "synthetic_hairpins.fa").read_bytes())
    (inputs / "cut_hairpins.fa.gz").write_bytes(fasta[: len(fasta) // 2])
    bam = (TEST_DATA / "sim_reads.bam").read_bytes()
    (inputs / "cut.bam").write_bytes(bam[: len(bam) // 2])
    npz = (TEST_DATA / "sim_candidates.npz").read_bytes()
    (inputs / "cut.npz").write_bytes(npz[: len(npz) // 2])
    seal(inputs)
    out = tmp_path / "out"
    cases = [
        (encode, "mt-encode", ["--genome", str(inputs / "cut.fa.gz"), "--annotation",
                               str(TEST_DATA / "scan_genes.gtf"), "-o", str(out / "a.npz")], "cut.fa.gz"),
        (encode, "mt-encode", [str(inputs / "cut_hairpins.fa.gz"), "-o", str(out / "b.npz")], "cut_hairpins.fa.gz"),
        (coverage_cli, "mt-coverage", [str(TEST_DATA / "sim_candidates.npz"), str(inputs / "cut.bam"), "-o",
                                       str(out / "c.npz")], "cut.bam"),
        (coverage_cli, "mt-coverage", [str(inputs / "cut.npz"), str(TEST_DATA / "sim_reads.bam"), "-o",
                                       str(out / "d.npz")], "cut.npz"),
    ]
    for command, prog, argv, named in cases:
        assert command.main([*argv, "-q"]) == 1, argv
        line = one_error_line(capsys.readouterr().err, prog)
        assert line.startswith(f"{prog}: error: {inputs / named}") and "truncat" in line, line
    assert names(out) == []
    assert cache_entries(tmp_path / "cache", "genomes") == [] and leftovers(tmp_path / "cache") == []


# ------------------------------------------------------------------ SIGKILL at several points

def _kill_when(process: subprocess.Popen, ready, deadline: float = 60.0) -> bool:
    """SIGKILL ``process`` once ``ready()`` is true; False when it ended first."""
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if process.poll() is not None:
            return False
        if ready():
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.002)
    process.kill()
    raise AssertionError("the moment to kill never came")


def _start(module: str, *argv) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", f"mirtron_tools.cli.{module}", *map(str, argv), "-q"],
                            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _hidden_temporary(folder: Path):
    return lambda: any(path.name.startswith(".") for path in folder.iterdir())


def _big_gzip_genome(folder: Path) -> Path:
    """A plain-gzip genome big enough (12 MB of sequence) that decompressing it takes a moment."""
    letters = np.frombuffer(b"ACGT\n", dtype=np.uint8)
    codes = np.random.default_rng(7).integers(0, 4, size=(200_000, 61))
    codes[:, 60] = 4  # the line ends
    text = (TEST_DATA / "scan_genome.fa").read_bytes() + b">filler\n" + letters[codes].tobytes()
    path = folder / "big.fa.gz"
    path.write_bytes(gzip.compress(text, compresslevel=1))
    return path


KILL_POINTS = {
    "mt-encode starting": ("encode", lambda inputs, out: [TEST_DATA / "synthetic_hairpins.fa", "-o", out / "e.npz"],
                           lambda out, cache_root: (lambda: True), 0.3),
    "mt-encode writing": ("encode", lambda inputs, out: ["--genome", TEST_DATA / "scan_genome.fa", "--annotation",
                                                          TEST_DATA / "scan_genes.gtf", "-o", out / "s.npz"],
                          lambda out, cache_root: _hidden_temporary(out), 0.0),
    "mt-encode filling the cache": ("encode", lambda inputs, out: ["--genome", _big_gzip_genome(inputs),
                                                                   "--annotation", TEST_DATA / "scan_genes.gtf",
                                                                   *REGION, "-o", out / "g.npz"],
                                    lambda out, cache_root: (lambda: any(cache_root.glob("genomes/*.part"))), 0.0),
    "mt-coverage writing": ("coverage", lambda inputs, out: [TEST_DATA / "sim_candidates.npz",
                                                             TEST_DATA / "sim_reads.bam", "-o", out / "c.npz",
                                                             "--table", out / "c.tsv"],
                            lambda out, cache_root: _hidden_temporary(out), 0.0),
    "mt-predict loading": ("predict", lambda inputs, out: ["-m", TEST_DATA / "tiny_model.keras",
                                                           TEST_DATA / "synthetic_hairpins.npz", "-o", out / "p.tsv"],
                           lambda out, cache_root: (lambda: True), 1.0),
}


@pytest.mark.parametrize("point", list(KILL_POINTS) + [pytest.param("mt-predict writing", marks=pytest.mark.slow)])
def test_sigkill_leaves_no_file_under_an_output_name(inputs, tmp_path, point):
    out, cache_root = tmp_path / "out", tmp_path / "cache"
    if point == "mt-predict writing":
        module, argv, ready, delay = ("predict", lambda inputs, out: [
            "-m", TEST_DATA / "tiny_model.keras", TEST_DATA / "synthetic_hairpins.npz", "-o", out / "p.tsv"],
            lambda out, cache_root: _hidden_temporary(out), 0.0)
    else:
        module, argv, ready, delay = KILL_POINTS[point]
    arguments = argv(inputs, out)
    seal(inputs)
    process = _start(module, *arguments)
    time.sleep(delay)
    killed = _kill_when(process, ready(out, cache_root))
    visible = [name for name in names(out) if not name.startswith(".")]
    if killed:
        assert visible == [], f"SIGKILL left {visible}"
    else:  # it finished first: then its outputs are complete
        assert process.returncode == 0 and visible
    if point == "mt-encode filling the cache":  # a half-made copy is never an entry
        assert cache_entries(cache_root, "genomes") == [] or not killed
    if point == "mt-predict loading":
        return
    # the next run gives the whole result and removes the killed run's hidden temporary files
    rerun = run_command(module, *arguments)
    assert rerun.returncode == 0, rerun.stderr
    assert [name for name in names(out) if name.startswith(".")] == []
    if point == "mt-encode filling the cache":
        assert len(cache_entries(cache_root, "genomes")) == 1
        with gzip.open(arguments[1], "rb") as source:
            assert (cache_entries(cache_root, "genomes")[0] / "big.fa").read_bytes() == source.read()


# ------------------------------------------------------------------ a terminal on standard input

def test_a_terminal_on_standard_input_is_one_line(tmp_path):
    controller, terminal = pty.openpty()
    try:
        result = run_command("encode", "-", "-o", tmp_path / "out" / "o.npz", stdin=terminal, timeout=60)
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 1
    line = one_error_line(result.stderr, "mt-encode")
    assert line.startswith("mt-encode: error: standard input: is a terminal") and "pipe" in line
    assert names(tmp_path / "out") == []
