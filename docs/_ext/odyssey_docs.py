"""Reference pages generated from the code, and the tutorials' engine.

Directives, each reading the one place in the code that defines what it shows:

* ``odyssey-argparse MODULE:FUNCTION``: every flag of a real argparse parser (the magics'
  parsers in ``magic_args``, the command line's, the engine's ``serve``), as
  ``program``/``option`` entries, subcommands included.
* ``odyssey-traits``: every ``%config OdysseyJupyter`` setting, from the traitlets and
  their help.
* ``odyssey-exceptions``: the exception tree under ``OdysseyError``.
* ``odyssey-spec-keys``: the sweep spec's keys, from ``cli.spec.SPEC_SCHEMA``.
* ``odyssey-grammar``: the timeline's tokens and how a cell body's form is told apart,
  from ``grammar.json``, the file the kernel, its completion and the editor all read.

Events: the tutorials run with no key against an engine whose data is under
``build/docs/engine`` (stopped when the build ends), and the videos they downloaded are
copied next to the pages that play them.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

from odyssey_jupyter.text.recorded_parser import Option, RecordedParser

RECORDINGS = "odyssey_recordings"
RETURNED_TYPES = (
    "odyssey_jupyter.session.recording.Chapter",
    "odyssey_jupyter.local.launch.manage.EngineStatus",
    "odyssey_jupyter.local.launch.manage.StopOutcome",
    "odyssey_jupyter.display.media.gallery.Gallery",
    "odyssey_jupyter.display.media.compare.Compare",
    "odyssey_jupyter.session.cancel.CancelOutcome",
    "odyssey_jupyter.sweeps.output.SweepOutput",
    "odyssey_jupyter.sweeps.item.SweepItem",
    "odyssey_jupyter.sweeps.states.ItemState",
    "odyssey_jupyter.sweeps.states.SweepState",
)
"""Classes that public functions return, documented under their own modules' names."""


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


class _Generated(SphinxDirective):
    """A directive whose body is reStructuredText made from the code."""

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        # Made from the code: the page is rebuilt when the code or this file changes.
        for source in _package_sources():
            self.env.note_dependency(str(source))
        container = nodes.container()
        source = self.get_source_info()[0]
        text = StringList()
        # The pages are MyST, whose parser reads nested text: the reStructuredText
        # made here goes through MyST's eval-rst block.
        for line in ["````{eval-rst}", *self.lines(), "````"]:
            text.append(line, source)
        nested_parse_with_titles(self.state, text, container)
        return list(container.children)


def _package_sources() -> list[Path]:
    import odyssey_jupyter

    package = Path(odyssey_jupyter.__file__).parent
    return [Path(__file__), package / "script" / "grammar.json", *sorted(package.rglob("*.py"))]


def _load(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _option_names(option: Option) -> str:
    action = option.action
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    if not option.flags:
        return metavar
    if not option.takes_value:
        return ", ".join(option.flags)
    return ", ".join(f"{flag} {metavar}" for flag in option.flags)


def _help(action: argparse.Action) -> str:
    text = _one_line(action.help) if action.help != argparse.SUPPRESS else ""
    if action.choices:
        text += " Choices: " + ", ".join(f"``{c}``" for c in action.choices) + "."
    return text or "(no help text)"


def parser_lines(parser: RecordedParser, program: str) -> list[str]:
    """A parser's options as Sphinx ``program``/``option`` entries, its subcommands after."""
    out = [f".. program:: {program}", ""]
    if parser.description:
        out += [_one_line(parser.description), ""]
    for option in parser.options:
        if not option.shows_help:
            out += [f".. option:: {_option_names(option)}", "", f"   {_help(option.action)}", ""]
    for subcommands in parser.subcommands:
        for name, child in subcommands.parsers.items():
            out += parser_lines(child, f"{program} {name}")
    return out


class ArgparseDirective(_Generated):
    """``.. odyssey-argparse:: module:function`` with an optional ``:program:`` name."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Callable[[str], Any]]] = {"program": str.strip}

    def lines(self) -> list[str]:
        built = _load(self.arguments[0])()
        parser = built[0] if isinstance(built, tuple) else built
        # Sphinx puts the program into a %-format: a magic is named without its %.
        program = self.options.get("program", parser.prog).lstrip("%")
        return parser_lines(parser, program)


def _default(trait: Any) -> str:
    value = trait.default_value
    return "None" if value is None else repr(value)


class TraitsDirective(_Generated):
    """Every configurable trait of ``OdysseyJupyter``, with its type, default and help."""

    def lines(self) -> list[str]:
        from odyssey_jupyter.session.config import OdysseyJupyter

        out: list[str] = []
        for name, trait in OdysseyJupyter.class_traits(config=True).items():
            kind = type(trait).__name__
            values = getattr(trait, "values", None)
            out += [
                f".. confval:: OdysseyJupyter.{name}",
                f"   :type: ``{kind}``" + (f" of {', '.join(map(repr, values))}" if values else ""),
                f"   :default: ``{_default(trait)}``",
                "",
                f"   {_one_line(trait.help)}",
                "",
            ]
        return out


def _exception_tree(cls: type, public: set[str], depth: int) -> list[str]:
    indent = "  " * depth
    name = cls.__name__
    ref = f":py:exc:`~odyssey_jupyter.{name}`" if name in public else f"``{name}``"
    doc = _one_line((inspect.getdoc(cls) or "").split("\n\n")[0])
    out = [f"{indent}- {ref} (``{cls.__module__}``): {doc}", ""]
    for child in sorted(cls.__subclasses__(), key=lambda c: c.__name__):
        if child.__module__.startswith("odyssey_jupyter"):
            out += _exception_tree(child, public, depth + 1)
    return out


class ExceptionsDirective(_Generated):
    """The tree of exceptions under ``OdysseyError``, each with its first docstring line."""

    def lines(self) -> list[str]:
        import odyssey_jupyter
        from odyssey_jupyter.errors import OdysseyError

        _import_all_modules()
        return _exception_tree(OdysseyError, set(odyssey_jupyter.__all__), 0)


def _import_all_modules() -> None:
    """Import every module of the package, so each exception class is defined."""
    import pkgutil

    import odyssey_jupyter

    for info in pkgutil.walk_packages(odyssey_jupyter.__path__, "odyssey_jupyter."):
        if ".labextension" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)


class SpecKeysDirective(_Generated):
    """The sweep spec's keys, each with its type and meaning."""

    def lines(self) -> list[str]:
        from odyssey_jupyter.cli.spec import REQUIRED_KEYS, SPEC_SCHEMA

        out: list[str] = []
        for key, (kind, meaning) in SPEC_SCHEMA.items():
            required = ", required" if key in REQUIRED_KEYS else ""
            out += [f".. spec-key:: {key}", "", f"   *{kind}{required}*: {meaning}.", ""]
        return out


class GrammarDirective(_Generated):
    """The timeline's tokens and the rules telling a cell body's form, from the JSON file."""

    def lines(self) -> list[str]:
        import odyssey_jupyter

        path = Path(odyssey_jupyter.__file__).parent / "script" / "grammar.json"
        grammar = json.loads(path.read_text(encoding="utf-8"))
        out: list[str] = [_one_line(grammar["about"]), ""]
        out += ["A timeline line is ``TIME ACTION [PROMPT] [image=PATH]``, with ``ACTION`` one of"]
        out += [", ".join(f"``{a}``" for a in grammar["actions"]) + " (any case).", ""]
        out += ["Fragments the patterns name as ``%NAME%``:", ""]
        for name, fragment in grammar["fragments"].items():
            out += [f"``{name}``", f"   ``{fragment}``", ""]
        out += ["The tokens of a timeline line:", ""]
        for name, pattern in grammar["timeline"].items():
            out += [f"``{name}``", f"   ``{pattern}``", ""]
        sign = grammar["comment_prefix"]
        out += [
            f"An unescaped ``{sign}`` starts a comment (``\\{sign}`` is a literal ``{sign}``).",
            "",
        ]
        out += [
            "A body's form is told from its first line that is neither blank nor a comment:",
            "",
        ]
        for name, pattern in grammar["patterns"].items():
            out += [f"``{name}``", f"   ``{pattern}``", ""]
        out += ["Rules, in order (the first that holds decides):", ""]
        for number, rule in enumerate(grammar["rules"], 1):
            detail = rule.get("pattern") or ", ".join(rule.get("values", []))
            what = f"``{rule['when']}``" + (f" ``{detail}``" if detail else "")
            out += [f"{number}. {what} → ``{rule['form']}``"]
        out += [
            "",
            "Examples the kernel and the editor both test themselves on (form, then",
            "body):",
        ]
        out += ["", ".. code-block:: text", ""]
        for case in grammar["cases"]:
            body = case["body"].encode("unicode_escape").decode()
            out += [f"   {case['form']:<26} {body}"]
        return out


class OpenApiDirective(_Generated):
    """Every operation of the wire contract: method, path, summary, parameters, answers."""

    required_arguments = 1

    def lines(self) -> list[str]:
        import yaml

        path = Path(self.env.srcdir) / self.arguments[0]
        self.env.note_dependency(str(path))
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        out: list[str] = []
        for route, operations in spec["paths"].items():
            for method, operation in operations.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                title = f"{method.upper()} {route}"
                out += [f".. _http-{method}-{route.strip('/').replace('/', '-')}:", ""]
                out += [title, "-" * len(title), "", _one_line(operation.get("summary")), ""]
                if operation.get("description"):
                    out += [_one_line(operation["description"]), ""]
                for parameter in operation.get("parameters", []):
                    if "$ref" in parameter:
                        continue
                    where = f"{parameter['name']} ({parameter['in']})"
                    out += [f"- ``{where}``: {_one_line(parameter.get('description'))}"]
                out += [""]
                for code, answer in operation.get("responses", {}).items():
                    text = _one_line(answer.get("description")) if isinstance(answer, dict) else ""
                    out += [f"- **{code}**: {text or 'see the schema'}"]
                out += [""]
        return out


class ApiDirective(_Generated):
    """An autodoc entry for every name in ``odyssey_jupyter.__all__``, so none is missed."""

    def lines(self) -> list[str]:
        import odyssey_jupyter

        out: list[str] = []
        for name in odyssey_jupyter.__all__:
            value = getattr(odyssey_jupyter, name)
            if isinstance(value, type) and issubclass(value, BaseException):
                out += [f".. autoexception:: odyssey_jupyter.{name}"]
            elif isinstance(value, type):
                out += [f".. autoclass:: odyssey_jupyter.{name}", "   :members:"]
            else:
                out += [f".. autofunction:: odyssey_jupyter.{name}"]
            out += [""]
        out += ["Types these return", "------------------", ""]
        for target in RETURNED_TYPES:
            out += [f".. autoclass:: {target}", "   :members:", ""]
        return out


def _tutorial_dirs(app: Sphinx) -> list[Path]:
    return [Path(app.srcdir) / "tutorials"]


def prepare_engine(app: Sphinx) -> None:
    """Tutorial kernels run with no key, wait in every cell, and keep the engine in build/."""
    build = Path(app.config.nb_execution_cache_path).parent
    for name in ("ODYSSEY_API_KEY", "ODYSSEY_API_URL"):
        os.environ.pop(name, None)
    os.environ["ODYSSEY_WAIT"] = "1"
    os.environ["ODYSSEY_LOCAL_DATA_DIR"] = str(build / "engine")
    # The job browser's prompts: this build's own, not the user's history.
    os.environ["ODYSSEY_HISTORY_PATH"] = str(build / "history.jsonl")
    # Videos live beside the notebooks (git-ignored): without them, the cached results
    # would point at nothing, so the tutorials are run again.
    if not all((folder / RECORDINGS).is_dir() for folder in _tutorial_dirs(app)):
        shutil.rmtree(app.config.nb_execution_cache_path, ignore_errors=True)
    # A tutorial run again makes its sweeps anew under the same names: the ledgers of
    # the last run go (the videos the cached pages play stay).
    for folder in _tutorial_dirs(app):
        shutil.rmtree(folder / RECORDINGS / "sweeps", ignore_errors=True)


def finish(app: Sphinx, exception: Exception | None) -> None:
    """Stop the engine the tutorials started; copy their videos next to their pages."""
    from odyssey_jupyter.local.launch.manage import stop_engine

    stop_engine(Path(os.environ["ODYSSEY_LOCAL_DATA_DIR"]))
    if exception is not None or app.builder.format != "html":
        return
    for folder in _tutorial_dirs(app):
        pages = Path(app.outdir) / folder.relative_to(app.srcdir)
        target = pages / RECORDINGS
        shutil.rmtree(target, ignore_errors=True)
        # Only the jobs the pages show: runs of a tutorial before its last leave theirs.
        shown = set()
        for page in pages.glob("*.html"):
            shown |= set(re.findall(rf"{RECORDINGS}/([\w-]+)/", page.read_text("utf-8")))
        for job in sorted(shown):
            if (folder / RECORDINGS / job).is_dir():
                shutil.copytree(folder / RECORDINGS / job, target / job)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("odyssey-argparse", ArgparseDirective)
    app.add_directive("odyssey-traits", TraitsDirective)
    app.add_directive("odyssey-exceptions", ExceptionsDirective)
    app.add_directive("odyssey-spec-keys", SpecKeysDirective)
    app.add_directive("odyssey-grammar", GrammarDirective)
    app.add_directive("odyssey-openapi", OpenApiDirective)
    app.add_directive("odyssey-api", ApiDirective)
    app.add_object_type("spec-key", "spec-key", "pair: %s; sweep spec key")
    app.connect("builder-inited", prepare_engine)
    app.connect("build-finished", finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
