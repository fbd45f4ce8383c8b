#!/usr/bin/env python3
"""What the cache of derived files costs on a real genome (mirtron_tools.io.cache, docs/cache.md).

On a plain-gzip genome (default: the shared chr19, 16.7 MB .fa.gz, 58.6 Mb), in an empty cache
folder of its own (a temporary folder, removed at the end; the user's cache is not touched):
the content key of the .fa.gz and of its decompressed FASTA (SHA-256 of every byte, and the
sampled key that files over 1 GiB get), the first open (decompress and index into the cache), a
later open (key and entry found), a plain FASTA without .fai (indexed into the cache), the check
of a user's fresh .fai, and the size of the entries. Best of ``--repeats`` where a step is repeated.

Usage: python bench/cache_costs.py [GENOME.fa.gz] [--repeats 5]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "intronIC" / "test_data" \
    / "Homo_sapiens.Chr19.Ensembl_91.fa.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("genome", nargs="?", default=str(DEFAULT))
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mirtron_cache_costs_"))
    os.environ["MIRTRON_CACHE"] = str(work / "cache")
    from mirtron_tools.io import cache, genome
    from mirtron_tools.io.genome import Genome

    def timed(label: str, step, repeats: int = 1) -> None:
        best = float("inf")
        for _ in range(repeats):
            cache._keys.clear()  # the per-process memo would hide the cost
            start = time.perf_counter()
            step()
            best = min(best, time.perf_counter() - start)
        print(f"{label}\t{best:.3f} s")

    def opened(path: str) -> None:
        with Genome(path) as handle:
            contig = next(iter(handle.lengths))
            handle.fetch(contig, 0, min(100, handle.lengths[contig]))

    try:
        size = os.path.getsize(args.genome)
        timed(f"content key of the .fa.gz ({size / 1e6:.1f} MB, SHA-256 of every byte)",
              lambda: cache.content_key(args.genome), args.repeats)
        timed("first open of the .fa.gz, empty cache (decompress + index)", lambda: opened(args.genome))
        timed("later open of the .fa.gz (key + entry found)", lambda: opened(args.genome), args.repeats)
        entry = cache.entries()[0].path
        plain = str(work / "plain.fa")
        fasta = next(path for path in entry.iterdir() if not path.name.endswith(".fai"))
        shutil.copy(fasta, plain)
        plain_size = os.path.getsize(plain)
        timed(f"content key of the FASTA ({plain_size / 1e6:.1f} MB, SHA-256 of every byte)",
              lambda: cache.content_key(plain), args.repeats)
        limit = cache.FULL_DIGEST_LIMIT
        cache.FULL_DIGEST_LIMIT = 0
        timed("sampled content key of the FASTA (size + 256 blocks of 64 KiB)", lambda: cache.content_key(plain),
              args.repeats)
        cache.FULL_DIGEST_LIMIT = limit
        timed("first open of the FASTA without .fai (indexed into the cache)", lambda: opened(plain))
        shutil.copy(f"{fasta}.fai", f"{plain}.fai")
        os.utime(f"{plain}.fai")
        timed("check of a user's fresh .fai beside the FASTA", lambda: genome.index_problem(plain, f"{plain}.fai"),
              args.repeats)
        for found in cache.entries():
            print(f"cache entry {found.kind}\t{found.size / 1e6:.3f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
