"""Build notebooks/seed_examples.ipynb from tests/guide_examples/*.py.

    python tools/make_seed_notebook.py           # (re)write the notebook
    python tools/make_seed_notebook.py --check   # exit 1 if the notebook is out of date

The example files are the source of truth (a test runs each of them as a script),
so the notebook is generated, never edited by hand: each example becomes a short
heading (its docstring) and one code cell holding the file's code unchanged. The
first code cell loads the extension, whose nest-asyncio switch lets the examples'
top-level ``asyncio.run(main())`` work inside a notebook cell.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "tests" / "guide_examples"
NOTEBOOK = REPO / "notebooks" / "seed_examples.ipynb"

# The guide's order; files not listed here follow alphabetically.
ORDER = (
    "basic_workflow",
    "polling",
    "recordings",
    "listing",
    "cancelling",
    "image_from_path",
    "image_from_bytes",
    "image_from_data_url",
    "error_handling",
    "complete",
)
INTRO = """# The Simulate API guide's examples

Each example of Odyssey's Simulate API guide in its own cell, exactly as the guide
writes it apart from the import line (`from odyssey_jupyter import Odyssey`). With no
`ODYSSEY_API_KEY` set they run on the local engine the extension starts for you; with a
key they run on Odyssey's service.

The guide's examples end with `asyncio.run(main())`. A notebook already runs an event
loop, so plain `asyncio.run` would refuse; loading the extension first switches on
nested event loops (`%config OdysseyJupyter.nest_asyncio`) so the examples work unchanged.

Their streams last 1-3 s, so interactions come 1 s apart: closer than the 3 s Odyssey
recommends between interactions. That is advice the service does not enforce; the same
script in a `%%odyssey_simulate` cell shows a warning naming its lines (and
`odyssey_jupyter.simulate()` lists it in `job.warnings`)."""
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
    "language_info": {"name": "python"},
}


def example_files(directory: Path = EXAMPLES) -> list[Path]:
    files = {path.stem: path for path in directory.glob("*.py") if not path.name.startswith("_")}
    ordered = [files.pop(name) for name in ORDER if name in files]
    return ordered + [files[name] for name in sorted(files)]


def split_example(path: Path) -> tuple[str, str]:
    """(docstring, code without the module docstring) of one example file."""
    text = path.read_text(encoding="utf-8")
    module = ast.parse(text)
    doc = ast.get_docstring(module) or path.stem.replace("_", " ")
    body = text
    first = module.body[0] if module.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and first.end_lineno is not None
    ):
        body = "\n".join(text.splitlines()[first.end_lineno :])
    return doc.strip(), body.strip("\n")


def build_notebook(directory: Path = EXAMPLES) -> Any:
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    cells = [
        new_markdown_cell(INTRO, id="intro"),
        new_code_cell("%load_ext odyssey_jupyter", id="load-extension"),
    ]
    for path in example_files(directory):
        doc, code = split_example(path)
        title = path.stem.replace("_", " ").capitalize()
        slug = path.stem.replace("_", "-")[:50]
        cells.append(new_markdown_cell(f"## {title}\n\n{doc}", id=f"{slug}-text"))
        cells.append(new_code_cell(code, id=f"{slug}-code"))
    nb = new_notebook(cells=cells, metadata=METADATA)
    nbformat.validate(nb)
    return nb


def render(nb: Any) -> str:
    import nbformat

    return str(nbformat.writes(nb)) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail if the notebook is stale")
    parser.add_argument("--output", type=Path, default=NOTEBOOK)
    args = parser.parse_args(argv)
    text = render(build_notebook())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run python tools/make_seed_notebook.py")
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(example_files())} examples)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
