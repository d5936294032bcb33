"""The command line's face options with the built-in engine: --mix morphs, --map-faces, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.cli import main


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_mirror_dir: Path) -> None:
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(model_mirror_dir))


def _swap(tmp_path: Path, name: str, *options: str) -> np.ndarray:
    output = tmp_path / f"{name}.png"
    assert main(["swap", "--consent", "--output", str(output), *options]) == 0
    image = cv2.imread(str(output))
    assert image is not None
    return image


def test_mix_morphs_in_the_built_in_engine_and_a_zero_weight_changes_nothing(
    hopper_path: Path, astronaut_path: Path, faces_dir: Path, tmp_path: Path
) -> None:
    user = faces_dir / "portraits" / "p08_1.jpg"
    common = ("--engine", "mesh", "--input", str(user), "--target", str(hopper_path))
    alone = _swap(tmp_path, "alone", *common)
    zero = _swap(tmp_path, "zero", *common, "--mix", f"{astronaut_path}:0")
    half = _swap(tmp_path, "half", *common, "--mix", f"{astronaut_path}:1")
    assert np.array_equal(alone, zero)  # weights (1, 0): exactly the first face
    assert np.abs(alone.astype(np.int16) - half).mean() > 1.0  # the astronaut really is blended in


def test_several_targets_need_a_mapping_and_unsupported_options_are_refused_clearly(
    hopper_path: Path, astronaut_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.png"
    code = main(
        ["swap", "--consent", "--target", str(hopper_path), "--target", str(astronaut_path), "--input",
         str(hopper_path), "--output", str(output)]
    )  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not output.exists()
    assert error[-1].startswith("error:") and "--map-faces" in error[-1]
    code = main(
        ["swap", "--consent", "--engine", "mesh", "--target", str(hopper_path), "--mix", f"{tmp_path}:0.5",
         "--input", str(hopper_path), "--output", str(output)]
    )  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not output.exists()
    assert "folder" in error[-1] and "Traceback" not in "\n".join(error)
    code = main(
        ["swap", "--consent", "--engine", "mesh", "--fp16", "--target", str(hopper_path), "--input",
         str(hopper_path), "--output", str(output)]
    )  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not output.exists()
    assert error[-1] == "error: --fp16 applies only to the neural engine; add --engine onnx."
    code = main(
        ["swap", "--consent", "--engine", "mesh", "--recogniser-model", str(tmp_path / "arcface.onnx"), "--target",
         str(hopper_path), "--input", str(hopper_path), "--output", str(output)]
    )  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not output.exists()
    assert error[-1] == "error: --recogniser-model applies only to the neural engine; add --engine onnx."
    code = main(
        ["swap", "--consent", "--engine", "mesh", "--map-faces", "left-to-right", "--target", str(hopper_path),
         "--target", str(astronaut_path), "--mix", f"{astronaut_path}:0.5", "--input", str(hopper_path), "--output",
         str(output)]
    )  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and not output.exists()
    assert error[-1].startswith("error:") and "--map-faces" in error[-1] and "--mix" in error[-1], error[-1]


def test_more_photos_of_the_target_draw_the_nearest_expression_and_are_refused_clearly_elsewhere(
    hopper_path: Path, astronaut_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The smiling astronaut swapped onto herself, with Hopper as the target and the astronaut as another photo of
    "her": the photo nearest the smile is drawn, so the output differs from Hopper's photo alone."""
    common = ("--engine", "mesh", "--input", str(astronaut_path), "--target", str(hopper_path))
    alone = _swap(tmp_path, "alone", *common)
    with_more = _swap(tmp_path, "more", *common, "--more-photos", str(astronaut_path))
    changed = np.abs(alone.astype(np.int16) - with_more).max(axis=2) > 20
    assert changed.mean() > 0.008, changed.mean()  # the face (about 3 % of the picture) drawn from the other photo
    # A neutral user (Hopper herself) is drawn from the neutral photo, the target's own: exactly as without.
    neutral = ("--engine", "mesh", "--input", str(hopper_path), "--target", str(hopper_path))
    assert np.array_equal(
        _swap(tmp_path, "a", *neutral), _swap(tmp_path, "b", *neutral, "--more-photos", str(astronaut_path))
    )
    output = tmp_path / "refused.png"
    for options, words in (
        (("--engine", "onnx", "--more-photos", str(astronaut_path)), "built-in engine"),
        (("--engine", "mesh", "--more-photos", str(tmp_path / "missing.jpg")), "missing.jpg"),
        (("--engine", "mesh", "--more-photos", str(astronaut_path), "--mix", f"{astronaut_path}:0.5"), "--mix"),
    ):
        code = main(
            ["swap", "--consent", "--target", str(hopper_path), "--input", str(hopper_path), "--output", str(output),
             *options]
        )  # fmt: skip
        error = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and not output.exists()
        assert error[-1].startswith("error:") and words in error[-1], error[-1]
        assert "Traceback" not in "\n".join(error)


def test_bench_measures_the_morph_and_eval_refuses_one_it_would_not_use(
    hopper_path: Path, astronaut_path: Path, faces_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = faces_dir / "videos" / "v10_p47.mp4"
    code = main(
        ["bench", "--consent", "--engine", "mesh", "--input", str(source), "--target", str(hopper_path), "--mix",
         f"{astronaut_path}:1", "--frames", "12", "--live-seconds", "0", "--json"]
    )  # fmt: skip
    assert code == 0
    assert json.loads(capsys.readouterr().out)["target"] == "hopper 50% + astronaut 50%"
    code = main(["eval", "--engine", "mesh", "--faces-dir", str(faces_dir), "--random-identity", "3"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and error[-1].startswith("error:") and "--random-identity" in error[-1], error
    assert "Traceback" not in "\n".join(error)


def test_faces_swaps_everyone_in_view_up_to_n_and_refuses_a_count_it_cannot_track(
    hopper_path: Path, faces_dir: Path, model_mirror_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A still of v04 with two people: by default only the larger face changes; with --faces 3 both do."""
    from faceswap_live.inputs.target_photo import find_faces_in_photo
    from faceswap_live.offline import read_video_frames

    frame = read_video_frames(faces_dir / "videos" / "v04_multi.avi", 11)[0][10]
    still = tmp_path / "office.png"
    cv2.imwrite(str(still), frame)
    people = find_faces_in_photo(frame, model_mirror_dir / "face_landmarker.task")
    assert len(people) == 2
    common = ("--engine", "mesh", "--input", str(still), "--target", str(hopper_path))

    def changed(image: np.ndarray) -> list[float]:
        """How much each person's face changed (mean grey levels inside its box), larger face first."""
        return [
            float(
                np.abs(
                    image[box.y0 : box.y1, box.x0 : box.x1].astype(np.int16) - frame[box.y0 : box.y1, box.x0 : box.x1]
                ).mean()
            )
            for box in (person.box for person in people)
        ]

    one, everyone = changed(_swap(tmp_path, "one", *common)), changed(_swap(tmp_path, "all", *common, "--faces", "3"))
    # Left alone, the second face changes only by the invisible watermark spread over the whole picture (about 3).
    assert one[0] > 8.0 and everyone[1] > 8.0 and one[1] < 0.3 * everyone[1], (one, everyone)
    assert abs(one[0] - everyone[0]) < 0.5  # the larger face is drawn the same either way
    code = main(["swap", "--consent", *common, "--faces", "9", "--output", str(tmp_path / "nine.png")])
    error = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and "between 1 and 8" in error[-1] and not (tmp_path / "nine.png").exists()
