"""The one process-pool helper (mirtron_tools.pool): workers are forked, or spawned once TensorFlow is loaded,
and the results do not depend on which."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from mirtron_tools import pool
from mirtron_tools.coordinates import regions_of
from mirtron_tools.io import bam
from mirtron_tools.io.encoded import read_encoded


def test_workers_are_spawned_once_tensorflow_is_loaded(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorflow", sys)  # any module object stands for it here
    assert pool.start_method() == "spawn"
    monkeypatch.delitem(sys.modules, "tensorflow")
    assert pool.start_method() == "fork"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_coverage_workers_give_the_serial_result(monkeypatch, test_data, method):
    if method == "fork" and "tensorflow" in sys.modules:
        pytest.skip("TensorFlow is loaded in this test process: forking it is what the helper avoids")
    encoded = read_encoded(test_data / "sim_candidates.npz")
    regions = regions_of(encoded, "sim_candidates.npz")
    inputs = bam.prepare_alignments([str(test_data / "sim_reads.bam")], (region.contig for region in regions), {})
    monkeypatch.setattr(bam, "JOB_CANDIDATES", 3)  # several jobs, so that the pool is used
    serial = bam.collect_coverage(regions, encoded.structures, inputs, 20, bam.ReadFilter(), threads=1)
    monkeypatch.setattr(pool, "start_method", lambda: method)
    pooled = bam.collect_coverage(regions, encoded.structures, inputs, 20, bam.ReadFilter(), threads=2)
    assert len(pooled) == len(serial) == len(encoded)
    for (tracks, summary), (serial_tracks, serial_summary) in zip(pooled, serial):
        assert np.array_equal(tracks, serial_tracks) and repr(summary) == repr(serial_summary)
