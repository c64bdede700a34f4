"""Every C++ source the project writes is formatted by the root .clang-format (STYLE.md): a change
that is not formatted fails here, naming the files, instead of growing whitespace diffs later."""

import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("app", "awsclient", "bench", "common", "consumers", "handlers", "tests")


def cpp_files():
    files = []
    for folder in SOURCE_DIRS:
        for suffix in ("*.cc", "*.h"):
            files += (ROOT / folder).rglob(suffix)
    return sorted(files)


def clang_format():
    for name in ("clang-format", "clang-format-14"):
        if path := shutil.which(name):
            return path
    raise AssertionError("clang-format is not installed: scripts/install-deps.sh --test installs it")


def test_there_is_cpp_to_check():
    assert len(cpp_files()) > 100


def test_sources_match_clang_format():
    unformatted = []
    files = cpp_files()
    for start in range(0, len(files), 50):
        chunk = [str(p) for p in files[start:start + 50]]
        run = subprocess.run([clang_format(), "--dry-run", *chunk], capture_output=True, text=True,
                             cwd=ROOT)
        assert run.returncode == 0, run.stderr[-2000:]
        unformatted += sorted({line.split(":", 1)[0] for line in run.stderr.splitlines()
                               if "warning:" in line})
    assert not unformatted, ("not formatted by .clang-format (run clang-format -i on them): " +
                             ", ".join(str(pathlib.Path(f).relative_to(ROOT)) for f in unformatted))


def test_the_check_sees_a_misformatted_source(tmp_path):
    # The check above would pass vacuously if --dry-run stopped reporting; it must report this.
    bad = tmp_path / "bad.cc"
    bad.write_text("int  main( ){return 0;}\n")
    (tmp_path / ".clang-format").write_text((ROOT / ".clang-format").read_text())
    run = subprocess.run([clang_format(), "--dry-run", str(bad)], capture_output=True, text=True)
    assert "warning:" in run.stderr
