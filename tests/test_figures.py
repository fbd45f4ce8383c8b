"""Figures: one safe-name rule for figure files, read counts on coverage tracks, a legend for the own-base
dots, the networks' share of the call."""
from __future__ import annotations


def test_one_safe_name_rule_for_figure_files():
    from mirtron_tools.explanation import figure_name, safe_name

    assert safe_name("chr1:100-160(+)") == "chr1_100-160_plus"
    assert safe_name("chr1:100-160(-)") == "chr1_100-160_minus"
    assert safe_name("chr1:100-160:-") == "chr1_100-160_minus"
    assert safe_name("hsa-mir-877") == "hsa-mir-877" and safe_name("..//") == "hairpin"
    taken: set[str] = set()
    assert [figure_name(name, "attention", taken, "png") for name in ("a b", "a  b")] == [
        "a_b_attention.png", "a_b_2_attention.png"]


def test_network_share_note_from_the_manifest():
    from mirtron_tools.explanation import network_share_note
    from mirtron_tools.io.model import read_manifest, resolve_model

    assert network_share_note({"training": {"tree_weight": 0.5}}) == (
        "the networks explained here carry 50% of the call (boosted trees 50%)")
    assert network_share_note({"training": {"kmer_weight": 0.1, "tree_weight": 0.2}}) == (
        "the networks explained here carry 70% of the call (k-mer regression 10%, boosted trees 20%)")
    assert network_share_note({"training": {"tree_weight": "auto"}}) is None
    shares = read_manifest(resolve_model("human_mirtron"))["training"]
    note = network_share_note({"training": shares})
    assert note and f"{1 - shares['tree_weight'] - (shares.get('kmer_weight') or 0):.0%}" in note


def test_coverage_tracks_are_read_counts_and_mutagenesis_dots_have_a_legend(test_data):
    import numpy as np

    from mirtron_tools.coverage import read_count_tracks
    from mirtron_tools.io.coverage import read_coverage
    from mirtron_tools.plots import _pyplot, attribution_figure

    coverage = read_coverage(test_data / "sim_candidates.cov.npz")
    identifier = coverage.ids[1]
    tracks = read_count_tracks(coverage, identifier)
    length, flank = int(coverage.lengths[1]), coverage.flank
    assert list(tracks) == ["read depth", "read 5' ends", "read 3' ends"]
    assert np.array_equal(tracks["read depth"], coverage.counts[1][flank:flank + length, 0])
    sequence = "ACGU" * (length // 4) + "A" * (length % 4)
    deltas = np.zeros((length, 4), dtype=np.float32)
    figure = attribution_figure(identifier, sequence, "." * length, np.ones(length) / length, 0.9, "mirtron",
                                "mutagenesis", deltas, tracks, note="the networks explained here carry 50%")
    legends = [text.get_text() for axis in figure.axes if axis.get_legend() for text in axis.get_legend().get_texts()]
    assert any("own base" in text for text in legends)
    assert [axis.get_ylabel() for axis in figure.axes[2:5]] == ["reads"] * 3
    assert "carry 50%" in figure._suptitle.get_text()
    _pyplot().close(figure)
