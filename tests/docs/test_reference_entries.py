"""Every public name, magic flag, setting, command-line option, spec key, exception and
HTTP operation has its entry in the built reference: the reference cannot drift."""

from __future__ import annotations

import argparse
import enum
import inspect
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml
from support.site import DOCS, inventory, read_page

import odyssey_jupyter
from odyssey_jupyter.cli import build_parsers
from odyssey_jupyter.cli.spec import SPEC_KEYS, SPEC_SCHEMA, read_spec
from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.ipython import magic_args
from odyssey_jupyter.local.launch.options import build_parser as engine_parser
from odyssey_jupyter.session.config import OdysseyJupyter


def _options(parser: argparse.ArgumentParser, program: str) -> Iterator[str]:
    """``program.flag`` for every flag of ``parser`` and of its subcommands (Sphinx's keys)."""
    key = re.sub(r"\s+", "-", program.lstrip("%"))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            children: dict[str, argparse.ArgumentParser] = action.choices
            for name, child in children.items():
                yield from _options(child, f"{program} {name}")
        elif not isinstance(action, argparse._HelpAction):
            yield from (f"{key}.{flag}" for flag in action.option_strings)


def _sections_wanted(value: object) -> list[str]:
    """A function says what it takes and returns; a class what it takes; all show an example."""
    if isinstance(value, type):
        if issubclass(value, enum.Enum) or "__init__" not in vars(value):
            return ["Example"]
        taken = [p for p in inspect.signature(value).parameters if p not in {"self"}]
        return ["Parameters", "Example"] if taken else ["Example"]
    return ["Parameters", "Returns", "Example"]


def _missing(expected: Iterable[str], documented: dict[str, str]) -> list[str]:
    return sorted(set(expected) - set(documented))


def test_every_public_name_has_an_entry_with_parameters_returns_and_an_example(
    site: Path,
) -> None:
    page = site / "reference" / "api.html"
    text = page.read_text(encoding="utf-8")
    ids = read_page(page).ids
    named = {i.removeprefix("odyssey_jupyter."): "" for i in ids}
    assert _missing(odyssey_jupyter.__all__, named) == []
    entries = re.split(r'<dt class="sig sig-object py" id="odyssey_jupyter\.', text)[1:]
    found = {entry.split('"', 1)[0]: entry for entry in entries}
    lacking = []
    for name in odyssey_jupyter.__all__:
        entry = found[name].split('<dt class="sig sig-object py" id=', 1)[0]
        for part in _sections_wanted(getattr(odyssey_jupyter, name)):
            if f"{part}</" not in entry and f">{part}<" not in entry:
                lacking.append(f"{name}: {part}")
    assert lacking == []


def test_every_magic_flag_has_an_entry(site: Path) -> None:
    documented = inventory(site)["std:cmdoption"]
    parsers = [
        magic_args.simulate_parser(),
        magic_args.jobs_parser(),
        magic_args.login_parser(),
        magic_args.local_parser(),
    ]
    expected = [key for parser in parsers for key in _options(parser, parser.prog)]
    assert len(expected) > 20
    assert _missing(expected, documented) == []
    assert all(documented[key].startswith("reference/magics.html") for key in expected)


def test_every_setting_has_an_entry_with_its_help(site: Path) -> None:
    documented = inventory(site)["std:confval"]
    traits = OdysseyJupyter.class_traits(config=True)
    assert _missing([f"OdysseyJupyter.{name}" for name in traits], documented) == []
    text = (site / "reference" / "configuration.html").read_text(encoding="utf-8")
    first_words = {name: " ".join(trait.help.split()[:4]) for name, trait in traits.items()}
    assert [name for name, words in first_words.items() if words not in text] == []


def test_every_command_line_and_engine_option_has_an_entry(site: Path) -> None:
    documented = inventory(site)["std:cmdoption"]
    cli = list(_options(build_parsers()[0], "python -m odyssey_jupyter"))
    engine = list(_options(engine_parser(), "odyssey-local"))
    assert len(cli) > 10 and len(engine) > 20
    assert _missing(cli + engine, documented) == []


def test_every_spec_key_has_an_entry_and_the_example_spec_is_valid(site: Path) -> None:
    assert set(SPEC_SCHEMA) == SPEC_KEYS
    assert _missing(SPEC_KEYS, inventory(site)["std:spec-key"]) == []
    example = read_spec(DOCS / "reference" / "spec.json")
    assert set(example) <= SPEC_KEYS and {"template", "params"} <= set(example)


def _subclasses(cls: type) -> Iterator[type]:
    children: list[type] = cls.__subclasses__()
    for child in children:
        yield child
        yield from _subclasses(child)


def test_every_exception_and_http_operation_has_an_entry(site: Path) -> None:
    tree = (site / "reference" / "exceptions.html").read_text(encoding="utf-8")
    names = {cls.__name__ for cls in _subclasses(OdysseyError)}
    assert len(names) > 10
    assert sorted(name for name in names if f"{name}</" not in tree) == []
    spec = yaml.safe_load((DOCS / "openapi.yaml").read_text(encoding="utf-8"))
    protocol = (site / "reference" / "protocol.html").read_text(encoding="utf-8")
    operations = [
        f"{method.upper()} {route}"
        for route, methods in spec["paths"].items()
        for method in methods
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert [op for op in operations if op not in protocol] == []


def test_troubleshooting_says_what_to_do_about_every_error_class(site: Path) -> None:
    page = (site / "howto" / "troubleshooting.html").read_text(encoding="utf-8")
    terms = set(re.findall(r'<dt><code class="[^"]*"><span class="pre">(\w+)</span>', page))
    names = {cls.__name__ for cls in _subclasses(OdysseyError)}
    assert sorted(names - terms) == []


def test_the_settings_table_names_every_setting_and_no_other() -> None:
    text = (DOCS / "reference" / "configuration.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", text, re.MULTILINE))
    settings = {row for row in rows if not row.startswith("ODYSSEY_")}
    assert settings == set(OdysseyJupyter.class_traits(config=True))


def test_the_timeline_page_shows_every_token_the_parsers_use(site: Path) -> None:
    import html
    import json

    marked = (site / "reference" / "timeline.html").read_text(encoding="utf-8")
    page = html.unescape(re.sub(r"<[^>]+>", "", marked))
    grammar = json.loads(
        (Path(odyssey_jupyter.__file__).parent / "script" / "grammar.json").read_text()
    )
    patterns = [*grammar["fragments"].values(), *grammar["timeline"].values()]
    patterns += list(grammar["patterns"].values())
    assert [p for p in patterns if p not in page] == []
