"""The neural swap engine against small graphs whose outputs are known exactly.

Colour order and value range, latent maths (emap = last initializer, normalised), paste-back geometry, model checks
(custom file, wrong hash, wrong shape, missing model), fp16 self-check, identity mix and random identity from settings.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto

import faceswap_live.config as settings_module
from faceswap_live.config import AppConfig, OnnxConfig, SwapConfig
from faceswap_live.engines import onnx_setup
from faceswap_live.engines.onnx_setup import check_model_file, create_onnx_engine
from faceswap_live.engines.onnx_swapper import OnnxFaceSwapper, compare_fp16_output, compute_latent
from faceswap_live.errors import ModelError
from faceswap_live.models.store import ModelStore
from faceswap_live.stages.align import align_face, estimate_similarity, template_points, transform_points
from faceswap_live.stages.identity import mix_identities, random_identity
from faceswap_live.types import Box, FaceLandmarks, TargetFace
from onnx_graphs import make_recogniser_graph, make_swap_graph

SETTINGS = SwapConfig()
EMAP = np.random.default_rng(11).standard_normal((512, 512)).astype(np.float32)


@pytest.fixture(autouse=True)
def _no_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        settings_module.MODEL_ENVIRONMENT_VARIABLE,
        settings_module.RECOGNISER_ENVIRONMENT_VARIABLE,
        settings_module.PROVIDER_ENVIRONMENT_VARIABLE,
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("graphs")
    make_swap_graph(folder / "identity.onnx", "identity", emap=EMAP)
    make_swap_graph(folder / "stretch.onnx", "stretch")
    make_swap_graph(folder / "red.onnx", "constant", constant_rgb=(1.0, 0.0, 0.0))
    make_swap_graph(folder / "identity_fp16.onnx", "identity", io_dtype=TensorProto.FLOAT16)
    make_swap_graph(folder / "broken_fp16.onnx", "constant", constant_rgb=(0.0, 1.0, 0.0), io_dtype=TensorProto.FLOAT16)
    make_recogniser_graph(folder / "recogniser.onnx")
    return folder


def _engine(graphs: Path, model: str = "identity.onnx", **options: object) -> OnnxFaceSwapper:
    return OnnxFaceSwapper(graphs / model, graphs / "recogniser.onnx", provider="cpu", **options)  # type: ignore[arg-type]


def _face(center: tuple[float, float], scale: float, angle_degrees: float = 0.0) -> FaceLandmarks:
    """A face whose five keypoints are the ArcFace template rotated, scaled and moved to `center`."""
    template = template_points("arcface", 112) - 56.0
    angle = math.radians(angle_degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    keypoints = (template @ rotation.T * scale + center).astype(np.float32)
    return FaceLandmarks(
        points_px=np.zeros((478, 3), np.float32),
        keypoints_px=keypoints,
        box=Box.around(keypoints).expanded(1.8),
    )


def _target(colour_bgr: tuple[int, int, int]) -> TargetFace:
    image = np.full((300, 300, 3), colour_bgr, np.uint8)
    return TargetFace(image_bgr=image, landmarks=_face((150.0, 150.0), 1.5), name="target")


def _smooth_frame(width: int = 640, height: int = 480) -> np.ndarray:
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    frame = np.empty((height, width, 3), np.float32)
    frame[:, :, 0] = 30 + 180 * x + 0 * y
    frame[:, :, 1] = 40 + 160 * y + 0 * x
    frame[:, :, 2] = 200 - 90 * x * y
    return np.round(frame).astype(np.uint8)


# -- colour order and value range -------------------------------------------------------------------------------------


def test_identity_model_gives_back_the_crop_exactly(graphs: Path) -> None:
    """BGR → RGB 0–1 in and RGB 0–1 → BGR out are exact inverses: an identity model changes no pixel."""
    engine = _engine(graphs)
    engine.set_target(_target((90, 120, 150)))
    crop = np.random.default_rng(1).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    np.testing.assert_array_equal(engine.render_crop(crop), crop)


def test_model_rgb_output_becomes_bgr_pixels(graphs: Path) -> None:
    engine = _engine(graphs, "red.onnx")
    engine.set_target(_target((90, 120, 150)))
    rendered = engine.render_crop(np.zeros((128, 128, 3), np.uint8))
    assert rendered.shape == (128, 128, 3) and rendered.dtype == np.uint8
    assert (rendered == (0, 0, 255)).all()  # pure red in OpenCV's BGR order


def test_values_outside_zero_one_saturate_instead_of_wrapping(graphs: Path) -> None:
    engine = _engine(graphs, "stretch.onnx")
    engine.set_target(_target((90, 120, 150)))
    crop = (np.arange(128 * 128 * 3) % 256).astype(np.uint8).reshape(128, 128, 3)  # every value 0–255
    expected = np.clip(4 * (crop.astype(np.float64) / 255) - 1.4, 0, 1) * 255 + 0.5
    rendered = engine.render_crop(crop)
    np.testing.assert_array_equal(rendered, np.floor(expected).astype(np.uint8))
    assert rendered.min() == 0 and rendered.max() == 255


# -- latent maths -----------------------------------------------------------------------------------------------------


def test_latent_is_the_normalised_embedding_times_emap_normalised_again(graphs: Path) -> None:
    engine = _engine(graphs)
    target = _target((200, 100, 50))
    engine.set_target(target)
    embedding = np.zeros(512)
    embedding[:3] = (np.array([50.0, 100.0, 200.0]) - 127.5) / 127.5  # what the tiny recogniser returns, in RGB
    expected = (embedding / np.linalg.norm(embedding)) @ EMAP.astype(np.float64)
    expected /= np.linalg.norm(expected)
    latent = engine.latent
    assert latent is not None and latent.shape == (1, 512) and latent.dtype == np.float32
    np.testing.assert_allclose(latent[0], expected, atol=1e-4)
    assert np.linalg.norm(latent) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(engine.emap, EMAP)  # the last initializer, not the decoy before it


def test_the_latent_reaches_the_model_source_input(graphs: Path, tmp_path: Path) -> None:
    emap = np.random.default_rng(5).standard_normal((512, 512)).astype(np.float32)
    probe = np.zeros((512, 3), np.float32)
    for channel, index in enumerate((0, 17, 300)):
        probe[index, channel] = 0.4
    model = make_swap_graph(tmp_path / "probe.onnx", "latent_probe", emap=emap, probe=probe)
    engine = OnnxFaceSwapper(model, graphs / "recogniser.onnx", provider="cpu")
    engine.set_target(_target((30, 160, 220)))
    latent = compute_latent(engine.identity_for(_target((30, 160, 220))), emap)[0]
    rendered = engine.render_crop(np.zeros((128, 128, 3), np.uint8))
    expected_rgb = (0.5 + 0.4 * latent[[0, 17, 300]]) * 255
    np.testing.assert_allclose(rendered[64, 64, ::-1], expected_rgb, atol=0.51)
    assert np.ptp(rendered.reshape(-1, 3), axis=0).max() == 0  # one colour everywhere, as the graph says


def test_compute_latent_ignores_embedding_length() -> None:
    embedding = np.random.default_rng(2).standard_normal(512)
    np.testing.assert_allclose(compute_latent(embedding * 40, EMAP), compute_latent(embedding, EMAP), atol=1e-6)


# -- paste-back geometry ----------------------------------------------------------------------------------------------


def test_paste_back_lands_on_the_face_within_a_pixel(graphs: Path) -> None:
    engine = _engine(graphs)
    engine.set_target(_target((90, 120, 150)))
    frame = _smooth_frame()
    face = _face((300.0, 250.0), 1.6, angle_degrees=20.0)
    # A dark dot on the cheek: after frame → crop → model → frame it must come back where it was.
    dot = transform_points(estimate_similarity(template_points("arcface", 112), face.keypoints_px), [[40.0, 75.0]])[0]
    yy, xx = np.mgrid[0:480, 0:640]
    frame[(xx - dot[0]) ** 2 + (yy - dot[1]) ** 2 <= 36] = (0, 0, 0)
    original = frame.copy()

    swapped = engine.swap_face(frame, face, None, SETTINGS)

    assert swapped is not None
    np.testing.assert_array_equal(frame, original)  # the engine never draws into the frame itself
    region = swapped.region
    assert 0 <= region.x0 < region.x1 <= 640 and 0 <= region.y0 < region.y1 <= 480
    assert region.area < 0.5 * 640 * 480  # only the face's neighbourhood is computed
    assert swapped.face_bgr.shape == (region.height, region.width, 3)
    assert swapped.coverage.shape == (region.height, region.width)
    darkness = 255.0 - swapped.face_bgr.astype(np.float64).mean(axis=2)
    window = (slice(int(dot[1]) - 12 - region.y0, int(dot[1]) + 12 - region.y0),
              slice(int(dot[0]) - 12 - region.x0, int(dot[0]) + 12 - region.x0))  # fmt: skip
    weights = np.clip(darkness[window] - 150.0, 0, None)
    ys, xs = np.mgrid[window]
    found = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum() + (region.x0, region.y0)
    assert np.hypot(*(found - dot)) < 1.0
    # Where the crop fully covers the frame, the identity model gives the frame back (smooth image: tiny resampling).
    inside = swapped.coverage > 0.999
    reference = original[region.y0 : region.y1, region.x0 : region.x1]
    difference = np.abs(swapped.face_bgr.astype(int) - reference.astype(int))[inside]
    assert difference.mean() < 1.5
    # The rotated crop does not fill its bounding box: no coverage in the corners, a soft edge towards them.
    assert swapped.coverage[0, 0] == 0 and swapped.coverage[-1, -1] == 0
    assert 0.2 < inside.mean() < 0.9 and swapped.coverage.min() >= 0 and swapped.coverage.max() <= 1


def test_pipeline_crop_and_own_crop_give_the_same_result(graphs: Path) -> None:
    engine = _engine(graphs)
    engine.set_target(_target((90, 120, 150)))
    frame = _smooth_frame()
    face = _face((320.0, 240.0), 1.2, angle_degrees=-8.0)
    aligned = align_face(frame, face.keypoints_px, engine.alignment.template, engine.alignment.size)
    with_crop = engine.swap_face(frame, face, aligned, SETTINGS)
    without = engine.swap_face(frame, face, None, SETTINGS)
    assert with_crop is not None and without is not None
    assert with_crop.region == without.region
    np.testing.assert_array_equal(with_crop.face_bgr, without.face_bgr)


def test_faces_at_and_beyond_the_edge(graphs: Path) -> None:
    engine = _engine(graphs)
    frame = _smooth_frame()
    assert engine.swap_face(frame, _face((320.0, 240.0), 1.2), None, SETTINGS) is None  # no target yet
    engine.set_target(_target((90, 120, 150)))
    at_edge = engine.swap_face(frame, _face((20.0, 460.0), 1.5), None, SETTINGS)
    assert at_edge is not None and at_edge.region.x0 == 0 and at_edge.region.y1 == 480
    assert at_edge.face_bgr.shape[:2] == at_edge.coverage.shape
    assert engine.swap_face(frame, _face((-900.0, 240.0), 1.0), None, SETTINGS) is None


# -- model files ------------------------------------------------------------------------------------------------------


def _config(**onnx: object) -> AppConfig:
    return AppConfig(onnx=OnnxConfig(provider="cpu", **onnx))  # type: ignore[arg-type]


def test_cpu_provider_is_reported(graphs: Path) -> None:
    engine = _engine(graphs)
    assert engine.provider == "CPUExecutionProvider"
    assert engine.provider_label == "CPU"


def test_custom_model_is_used_with_an_unknown_hash_notice(graphs: Path) -> None:
    engine = create_onnx_engine(
        _config(model_path=str(graphs / "identity.onnx"), recogniser_path=str(graphs / "recogniser.onnx"))
    )
    assert engine.notice is not None
    assert "identity.onnx" in engine.notice and "unknown" in engine.notice


def test_a_file_named_like_the_registry_model_with_the_wrong_hash_is_refused(graphs: Path, tmp_path: Path) -> None:
    impostor = tmp_path / "inswapper_128.onnx"
    impostor.write_bytes((graphs / "identity.onnx").read_bytes())
    with pytest.raises(ModelError) as error:
        create_onnx_engine(_config(model_path=str(impostor), recogniser_path=str(graphs / "recogniser.onnx")))
    assert "SHA-256" in str(error.value)
    assert "faceswap-live models fetch inswapper_128 --accept-licence" in str(error.value)
    recogniser_impostor = tmp_path / "w600k_r50.onnx"
    recogniser_impostor.write_bytes((graphs / "recogniser.onnx").read_bytes())
    with pytest.raises(ModelError, match="arcface_w600k_r50"):
        check_model_file(recogniser_impostor, onnx_setup.find_entry("arcface_w600k_r50"))


def test_missing_model_explains_the_fetch_command(tmp_path: Path) -> None:
    store = ModelStore(
        user_dir=tmp_path / "user",
        project_dir=tmp_path / "project",
        mirror_dir=tmp_path / "mirror",
        show_progress=False,
    )
    with pytest.raises(ModelError) as error:
        create_onnx_engine(_config(), store)
    message = str(error.value)
    assert "faceswap-live models fetch inswapper_128 --accept-licence" in message
    assert "licence" in message  # the licence is named before anything is downloaded
    assert not (tmp_path / "user" / "inswapper_128.onnx").exists()


def test_missing_custom_file_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        create_onnx_engine(_config(model_path=str(tmp_path / "mine.onnx")))


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"target_shape": (1, 3, 256, 256)}, "target float32\\[1,3,256,256\\]"),
        ({"source_shape": (1, 256)}, "source float32\\[1,256\\]"),
        ({"target_name": "image"}, "image float32"),
    ],
)
def test_custom_model_with_the_wrong_inputs_is_refused(
    graphs: Path, tmp_path: Path, options: dict[str, object], complaint: str
) -> None:
    model = make_swap_graph(tmp_path / "custom.onnx", "constant", **options)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="not an inswapper-format model") as error:
        create_onnx_engine(_config(model_path=str(model), recogniser_path=str(graphs / "recogniser.onnx")))
    assert error.match(complaint)


def test_custom_model_without_a_512_square_emap_is_refused(graphs: Path, tmp_path: Path) -> None:
    model = make_swap_graph(tmp_path / "custom.onnx", emap=np.zeros((512, 256), np.float32))
    with pytest.raises(ModelError, match="512×512"):
        OnnxFaceSwapper(model, graphs / "recogniser.onnx", provider="cpu")


def test_environment_variables_point_the_engine_at_other_graphs(graphs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings_module.MODEL_ENVIRONMENT_VARIABLE, str(graphs / "red.onnx"))
    monkeypatch.setenv(settings_module.RECOGNISER_ENVIRONMENT_VARIABLE, str(graphs / "recogniser.onnx"))
    monkeypatch.setenv(settings_module.PROVIDER_ENVIRONMENT_VARIABLE, "cpu")
    engine = create_onnx_engine(settings_module.apply_environment(AppConfig()))
    engine.set_target(_target((1, 2, 3)))
    assert (engine.render_crop(np.zeros((128, 128, 3), np.uint8)) == (0, 0, 255)).all()


def test_a_flag_beats_the_environment_which_beats_the_settings_file(
    graphs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flag > environment > settings file > default, for the model file as for every setting the CLI takes."""
    from faceswap_live.cli import _load_config, build_parser

    settings = tmp_path / "settings.toml"
    settings.write_text(f'[onnx]\nmodel_path = "{graphs / "identity.onnx"}"\nprovider = "cuda"\n')
    monkeypatch.setenv(settings_module.MODEL_ENVIRONMENT_VARIABLE, str(graphs / "red.onnx"))
    monkeypatch.setenv(settings_module.PROVIDER_ENVIRONMENT_VARIABLE, "cpu")
    base = [
        "swap",
        "--engine",
        "onnx",
        "--config",
        str(settings),
        "--target",
        "t.jpg",
        "--input",
        "i.mp4",
        "--output",
        "o.mp4",
    ]
    from_environment = _load_config(build_parser().parse_args(base)).onnx
    assert (from_environment.model_path, from_environment.provider) == (str(graphs / "red.onnx"), "cpu")
    flagged = base + ["--onnx-model", str(graphs / "stretch.onnx"), "--recogniser-model", "rec.onnx"]
    from_flag = _load_config(build_parser().parse_args(flagged)).onnx
    assert (from_flag.model_path, from_flag.recogniser_path) == (str(graphs / "stretch.onnx"), "rec.onnx")
    monkeypatch.delenv(settings_module.MODEL_ENVIRONMENT_VARIABLE)
    assert _load_config(build_parser().parse_args(base)).onnx.model_path == str(graphs / "identity.onnx")


# -- fp16 -------------------------------------------------------------------------------------------------------------


def test_fp16_model_that_agrees_with_fp32_is_used(graphs: Path) -> None:
    engine = _engine(graphs, fp16_model_path=graphs / "identity_fp16.onnx")
    engine.set_target(_target((90, 120, 150)))
    assert engine.uses_fp16
    crop = np.random.default_rng(4).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    assert np.abs(engine.render_crop(crop).astype(int) - crop).max() <= 1  # float16 keeps ~3 decimal digits
    assert engine.notice is None or "float16" not in engine.notice


def test_fp16_model_that_breaks_faces_is_refused_with_a_reason(graphs: Path) -> None:
    engine = _engine(graphs, fp16_model_path=graphs / "broken_fp16.onnx")
    engine.set_target(_target((90, 120, 150)))
    assert not engine.uses_fp16
    assert engine.notice is not None and "float16 swap model was refused" in engine.notice
    crop = np.random.default_rng(4).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    np.testing.assert_array_equal(engine.render_crop(crop), crop)  # still the float32 model


def test_fp16_requested_without_a_file_says_so(graphs: Path, tmp_path: Path) -> None:
    model = tmp_path / "mine.onnx"
    model.write_bytes((graphs / "identity.onnx").read_bytes())
    engine = create_onnx_engine(
        _config(model_path=str(model), recogniser_path=str(graphs / "recogniser.onnx"), fp16=True)
    )
    assert engine.notice is not None and "mine_fp16.onnx does not exist; running float32" in engine.notice
    assert not engine.uses_fp16


def test_compare_fp16_output_limits() -> None:
    reference = np.full((3, 8, 8), 0.5)
    assert compare_fp16_output(reference, reference + 0.001)[0]
    assert not compare_fp16_output(reference, reference + 0.05)[0]
    broken = reference.copy()
    broken[0, 0, 0] = np.nan
    agrees, reason = compare_fp16_output(reference, broken)
    assert not agrees and "NaN" in reason


# -- identity from the settings ---------------------------------------------------------------------------------------


def test_random_identity_replaces_the_target_when_its_weight_is_all(graphs: Path) -> None:
    config = _config(
        model_path=str(graphs / "identity.onnx"),
        recogniser_path=str(graphs / "recogniser.onnx"),
        target_weight=0.0,
        random_identity_weight=1.0,
        random_identity_seed=42,
    )
    engine = create_onnx_engine(config)
    engine.set_target(_target((90, 120, 150)))
    first = engine.latent
    engine.set_target(_target((10, 240, 10)))
    assert first is not None
    np.testing.assert_array_equal(engine.latent, first)  # the target photo no longer matters
    np.testing.assert_allclose(first, compute_latent(random_identity(42), EMAP), atol=1e-6)


def test_random_identity_mixed_half_and_half_with_the_target(graphs: Path) -> None:
    config = _config(
        model_path=str(graphs / "identity.onnx"),
        recogniser_path=str(graphs / "recogniser.onnx"),
        random_identity_weight=1.0,
        random_identity_seed=3,
    )
    engine = create_onnx_engine(config)
    target = _target((90, 120, 150))
    engine.set_target(target)
    expected = mix_identities([(engine.encoder.embed(target), 1.0), (random_identity(3), 1.0)])
    np.testing.assert_allclose(engine.latent, compute_latent(expected, EMAP), atol=1e-6)


def test_identity_mix_from_photos_in_the_settings(
    graphs: Path, model_mirror_dir: Path, tmp_path: Path, hopper_path: Path, astronaut_path: Path
) -> None:
    from faceswap_live.inputs.target_photo import load_target_face

    store = ModelStore(user_dir=tmp_path / "user", project_dir=tmp_path / "p", mirror_dir=model_mirror_dir)
    config = _config(
        model_path=str(graphs / "identity.onnx"),
        recogniser_path=str(graphs / "recogniser.onnx"),
        target_weight=1.0,
        identity_mix=((str(hopper_path), 0.5),),
    )
    engine = create_onnx_engine(config, store)
    landmark_model = store.fetch("face_landmarker")
    astronaut = load_target_face(astronaut_path, landmark_model)
    hopper = load_target_face(hopper_path, landmark_model)
    engine.set_target(astronaut)
    expected = mix_identities([(engine.encoder.embed(astronaut), 1.0), (engine.encoder.embed(hopper), 0.5)])
    np.testing.assert_allclose(engine.latent, compute_latent(expected, EMAP), atol=1e-6)
    assert not np.allclose(engine.latent, compute_latent(engine.encoder.embed(astronaut), EMAP), atol=1e-3)
