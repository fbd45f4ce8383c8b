"""Pure functions of the genome scan (mirtron_tools.scan) and the GTF/GFF3 reader."""
import gzip

import numpy as np
import pytest
from conftest import write

from mirtron_tools.errors import InputError
from mirtron_tools.io.annotation import read_transcripts
from mirtron_tools.scan.anchoring import anchored_hairpin
from mirtron_tools.scan.folding import scan
from mirtron_tools.scan.genes import Intron, Transcript, introns_from_transcripts
from mirtron_tools.scan.parameters import CONVENTIONAL, FIVE_TAILED, THREE_TAILED, ScanParameters
from mirtron_tools.scan.prefilter import prefilter_keep
from mirtron_tools.scan.windows import intron_windows, plan_windows, select_chunk, select_region, window_clusters

PARAMETERS = ScanParameters()


def test_introns_merged_numbered_and_sorted():
    transcripts = [
        Transcript("t1", "G", "c2", "+", ((0, 100), (300, 400), (600, 700))),
        Transcript("t2", "G", "c2", "+", ((0, 100), (600, 700))),           # skips exon 2
        Transcript("t3", "H", "c1", "-", ((1000, 1100), (1500, 1600), (2000, 2100))),
        Transcript("t4", "H", "c1", "-", ((1500, 1600), (2000, 2100))),     # shares t3's first intron
        Transcript("single", "S", "c1", "+", ((5, 50),)),
        Transcript("adjacent", "A", "c1", "+", ((5, 50), (50, 90))),       # no gap, no intron
    ]
    introns = introns_from_transcripts(transcripts, contig_order=["c1", "c2"])
    assert [(i.contig, i.start, i.end) for i in introns] == [
        ("c1", 1100, 1500), ("c1", 1600, 2000), ("c2", 100, 300), ("c2", 100, 600), ("c2", 400, 600)]
    shared = introns[1]
    assert shared.transcripts == ("t3", "t4") and shared.numbers == (1, 1)  # minus strand: 5'-most is 1
    assert introns[0].numbers == (2,)
    assert introns[2].numbers == (1,) and introns[4].numbers == (2,) and introns[3].transcripts == ("t2",)


def _intron(start, end, strand="+"):
    return Intron("c", start, end, strand, ("G",), ("t",), (1,))


def test_windows_short_and_long_introns():
    short = intron_windows(_intron(1000, 1080), PARAMETERS)
    assert len(short) == 1 and short[0].conventional and short[0].acceptor and short[0].donor
    long_plus = intron_windows(_intron(1000, 3000, "+"), PARAMETERS)
    assert [(w.start, w.end, w.acceptor, w.donor) for w in long_plus] == [(2900, 3000, True, False),
                                                                          (1000, 1100, False, True)]
    long_minus = intron_windows(_intron(1000, 3000, "-"), PARAMETERS)
    assert [(w.start, w.end, w.acceptor) for w in long_minus] == [(1000, 1100, True), (2900, 3000, False)]
    conventional_long = intron_windows(_intron(1000, 1140), PARAMETERS)  # 140 nt: whole + two ends
    assert [w.conventional for w in conventional_long] == [True, False, False]
    assert intron_windows(_intron(1000, 1030), PARAMETERS) == []


def test_shared_acceptor_window_folded_once():
    introns = [_intron(1000, 5000), _intron(3000, 5000)]
    windows = plan_windows(introns, PARAMETERS)
    acceptor = [window for window in windows if window.acceptor]
    assert len(acceptor) == 1 and acceptor[0].hosts == (0, 1)


def test_anchored_hairpin_rule():
    stem = "(" * 20 + "." * 8 + ")" * 20
    # 5'-tailed: 30 nt tail, stem, 3 unpaired nt before the acceptor
    structure = "." * 30 + stem + "..."
    first, last, distance = anchored_hairpin(structure, "3", PARAMETERS)
    assert (first, last, distance) == (26, len(structure), 3)  # 4 nt 5' flank, reaches the splice site
    # 3'-tailed: 1 unpaired nt after the donor, stem, long tail
    structure = "." + stem + "." * 40
    assert anchored_hairpin(structure, "5", PARAMETERS) == (0, 1 + 48 + 2, 1)
    # stem too far from the splice site
    assert anchored_hairpin("." * 30 + stem + "." * 11, "3", PARAMETERS) is None
    # too few base pairs
    assert anchored_hairpin("." * 30 + "(" * 10 + "." * 30 + ")" * 10, "3", PARAMETERS) is None
    assert anchored_hairpin("." * 60, "3", PARAMETERS) is None
    with pytest.raises(ValueError):
        anchored_hairpin(stem, "x", PARAMETERS)


def test_clusters_region_and_chunks_partition():
    introns = [_intron(start, start + 2000) for start in range(0, 50000, 2500)]
    introns += [_intron(1500, 2700)]  # overlaps two others
    introns = introns_from_transcripts([Transcript(f"t{n}", "G", "c", "+", ((i.start - 10, i.start), (i.end, i.end + 10)))
                                        for n, i in enumerate(introns)])
    clusters = window_clusters(plan_windows(introns, PARAMETERS))
    everything = [window for cluster in clusters for window in cluster]
    for count in (1, 3, 7):
        pieces = [select_chunk(clusters, index, count) for index in range(1, count + 1)]
        assert [window for piece in pieces for cluster in piece for window in cluster] == everything
    halves = select_region(clusters, "c", 0, 20000) + select_region(clusters, "c", 20000, 10 ** 9)
    assert [window for cluster in halves for window in cluster] == everything
    with pytest.raises(ValueError):
        select_chunk(clusters, 0, 3)


def test_prefilter_keeps_hairpin_drops_poly_a():
    hairpin = "GUAAGG" + "GCGCAUGCAGCUAGCUAGGC" + "GAAAUAAGC" + "GCCUAGCUAGCUGCAUGCGC" + "CCAG"
    window = "A" * (100 - len(hairpin)) + hairpin
    assert prefilter_keep([window, "A" * 100], "3", PARAMETERS).tolist() == [True, False]
    reverse = hairpin + "A" * (100 - len(hairpin))
    assert prefilter_keep([reverse], "5", PARAMETERS).tolist() == [True]


def test_scan_finds_planted_hairpin_and_threads_agree():
    hairpin = "GUAAGGGCGCAUGCAGCUAGCUAGGCGAAAUAAGCGCCUAGCUAGCUGCAUGCGCCCAG"
    rng = np.random.default_rng(3)
    filler = "".join(rng.choice(list("ACGU"), 900))
    # + strand intron [100, 100 + 900 + len): donor GU...filler...hairpin ending at the acceptor
    contig = "A" * 100 + "GU" + filler[2:] + hairpin + "A" * 100
    end = 100 + 900 + len(hairpin)
    introns = introns_from_transcripts([Transcript("t", "G", "c", "+", ((0, 100), (end, end + 100)))])
    windows = plan_windows(introns, PARAMETERS)

    def fetch(name, start, stop, strand):
        return contig[start:stop]

    found = scan(windows, fetch, PARAMETERS)
    tailed = [c for c in found if c.subtype == FIVE_TAILED]
    assert any(c.end == end and c.start <= end - len(hairpin) + 4 for c in tailed)
    assert [(c.start, c.end) for c in scan(windows * 40, fetch, PARAMETERS, threads=2, batch_size=8)] == \
        [(c.start, c.end) for c in found]
    assert {CONVENTIONAL, THREE_TAILED} >= {c.subtype for c in found if c.subtype != FIVE_TAILED}


GTF = ('c1\tt\texon\t1\t100\t.\t+\t.\tgene_id "g1"; transcript_id "t1"; gene_name "ONE"; exon_number "1";\n'
       'c1\tt\texon\t301\t400\t.\t+\t.\tgene_id "g1"; transcript_id "t1"; gene_name "ONE"; exon_number "2";\n'
       'c1\tt\tCDS\t301\t400\t.\t+\t0\tgene_id "g1"; transcript_id "t1";\n'
       '# comment\n'
       'c1\tt\texon\t901\t1000\t.\t-\t.\tgene_id "g2"; transcript_id "t2"; exon_number "1";\n'
       'c1\tt\texon\t501\t600\t.\t-\t.\tgene_id "g2"; transcript_id "t2"; exon_number "2";\n')
GFF3 = ("##gff-version 3\n"
        "c1\tt\tgene\t1\t400\t.\t+\t.\tID=g1;Name=ONE\n"
        "c1\tt\tmRNA\t1\t400\t.\t+\t.\tID=t1;Parent=g1\n"
        "c1\tt\texon\t301\t400\t.\t+\t.\tParent=t1\n"
        "c1\tt\texon\t1\t100\t.\t+\t.\tParent=t1\n"
        "c1\tt\tgene\t501\t1000\t.\t-\t.\tID=g2\n"
        "c1\tt\tmRNA\t501\t1000\t.\t-\t.\tID=t2;Parent=g2\n"
        "c1\tt\texon\t501\t600\t.\t-\t.\tParent=t2\n"
        "c1\tt\texon\t901\t1000\t.\t-\t.\tParent=t2\n")


def test_gtf_gff3_and_gzip_agree(tmp_path):
    expected = [Transcript("t1", "ONE", "c1", "+", ((0, 100), (300, 400))),
                Transcript("t2", "g2", "c1", "-", ((500, 600), (900, 1000)))]
    assert read_transcripts(write(tmp_path / "a.gtf", GTF)) == expected
    assert read_transcripts(write(tmp_path / "a.gff3", GFF3)) == expected
    with gzip.open(tmp_path / "a.gff3.gz", "wt") as stream:
        stream.write(GFF3)
    assert read_transcripts(tmp_path / "a.gff3.gz") == expected


@pytest.mark.parametrize("text, line, message", [
    ("c1\tt\texon\t1\t100\t.\t+\n", 1, "expected 9 tab-separated columns"),
    (GTF + "c1\tt\texon\tone\t100\t.\t+\t.\tgene_id \"g\"; transcript_id \"t\";\n", 7, "must be whole numbers"),
    (GTF + "c1\tt\texon\t200\t100\t.\t+\t.\tgene_id \"g\"; transcript_id \"t\";\n", 7, "bad coordinates"),
    (GTF + "c1\tt\texon\t1\t100\t.\t.\t.\tgene_id \"g\"; transcript_id \"t\";\n", 7, "strand '.'"),
    (GTF + "c1\tt\texon\t1\t100\t.\t+\t.\tgene_id \"g\";\n", 7, "lacks transcript_id"),
    (GTF + "c2\tt\texon\t1\t10\t.\t+\t.\tgene_id \"g1\"; transcript_id \"t1\";\n", 7, "has exons on c1 (+) and on c2"),
    (GTF + "c1\tt\texon\t50\t120\t.\t+\t.\tgene_id \"g1\"; transcript_id \"t1\";\n", 7, "overlap"),
    (GTF.replace('exon_number "2"', 'exon_number "9"'), 2, "out of order"),
    (GTF.replace('t2"; exon_number "1"', 't2"; exon_number "X"').replace('t2"; exon_number "2"', 't2"; exon_number "1"')
     .replace('t2"; exon_number "X"', 't2"; exon_number "2"'), 6, "out of order"),
    ('c1\tt\texon\t1\t100\t.\t+\t.\tgene_id "g1" transcript_id\n', 1, "malformed GTF attributes"),
    ("##gff-version 3\nc1\tt\texon\t1\t100\t.\t+\t.\tID=e1\n", 2, "no Parent"),
])
def test_annotation_errors_name_the_line(tmp_path, text, line, message):
    path = write(tmp_path / "bad.gtf", text)
    with pytest.raises(InputError) as error:
        read_transcripts(path)
    assert f"bad.gtf:{line}:" in str(error.value) and message in str(error.value)


def test_annotation_without_exons(tmp_path):
    with pytest.raises(InputError, match="no exon lines"):
        read_transcripts(write(tmp_path / "g.gtf", 'c\tt\tgene\t1\t10\t.\t+\t.\tgene_id "g";\n'))
    with pytest.raises(InputError, match="no GTF/GFF3 feature lines"):
        read_transcripts(write(tmp_path / "e.gtf", "# nothing\n"))
