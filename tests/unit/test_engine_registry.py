"""One list of swap engines: the settings, the command line, the pipeline's factory and `models list` agree with it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import get_args

import pytest

from faceswap_live import model_commands
from faceswap_live.cli import build_parser
from faceswap_live.config import AppConfig, EngineName, SwapConfig, replace
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper
from faceswap_live.engines.registry import ENGINE_NAMES, check_engine_models, create_swap_engine, find_engine
from faceswap_live.errors import ConfigError, ModelError
from faceswap_live.models.store import ModelStore


def _empty_store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "user", tmp_path / "project", tmp_path / "mirror", show_progress=False)


def test_the_settings_accept_exactly_the_registered_engines() -> None:
    assert set(ENGINE_NAMES) == set(get_args(EngineName))
    for name in ENGINE_NAMES:
        assert SwapConfig(engine=name).engine == name  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="'mesh' or 'onnx'"):
        SwapConfig(engine="deepfake")  # type: ignore[arg-type]


def test_the_command_line_offers_the_registered_engines() -> None:
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    engine_flag = next(action for action in commands.choices["swap"]._actions if "--engine" in action.option_strings)
    assert tuple(engine_flag.choices or ()) == ENGINE_NAMES


def test_the_built_in_engine_is_built_without_any_model_file(tmp_path: Path) -> None:
    config = AppConfig()
    check_engine_models(config, _empty_store(tmp_path))
    engine = create_swap_engine(config, _empty_store(tmp_path))
    try:
        assert isinstance(engine, MeshFaceSwapper)
    finally:
        engine.close()


def test_the_neural_engine_without_its_model_says_how_to_fetch_it(tmp_path: Path) -> None:
    config = replace(AppConfig(), swap=replace(AppConfig().swap, engine="onnx"))
    with pytest.raises(ModelError, match="models fetch inswapper_128 --accept-licence"):
        check_engine_models(config, _empty_store(tmp_path))
    with pytest.raises(ModelError, match="models fetch inswapper_128 --accept-licence"):
        create_swap_engine(config, _empty_store(tmp_path))


def test_models_list_names_the_engines_each_model_serves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert model_commands.list_models(_empty_store(tmp_path)) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert "ENGINES" in rows["NAME"]
    assert "mesh, onnx" in rows["face_landmarker"]
    assert " onnx " in rows["inswapper_128"] and "mesh" not in rows["inswapper_128"]
    assert " onnx " in rows["arcface_w600k_r50"]
    for name in find_engine("onnx").model_names:
        assert name in rows
    assert {"face_landmarker"} == model_commands.REQUIRED_MODELS
