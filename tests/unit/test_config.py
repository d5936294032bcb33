"""Settings: validation with readable errors, TOML round trip, tolerance of old/new files."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from faceswap_live.config import AppConfig, CaptureConfig, SmoothingConfig, SwapConfig, load_config, save_config
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


def test_the_settings_file_keeps_only_what_the_user_changed_so_better_defaults_reach_them(tmp_path: Path) -> None:
    config = dataclasses.replace(AppConfig(), swap=SwapConfig(mask_feather=0.2))
    path = save_config(config, tmp_path / "config.toml")
    assert tomllib.loads(path.read_text()) == {"version": 2, "swap": {"mask_feather": 0.2}}
    assert load_config(path) == config


def test_a_file_from_an_earlier_version_takes_todays_defaults_for_values_it_only_held_as_defaults(
    tmp_path: Path,
) -> None:
    """Earlier versions wrote every setting; their smoothing defaults (beta 4, derivative cut-off 1 Hz) trailed a
    quick head by a few per cent of the face. A value the user changed stays; in a file of this version, all stay."""
    path = tmp_path / "config.toml"
    path.write_text(
        "[smoothing]\nmin_cutoff_hz = 0.5\nbeta = 4.0\nderivative_cutoff_hz = 1.0\n[swap]\nmask_feather = 0.2\n"
    )
    loaded = load_config(path)
    assert loaded.smoothing == SmoothingConfig(min_cutoff_hz=0.5)
    assert loaded.smoothing.beta == SmoothingConfig().beta != 4.0
    assert loaded.swap.mask_feather == 0.2
    path.write_text("version = 2\n[smoothing]\nbeta = 4.0\n")
    assert load_config(path).smoothing.beta == 4.0
