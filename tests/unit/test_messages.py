"""Help texts and messages name only flags that exist, on the command they are shown for."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

import faceswap_live
from faceswap_live.cli import build_parser, main

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def _commands(parser: argparse.ArgumentParser | None = None, name: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command ("models fetch") by name; "" is faceswap-live itself."""
    parser = parser or build_parser()
    found = {name: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, subparser in action.choices.items():
                found.update(_commands(subparser, f"{name} {sub_name}".strip()))
    return found


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {option for action in parser._actions for option in action.option_strings}


def _strings_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_each_commands_help_names_only_its_own_flags() -> None:
    commands = _commands()
    for name, parser in commands.items():
        foreign = set(FLAG.findall(parser.format_help())) - _flags(parser) - _flags(commands[""])
        assert not foreign, f"faceswap-live {name} --help names flags it does not have"


def test_messages_name_only_flags_the_command_line_has() -> None:
    known = set().union(*(_flags(parser) for parser in _commands().values()))
    stale = {
        f"{path.name}: {flag}"
        for path in Path(faceswap_live.__file__).parent.rglob("*.py")
        for text in _strings_in(path)
        for flag in FLAG.findall(text)
        if flag not in known
    }
    assert not stale


def test_a_command_without_face_mapping_takes_one_target(
    hopper_path: Path, model_mirror_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(model_mirror_dir))
    command = ["bench", "--input", str(hopper_path), "--target", str(hopper_path), "--target", str(hopper_path)]
    assert main([*command, "--consent"]) == 1
    assert capsys.readouterr().err.strip() == "error: bench takes one target face: give --target once."
