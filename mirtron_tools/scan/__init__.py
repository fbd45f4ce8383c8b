"""The genome scan for novel mirtrons: gene models -> introns -> candidate hairpins (pure: no file access).

One topic a module; each imports only the ones above it in this list (and the package's lower floors):

* :mod:`.parameters`: :class:`ScanParameters`, the subtype names and the annotation columns of the output;
* :mod:`.genes`: transcripts and their unique introns;
* :mod:`.windows`: the windows to fold, merged, clustered and split into regions or pieces;
* :mod:`.anchoring`: the stem-loop anchored at a splice site of a folded window;
* :mod:`.prefilter`: the optional dot-plot prefilter;
* :mod:`.decoys`: dinucleotide-shuffled decoy windows;
* :mod:`.folding`: folding the windows (in worker processes) into :class:`~.folding.Candidate` hairpins;
* :mod:`.conversion`: candidates -> an :class:`~mirtron_tools.encoding.EncodedSet` with the scan's annotations.

Coordinates are 0-based, end-exclusive (BED) throughout. Sequences are upper-case RNA in
transcript orientation (minus-strand windows are reverse complements), as
:meth:`mirtron_tools.io.genome.Genome.fetch` returns them.

The rule (parameters in :class:`~.parameters.ScanParameters`)
-------------------------------------------------------------
1. **Introns** are the gaps between consecutive exons of each multi-exon transcript.
   Introns with identical contig, start, end and strand are merged; each keeps the host
   genes, transcripts and its intron number in each transcript (1 = nearest the 5' end).
2. **Conventional** mirtrons: the whole intron is a candidate when its length lies within
   ``conventional_min_length .. conventional_max_length`` (default 50..150 nt).
3. **Tailed** mirtrons: a window of ``window`` nt (default 100) at each end of the intron (the
   whole intron when it is shorter) is folded with ViennaRNA (MFE, base-pair span at most
   ``window``). The candidate is the stem-loop of that fold anchored at the intron end:

   * acceptor end (**5'-tailed**): the 3'-most paired base ``j`` and its partner ``i``
     close the outermost helix of the domain nearest the acceptor;
   * donor end (**3'-tailed**): the 5'-most paired base ``i`` and its partner ``j``.

   The hairpin is trimmed like a miRBase hairpin of a tailed mirtron: it reaches the splice
   site at its anchored end (the splice site defines that end of a tailed mirtron) and keeps
   ``flank_5p`` (4) unpaired nt before ``i`` (5'-tailed) or ``flank_3p`` (2) after ``j``
   (3'-tailed) at its free end. These are the median numbers of unpaired nt outside the
   outermost pair of the 216 human miRBase mirtron hairpins folded alone (5' side 4, 3' side
   2, the Dicer 2-nt overhang). The candidate is kept when at most ``max_splice_distance`` (10)
   unpaired nt separate its stem from the splice site (recorded as ``splice_distance``), it is
   ``min_hairpin_length`` (45) to ``window`` nt long, holds at least ``min_base_pairs`` (15)
   base pairs and no N. The kept hairpin is folded again on its own (as ``mt-encode`` folds a
   FASTA hairpin), so the model sees the same kind of sequence and structure it was trained on.
4. Windows shared by several introns (alternative splice sites) are folded once; a hairpin
   found more than once is kept once (conventional first, then 5'-tailed, then 3'-tailed),
   with the genes, transcripts and intron numbers of every intron that hosts it.

Decoys (``ScanParameters.decoys``): every window is also scanned once more after a
dinucleotide-preserving shuffle (:func:`.decoys.dinucleotide_shuffle`, Altschul-Erickson) of all but its
first and last two nt, which keeps the splice-site dinucleotides (GU...AG) in place. The shuffle
is seeded by the window's coordinates, so decoys do not depend on threads, chunks or regions.
Decoy candidates carry ``decoy`` = 1 and ids ``decoy:contig:start-end(strand)``; they estimate how
many candidates of the same windows the scan and a model would pass by chance (mt-predict's survey).

Optional prefilter: before folding, a window is skipped when no helix-like diagonal of the
dot plot reaches its anchored end (:func:`.prefilter.prefilter_scores`); see the README for its measured
recall. It is off by default.
"""
