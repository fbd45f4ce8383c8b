import os
from pathlib import Path

import pytest

TEST_DATA = Path(__file__).resolve().parent.parent / "test-data"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SHARED_DATA = Path(os.environ.get("MIRTRON_SHARED_DATA",
                                  Path(__file__).resolve().parent.parent.parent / "shared" / "data"))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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
