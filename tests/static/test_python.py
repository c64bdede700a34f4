"""The project's Python (bench drivers, test suites, scripts) has no undefined or unused names: a
driver that only the benchmark command runs would otherwise carry a NameError until someone runs
it, as the pipeline bench once did after a refactor."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def python_files():
    files = []
    for folder in ("bench", "tests", "scripts", "docker"):
        files += [p for p in (ROOT / folder).rglob("*.py") if ".venv" not in p.parts]
    return sorted(files)


def test_there_is_python_to_check():
    assert len(python_files()) > 10


def test_pyflakes_finds_nothing():
    run = subprocess.run([sys.executable, "-m", "pyflakes", *map(str, python_files())],
                         capture_output=True, text=True)
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_every_end_to_end_module_imports():
    # A name moved out of harness.py and still imported from it fails only when pytest imports
    # the module, which the end-to-end phase does last; collecting them here takes a second.
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                          "-p", "no:cacheprovider", str(ROOT / "tests" / "integration")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:]
