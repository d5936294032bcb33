"""Settings: validation with readable errors, TOML round trip, tolerance of old/new files."""

import dataclasses
from pathlib import Path

import pytest

from faceswap_live.config import AppConfig, CaptureConfig, SwapConfig, load_config, save_config
from faceswap_live.errors import ConfigError


def test_bad_values_are_refused_with_a_message_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="Frame rate"):
        CaptureConfig(fps=0)
    with pytest.raises(ConfigError, match="engine"):
        SwapConfig(engine="magic")  # type: ignore[arg-type]


def test_settings_survive_a_save_and_load(tmp_path: Path) -> None:
    config = dataclasses.replace(AppConfig(), swap=SwapConfig(mask_feather=0.2, eyes_from_user=True))
    path = save_config(config, tmp_path / "config.toml")
    assert load_config(path) == config


def test_missing_file_gives_defaults_and_unknown_keys_are_ignored(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.toml") == AppConfig()
    path = tmp_path / "config.toml"
    path.write_text("[swap]\nmask_feather = 0.3\nfrom_the_future = 1\n[capture]\nfps = 25.0\n")
    config = load_config(path)
    assert config.swap.mask_feather == 0.3 and config.capture.fps == 25.0


def test_a_broken_settings_file_names_itself(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[swap\n")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)
