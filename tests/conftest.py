import os
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).resolve().parent.parent / "test-data"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHARED_DATA = Path(os.environ.get("MIRTRON_SHARED_DATA",
                                  Path(__file__).resolve().parent.parent.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if "__pycache__" not in path.parts}


@pytest.fixture(autouse=True, scope="session")
def cache_in_tmp(tmp_path_factory):
    """Derived files (indexes, decompressed genomes) of every test go to a session folder, never ~/.cache
    and never beside an input: test-data/ is the same after the session (names, sizes, times). Tests that
    need an empty cache set MIRTRON_CACHE themselves."""
    previous = os.environ.get("MIRTRON_CACHE")
    os.environ["MIRTRON_CACHE"] = str(tmp_path_factory.mktemp("mirtron_cache"))
    before = _listing(TEST_DATA)
    yield
    if previous is None:
        os.environ.pop("MIRTRON_CACHE", None)
    else:
        os.environ["MIRTRON_CACHE"] = previous
    after = _listing(TEST_DATA)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"tests wrote or changed files in test-data/: {changed}"


#: pytest-timeout's limit for tests marked slow (the default run's budget is pyproject.toml's ``timeout``)
SLOW_TIMEOUT = 600


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT))


@pytest.fixture
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set MIRTRON_SHARED_DATA to point at shared/data)")
    return SHARED_DATA


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def run_scan(output: Path | str, *options: str, genome: Path | str = "scan_genome.fa",
             annotation: str = "scan_genes.gtf") -> int:
    """mt-encode's genome scan of the test genome and annotation (test-data/scan_*), quiet; ``genome`` is a
    test-data name or a path. The one scan helper of the genome-scan tests (test_scan_*.py)."""
    from mirtron_tools.cli import encode

    genome_path = genome if not isinstance(genome, str) else TEST_DATA / genome
    return encode.main(["--genome", str(genome_path), "--annotation", str(TEST_DATA / annotation),
                        "-o", str(output), "-q", *options])


def assert_files_equal(expected: Path, actual: Path) -> None:
    assert actual.read_text() == expected.read_text(), f"{actual} differs from golden {expected}"

