"""Progress on long work: a bar on a terminal, a line every PROGRESS_INTERVAL s otherwise, nothing with
--quiet; mutagenesis yields hairpin by hairpin."""
from __future__ import annotations

import sys

from mirtron_tools.cli import common


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_logs_a_line_every_interval_on_a_non_terminal(capsys):
    common.configure_logging("mt-test", quiet=False, verbose=False)
    clock = FakeClock()
    progress = common.Progress("scoring", 100, unit="hairpins", clock=clock)
    for _ in range(10):
        clock.now += 4.0  # 40 s of work in 10 steps: a line at 12, 24 and 36 s
        progress(10)
    progress.close()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "mt-test: scoring: 100 hairpins to do"
    assert lines[1:4] == ["mt-test: scoring: 30/100 hairpins (30%), 12 s, about 28 s left",
                          "mt-test: scoring: 60/100 hairpins (60%), 24 s, about 16 s left",
                          "mt-test: scoring: 90/100 hairpins (90%), 36 s, about 4 s left"]
    assert lines[4] == "mt-test: scoring: 100 hairpins done in 40.0 s"
    assert len(lines) == 5


def test_progress_without_a_total_and_quiet(capsys):
    common.configure_logging("mt-test", quiet=False, verbose=False)
    clock = FakeClock()
    progress = common.Progress("mutagenesis", None, clock=clock, interval=5)
    clock.now += 6
    progress(3)
    progress.close()
    assert capsys.readouterr().err.splitlines()[1] == "mt-test: mutagenesis: 3 done, 6 s"
    silent = common.Progress("mutagenesis", None, quiet=True, clock=clock, interval=0)
    silent(1)
    silent.close()
    assert capsys.readouterr().err == ""


def test_progress_draws_a_bar_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    clock = FakeClock()
    progress = common.Progress("folding", 4, clock=clock)
    clock.now += 1
    progress(2)
    assert "folding: [############............] 2/4 (50%), 1 s, about 1 s left" in capsys.readouterr().err


def test_a_long_command_writes_progress_lines_to_a_non_terminal_stderr(tmp_path, monkeypatch, capsys, test_data):
    from mirtron_tools.cli import encode, progress_bar

    monkeypatch.setattr(progress_bar, "PROGRESS_INTERVAL", 0.0)  # a line on every step instead of every 10 s
    assert encode.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "x.npz")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mt-encode: folding: ")]
    assert len(lines) > 3 and any("/" in line and "left" in line for line in lines), lines
    assert encode.main([str(test_data / "synthetic_hairpins.fa"), "-o", str(tmp_path / "y.npz"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_mutagenesis_yields_hairpin_by_hairpin_with_one_fold_pool():
    """Groups of ~512 mutants: progress per hairpin or two, and results that do not depend on grouping."""
    import numpy as np

    from mirtron_tools.attribution import saturation_mutagenesis

    sequences = ["GGGAAACCCUUUGGGAAACCC" * 4, "ACGUACGUAGCUAGCUAGCAUCGAUCGAUGCAUGCAUCGUAC" * 2, "GCAUGCAUGC" * 8]
    calls = []

    def predict(arrays):
        calls.append(len(arrays))
        return np.array([array[:, :4].sum() / (1 + len(array)) for array in arrays], dtype=np.float32)

    reference = np.zeros(len(sequences), dtype=np.float32)
    serial = list(saturation_mutagenesis(sequences, predict, reference, group_mutants=300))
    assert len(calls) == 3  # one hairpin (about 250 mutants) per group
    pooled = list(saturation_mutagenesis(sequences, predict, reference, threads=2, group_mutants=300))
    assert all(np.array_equal(first, second) for first, second in zip(serial, pooled))
