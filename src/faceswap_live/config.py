"""Settings as frozen dataclasses, validated on construction, saved as TOML in the user's config dir.

The GUI and the CLI build a new `AppConfig` for every change and hand it to the runner; the processing thread reads it
once per frame, so a change is never half-applied.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, cast, get_args

import platformdirs
import tomli_w

from faceswap_live.errors import ConfigError

logger = logging.getLogger(__name__)

APP_NAME = "faceswap-live"
MAX_CONFIG_BYTES = 1_000_000
"""A settings file is a few kB; anything this big is the wrong file (or /dev/zero)."""
SETTINGS_VERSION = 2
"""Settings files hold only what differs from the defaults (version 2), so a better default reaches everyone who
never changed that setting. Version 1 files (no version key) held every setting."""
FORMER_DEFAULTS: Final[dict[str, dict[str, object]]] = {"smoothing": {"beta": 4.0, "derivative_cutoff_hz": 1.0}}
"""Defaults that have since changed, by section: in a version 1 file a value equal to its former default was written
because it was the default, not chosen, so the current default applies instead."""
MODEL_ENVIRONMENT_VARIABLE = "FACESWAP_LIVE_ONNX_MODEL"
RECOGNISER_ENVIRONMENT_VARIABLE = "FACESWAP_LIVE_ONNX_RECOGNISER"
PROVIDER_ENVIRONMENT_VARIABLE = "FACESWAP_LIVE_ONNX_PROVIDER"
"""Override the neural engine's files / provider without a settings file (benchmarks on test graphs)."""

EngineName = Literal["mesh", "onnx"]
"""Swap engine names; engines/registry.py holds what each one is."""
BlendMode = Literal["alpha", "poisson"]
FaceSelection = Literal["all", "largest"]


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class CaptureConfig:
    """Where frames come from: a camera index ("0"), a device path ("/dev/video2"), a video file or an image."""

    source: str = "0"
    width: int = 640
    height: int = 480
    fps: float = 30.0
    loop: bool = True
    """Video files start again at the end (a file then behaves like a camera)."""
    pace: bool = True
    """Video files are delivered at their own frame rate, like a camera; off = as fast as they decode."""

    def __post_init__(self) -> None:
        _check(
            16 <= self.width <= 7680 and 16 <= self.height <= 4320,
            f"Unsupported resolution {self.width}x{self.height}.",
        )
        _check(0 < self.fps <= 240, f"Frame rate must be between 1 and 240, not {self.fps}.")


@dataclass(frozen=True)
class LandmarkConfig:
    max_faces: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5

    def __post_init__(self) -> None:
        _check(1 <= self.max_faces <= 8, f"Faces to track must be between 1 and 8, not {self.max_faces}.")
        for value in (self.min_detection_confidence, self.min_tracking_confidence):
            _check(0.0 <= value <= 1.0, f"Confidence must be between 0 and 1, not {value}.")


@dataclass(frozen=True)
class SmoothingConfig:
    """One Euro filters on the landmarks, separately for head pose and expression.

    Head pose (position, size, in-plane rotation) is smoothed strongly, so a still head gives a still face; the
    expression (the mesh relative to the head: lips, lids, brows) lightly, so the mouth follows without lag.
    Lower cut-off = steadier; higher beta = less lag when moving (per face size per second of motion).
    """

    enabled: bool = True
    min_cutoff_hz: float = 1.0
    beta: float = 12.0
    derivative_cutoff_hz: float = 2.0
    """beta and derivative_cutoff_hz of the head pose, chosen on talking clips not used for evaluation: a head that
    jumps (a nod, a jerky video) is followed within a frame or two instead of trailing it by a few per cent of the
    face."""
    expression_min_cutoff_hz: float = 1.0
    expression_beta: float = 60.0

    def __post_init__(self) -> None:
        _check(
            min(self.min_cutoff_hz, self.derivative_cutoff_hz, self.expression_min_cutoff_hz) > 0,
            "Smoothing cut-offs must be positive.",
        )
        _check(min(self.beta, self.expression_beta) >= 0, "Smoothing beta must not be negative.")


@dataclass(frozen=True)
class SwapConfig:
    enabled: bool = True
    engine: EngineName = "mesh"
    faces: FaceSelection = "all"
    mask_feather: float = 0.08
    """Feather width as a fraction of the face size."""
    colour_match: bool = True
    """The swapped face takes the user's skin tone, light and shade (the photo's own taken out); off: the photo's as
    it is."""
    mouth_from_user: bool = True
    eyes_from_user: bool = False
    blend_mode: BlendMode = "alpha"
    hold_frames: int = 5
    """Frames to keep showing the last swap when the face is briefly lost (a hand crossing the face)."""
    min_face_px: int = 40
    """Faces smaller than this (mesh box side, frame pixels) are left as they are: a small background face."""
    face_size_hysteresis: float = 0.2
    """A face being swapped stays swapped until it shrinks this fraction below min_face_px, so a face near the
    limit does not flicker between swapped and real."""
    min_skin_share: float = 0.4
    """A face is swapped only if at least this share of its cheek, forehead and nose points is skin coloured: a face
    mesh that drifted onto a shirt or a wall is left alone (0 = no check)."""

    def __post_init__(self) -> None:
        _check(
            self.engine in get_args(EngineName),
            f"Unknown engine {self.engine!r}: use {' or '.join(repr(name) for name in get_args(EngineName))}.",
        )
        _check(self.faces in ("all", "largest"), f"Unknown face selection {self.faces!r}.")
        _check(self.blend_mode in ("alpha", "poisson"), f"Unknown blend mode {self.blend_mode!r}.")
        _check(
            0.0 <= self.mask_feather <= 0.5,
            f"Mask feather must be between 0 and 0.5, not {self.mask_feather}.",
        )
        _check(0 <= self.hold_frames <= 60, f"Hold frames must be between 0 and 60, not {self.hold_frames}.")
        _check(0 <= self.min_face_px <= 2000, f"Minimum face size must be between 0 and 2000, not {self.min_face_px}.")
        _check(
            0.0 <= self.face_size_hysteresis < 1.0,
            f"Face size hysteresis must be between 0 and 1, not {self.face_size_hysteresis}.",
        )
        _check(0.0 <= self.min_skin_share <= 1.0, f"Skin share must be between 0 and 1, not {self.min_skin_share}.")


@dataclass(frozen=True)
class OutputConfig:
    """Where swapped frames go besides the preview. Empty strings mean "automatic" / "none" (TOML has no null)."""

    virtual_camera: bool = False
    virtual_camera_backend: str = ""
    """"" = try every backend (v4l2loopback on Linux; obs, unitycapture on Windows; obs on macOS)."""
    virtual_camera_device: str = ""
    """"" = the first free device, else e.g. "/dev/video10" or "OBS Virtual Camera"."""
    virtual_camera_width: int = 0
    virtual_camera_height: int = 0
    """The virtual camera's picture size; 0 = the input's size (frames are letterboxed into it)."""
    stream: bool = False
    stream_host: str = "127.0.0.1"
    """Anything but loopback makes the stream visible to the network: only on explicit request."""
    stream_port: int = 8765
    """0 = any free port."""
    stream_quality: int = 80
    """JPEG quality 1–100."""
    record_path: str = ""
    """"" = no recording; else an .mp4 file to write."""
    record_audio_device: str = ""
    """"" = video only."""

    def __post_init__(self) -> None:
        _check(0 <= self.stream_port <= 65535, f"Stream port must be between 0 and 65535, not {self.stream_port}.")
        _check(1 <= self.stream_quality <= 100, f"JPEG quality must be between 1 and 100, not {self.stream_quality}.")
        _check(
            (self.virtual_camera_width, self.virtual_camera_height) == (0, 0)
            or (16 <= self.virtual_camera_width <= 7680 and 16 <= self.virtual_camera_height <= 4320),
            f"Unsupported virtual camera size {self.virtual_camera_width}x{self.virtual_camera_height}.",
        )


@dataclass(frozen=True)
class LowLightConfig:
    """Low-light camera boost (stages/low_light.py): brightens a dark camera picture before landmarks and swap."""

    enabled: bool = False
    target_luma: float = 0.4
    """Frames darker than this mean luminance (0–1) are lifted towards it; brighter ones are left alone."""
    clahe_clip: float = 0.0
    """Local contrast boost after the lift (CLAHE clip limit, e.g. 1–2); 0 = gamma only, the default: on dark test
    clips CLAHE lowered the landmark error a little more but also lost a face the gamma kept (BENCHMARKS.md)."""
    smoothing: float = 0.15
    """How quickly the gamma follows the picture's brightness per frame (0–1]: lower = steadier, no flicker."""

    def __post_init__(self) -> None:
        _check(0.1 <= self.target_luma <= 0.8, f"Low-light target must be between 0.1 and 0.8, not {self.target_luma}.")
        _check(0 <= self.clahe_clip <= 10, f"Low-light contrast must be between 0 and 10, not {self.clahe_clip}.")
        _check(0 < self.smoothing <= 1, f"Low-light smoothing must be in (0, 1], not {self.smoothing}.")


ProviderPreference = Literal["auto", "cuda", "tensorrt", "cpu"]


@dataclass(frozen=True)
class OnnxConfig:
    """The neural swap engine ("onnx"): which model files, where they run, and whose identity it renders.

    Empty strings mean "the registry file from the model store" (TOML has no null).
    """

    model_path: str = ""
    """A custom inswapper-format swap model (.onnx); "" = inswapper_128 from the model store."""
    recogniser_path: str = ""
    """A custom ArcFace recogniser (.onnx, [N,3,112,112] → [N,512]); "" = arcface_w600k_r50 from the model store."""
    provider: ProviderPreference = "auto"
    """"auto" = TensorRT/CUDA when this onnxruntime can use them, else CPU (with a notice); or force one."""
    fp16: bool = False
    """Use a float16 swap model, checked against float32 on a test crop first (refused if it differs too much)."""
    fp16_model_path: str = ""
    """The float16 model; "" = `<model name>_fp16.onnx` beside the float32 model."""
    target_weight: float = 1.0
    """Weight of the chosen target face in the identity mix."""
    identity_mix: tuple[tuple[str, float], ...] = ()
    """More identities blended in: (photo or folder of photos of one person, weight)."""
    random_identity_weight: float = 0.0
    """Weight of a random identity (no real person's face) in the mix; 0 = none."""
    random_identity_seed: int = 0
    """The same seed gives the same random identity again."""

    def __post_init__(self) -> None:
        _check(
            self.provider in ("auto", "cuda", "tensorrt", "cpu"),
            f"Unknown provider {self.provider!r}: use auto, cuda, tensorrt or cpu.",
        )
        # TOML gives lists; keep tuples so the section stays hashable and compares equal after a save/load.
        try:
            mix = tuple((str(source), float(weight)) for source, weight in self.identity_mix)
        except (TypeError, ValueError) as error:
            raise ConfigError("identity_mix must be a list of [photo or folder, weight] pairs.") from error
        object.__setattr__(self, "identity_mix", mix)
        weights = [self.target_weight, self.random_identity_weight, *(weight for _, weight in mix)]
        _check(all(weight >= 0 for weight in weights), "Identity weights must not be negative.")
        _check(sum(weights) > 0, "At least one identity weight must be above 0.")


LabelPosition = Literal["bottom-right", "bottom-left", "top-right", "top-left"]


@dataclass(frozen=True)
class MarkingConfig:
    """The visible "AI-modified" label and the invisible watermark put on every output frame and file.

    Both are on by default. Turning the label off is a deliberate act: `label_enabled = false` in the settings file
    or the CLI flag that says the user understands; never a default.
    """

    label_enabled: bool = True
    label_text: str = "AI-modified"
    label_position: LabelPosition = "bottom-right"
    label_scale: float = 0.04
    """Text height as a fraction of the frame height (0.04 = 19 px at 480 lines)."""
    watermark_enabled: bool = True
    watermark_strength: float = 6.0
    """Peak luma change in grey levels in textured areas (flat areas get 15 % of it); 6 ≈ 38 dB PSNR. Lower is less
    robust to re-encoding and editing."""

    def __post_init__(self) -> None:
        _check(
            self.label_position in ("bottom-right", "bottom-left", "top-right", "top-left"),
            f"Unknown label position {self.label_position!r}: use bottom-right, bottom-left, top-right or top-left.",
        )
        _check(0.01 <= self.label_scale <= 0.2, f"Label size must be between 0.01 and 0.2, not {self.label_scale}.")
        _check(bool(self.label_text.strip()), "The label text must not be empty.")
        _check(
            0.5 <= self.watermark_strength <= 12.0,
            f"Watermark strength must be between 0.5 and 12, not {self.watermark_strength}.",
        )


@dataclass(frozen=True)
class AppConfig:
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    landmarks: LandmarkConfig = field(default_factory=LandmarkConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    swap: SwapConfig = field(default_factory=SwapConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    onnx: OnnxConfig = field(default_factory=OnnxConfig)
    marking: MarkingConfig = field(default_factory=MarkingConfig)
    low_light: LowLightConfig = field(default_factory=LowLightConfig)


SectionT = TypeVar("SectionT")


def replace(section: SectionT, **changes: Any) -> SectionT:
    """A copy of a frozen config section with some fields changed (validated again)."""
    return dataclasses.replace(section, **changes)  # type: ignore[type-var]


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def config_to_dict(config: AppConfig) -> dict[str, Any]:
    """The settings that differ from the defaults, by section, with the settings file's version."""
    defaults = dataclasses.asdict(AppConfig())
    changed: dict[str, Any] = {"version": SETTINGS_VERSION}
    for section, values in dataclasses.asdict(config).items():
        different = {key: value for key, value in values.items() if value != defaults[section][key]}
        if different:
            changed[section] = different
    return changed


def config_from_dict(data: dict[str, Any]) -> AppConfig:
    """Build a config from nested dicts; unknown keys are ignored (older or newer files still load), and in a
    version 1 file a value equal to its former default gives way to today's (FORMER_DEFAULTS)."""
    if data.get("version", 1) == 1:
        data = _without_former_defaults(data)
    sections: dict[str, Any] = {}
    for top in dataclasses.fields(AppConfig):
        section_type = cast("type[Any]", top.default_factory)  # every section field has a default factory
        raw = data.get(top.name, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"Setting section [{top.name}] must be a table.")
        known = {f.name for f in dataclasses.fields(section_type)}
        unknown = set(raw) - known
        if unknown:
            logger.warning("Ignoring unknown settings in [%s]: %s", top.name, ", ".join(sorted(unknown)))
        try:
            sections[top.name] = section_type(**{k: v for k, v in raw.items() if k in known})
        except TypeError as error:
            raise ConfigError(f"Bad setting in [{top.name}]: {error}") from error
    return AppConfig(**sections)


def _without_former_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A version 1 file's settings less the values that were only its version's defaults (FORMER_DEFAULTS)."""
    kept = dict(data)
    for section, former in FORMER_DEFAULTS.items():
        raw = data.get(section)
        if isinstance(raw, dict):
            kept[section] = {key: value for key, value in raw.items() if key not in former or former[key] != value}
    return kept


def load_config(path: Path | None = None, must_exist: bool = False) -> AppConfig:
    """Read settings; a missing file gives the defaults, a broken one raises ConfigError naming the file.

    `must_exist`: a path the user named (--config): missing is an error too, not a silent fall-back to defaults.
    """
    path = path or default_config_path()
    if not path.exists():
        if must_exist:
            raise ConfigError(f"Settings file {path} does not exist; check the --config path.")
        return AppConfig()
    try:
        if not path.is_file():
            raise ConfigError(f"Settings file {path} is not a regular file; --config takes a .toml file.")
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"Settings file {path} is too large to be a settings file; check the --config path.")
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        reason = "it is not UTF-8 text" if isinstance(error, UnicodeDecodeError) else str(error)
        raise ConfigError(
            f"Could not read settings file {path}: {reason}. Fix or delete it to start from defaults."
        ) from error
    return config_from_dict(data)


def apply_environment(config: AppConfig, environment: Mapping[str, str] | None = None) -> AppConfig:
    """The settings with the environment's overrides applied (they beat the settings file, and flags beat them).

    Precedence, strongest first: command-line flag > environment variable > settings file > default.
    FACESWAP_LIVE_ONNX_MODEL / _RECOGNISER / _PROVIDER set [onnx] model_path / recogniser_path / provider.
    """
    environment = os.environ if environment is None else environment
    changes: dict[str, str] = {}
    for variable, field_name in (
        (MODEL_ENVIRONMENT_VARIABLE, "model_path"),
        (RECOGNISER_ENVIRONMENT_VARIABLE, "recogniser_path"),
        (PROVIDER_ENVIRONMENT_VARIABLE, "provider"),
    ):
        value = environment.get(variable, "").strip()
        if value:
            changes[field_name] = value.lower() if field_name == "provider" else value
    if not changes:
        return config
    try:
        return dataclasses.replace(config, onnx=replace(config.onnx, **changes))
    except ConfigError as error:
        raise ConfigError(f"{error} (from the environment: {', '.join(sorted(changes))})") from error


def save_config(config: AppConfig, path: Path | None = None) -> Path:
    """Write settings atomically (a crash mid-write never leaves a half file)."""
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".toml.tmp")
    temporary.write_text(tomli_w.dumps(config_to_dict(config)), encoding="utf-8")
    temporary.replace(path)
    return path
