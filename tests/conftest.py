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


def assert_files_equal(expected: Path, actual: Path) -> None:
    assert actual.read_text() == expected.read_text(), f"{actual} differs from golden {expected}"
