"""The layers of docs/architecture.md, in data-flow order, never include upwards:
app → consumers → handlers/engine → handlers/<name> → awsclient → common (proto under all).

- handlers/ includes nothing of consumers/ or app/: the runtime's outputs leave through its port
  (handlers/engine/output.h) and the pipeline turns them into records.
- A handler folder (handlers/<name>/) and the contract at the top of handlers/ see the contract
  only, never the engine (handlers/engine/).
- awsclient/ includes nothing of handlers/, consumers/ or app/; common/ nothing but common/."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def includes(folder):
    """(file, included path) for every quoted include of the C++ sources under `folder`."""
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in (".h", ".cc"):
            for target in INCLUDE.findall(path.read_text(errors="replace")):
                yield path.relative_to(ROOT).as_posix(), target


def violations(folder, forbidden, skip=()):
    return [f"{f} includes {t}" for f, t in includes(folder)
            if t.startswith(forbidden) and not f.startswith(skip)]


def test_handlers_include_nothing_of_the_pipeline_or_the_app():
    assert violations("handlers", ("consumers/", "app/")) == []


def test_handler_folders_and_the_contract_never_include_the_engine():
    assert violations("handlers", ("handlers/engine/",), skip=("handlers/engine/",)) == []


def test_the_aws_client_and_common_stay_at_the_bottom():
    assert violations("awsclient", ("handlers/", "consumers/", "app/")) == []
    assert violations("common", ("awsclient/", "handlers/", "consumers/", "app/")) == []


def test_the_check_sees_the_includes_it_judges():
    # The engine's own includes of the contract, so that an empty list above means something.
    found = [t for f, t in includes("handlers/engine") if t.startswith("handlers/")]
    assert "handlers/workflow.h" in found or "handlers/handler.h" in found, found
