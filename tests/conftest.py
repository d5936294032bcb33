"""Shared fixtures: the real face data and models beside the repo, public-domain faces, a headless Qt."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest

if TYPE_CHECKING:
    from faceswap_live.eval.identity import FaceRecogniser
    from faceswap_live.types import TargetFace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# MediaPipe imports matplotlib, which builds its font list (seconds) in every new cache folder. Tests give the app
# throwaway XDG folders, in-process and in subprocesses: matplotlib keeps the user's own cache instead.
os.environ.setdefault(
    "MPLCONFIGDIR", str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib")
)

REPO_ROOT = Path(__file__).resolve().parents[1]
_FORBIDDEN_SKIPS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With FACESWAP_LIVE_ONLY_GPU_SKIPS=1 (CI), note every skip of a test not marked `gpu`."""
    if report.skipped and os.environ.get("FACESWAP_LIVE_ONLY_GPU_SKIPS") == "1" and "gpu" not in report.keywords:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _FORBIDDEN_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _FORBIDDEN_SKIPS:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print("\nTests skipped for a reason other than a missing GPU (FACESWAP_LIVE_ONLY_GPU_SKIPS=1):")
        for line in _FORBIDDEN_SKIPS:
            print(f"  {line}")


def _shared_root() -> Path:
    return Path(os.environ.get("FACESWAP_LIVE_SHARED", REPO_ROOT.parent / "shared"))


def _missing(reason: str) -> None:
    """Skip, or fail when CI demands the shared data (FACESWAP_LIVE_REQUIRE_SHARED=1)."""
    if os.environ.get("FACESWAP_LIVE_REQUIRE_SHARED") == "1":
        pytest.fail(f"{reason} (FACESWAP_LIVE_REQUIRE_SHARED=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared data folder (../shared): data/faces and models."""
    root = _shared_root()
    if not (root / "data" / "faces" / "MANIFEST.tsv").is_file():
        _missing(f"shared face data not found at {root}")
    return root


@pytest.fixture(scope="session")
def faces_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "faces"


@pytest.fixture(scope="session")
def video_cut(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, int], Path]:
    """cut(name, frames): the first frames of a shared video and their sound, cut once a session (tests/video_cuts.py).

    Tests that check what a whole file goes through (frames kept, sound kept, size and rate) need seconds, not minutes.
    """
    from video_cuts import cut_video

    folder = tmp_path_factory.mktemp("video-cuts")
    made: dict[tuple[str, int], Path] = {}

    def cut(name: str, frames: int) -> Path:
        if (name, frames) not in made:
            source = faces_dir / "videos" / name
            made[name, frames] = cut_video(source, folder / f"{source.stem}-{frames}{source.suffix}", frames)
        return made[name, frames]

    return cut


def _mirror_dir() -> Path:
    return Path(os.environ.get("FACESWAP_LIVE_MODEL_MIRROR") or _shared_root() / "models")


@pytest.fixture(scope="session")
def shared_model_mirror() -> Path:
    """The local model mirror itself (FACESWAP_LIVE_MODEL_MIRROR, else ../shared/models), for tests about the mirror."""
    mirror = _mirror_dir()
    if not (mirror / "face_landmarker.task").is_file():
        _missing(f"model mirror with face_landmarker.task not found at {mirror}")
    return mirror


@pytest.fixture(scope="session")
def landmark_model_path() -> Path:
    """The real MediaPipe model, found and verified by the app's model store, as the app gets it.

    From the local mirror (FACESWAP_LIVE_MODEL_MIRROR, else ../shared/models) when it is there, else downloaded once
    into a cache folder (`<XDG_CACHE_HOME or ~/.cache>/faceswap-live-tests/models`) and reused from there.
    """
    from faceswap_live.errors import ModelError
    from faceswap_live.models.store import ModelStore

    mirror = _mirror_dir()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "faceswap-live-tests" / "models"
    store = ModelStore(
        user_dir=cache, project_dir=None, mirror_dir=mirror if mirror.is_dir() else None, show_progress=False
    )
    try:
        return store.fetch("face_landmarker")
    except ModelError as error:
        _missing(f"face_landmarker.task is not in {mirror} and could not be downloaded: {error}")
        raise  # not reached: _missing skips or fails


@pytest.fixture(scope="session")
def model_mirror_dir(landmark_model_path: Path) -> Path:
    """A folder holding the landmark model, for FACESWAP_LIVE_MODEL_MIRROR in the app under test (mirror or cache)."""
    return landmark_model_path.parent


@pytest.fixture(scope="session")
def face_recogniser(shared_dir: Path) -> FaceRecogniser:
    """The independent identity judge (dlib), built once: its face detector alone takes a second to set up."""
    from faceswap_live.eval.identity import FaceRecogniser

    return FaceRecogniser(shared_dir / "models" / "eval")


PORTRAIT_LONG_SIDE_PX = 640


@pytest.fixture(scope="session")
def portrait_face(
    faces_dir: Path, landmark_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], TargetFace]:
    """face(name): a shared portrait as a target face, loaded once a session, scaled to 640 px on its long side.

    Most portraits are 1-2 thousand pixels across; morphs of them give the independent recogniser the same distances
    (within 0.01) at 640 px, three times faster. Copies stay in a temporary folder.
    """
    from faceswap_live.inputs.target_photo import load_target_face

    folder = tmp_path_factory.mktemp("portraits")
    loaded: dict[str, TargetFace] = {}

    def face(name: str) -> TargetFace:
        if name not in loaded:
            image = cv2.imread(str(faces_dir / "portraits" / name))
            assert image is not None, name
            scale = min(1.0, PORTRAIT_LONG_SIDE_PX / max(image.shape[:2]))
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            path = folder / f"{Path(name).stem}.png"
            cv2.imwrite(str(path), image)
            loaded[name] = load_target_face(path, landmark_model_path)
        return loaded[name]

    return face


@pytest.fixture(scope="session")
def hopper_bgr() -> np.ndarray:
    """Grace Hopper (US Navy photo, public domain, shipped with matplotlib): glasses, closed mouth."""
    import matplotlib

    image = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    assert image is not None
    return image


@pytest.fixture(scope="session")
def astronaut_bgr() -> np.ndarray:
    """The astronaut portrait (NASA, public domain, shipped with scikit-image): smiling, teeth showing."""
    from skimage import data

    return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))


@pytest.fixture(scope="session")
def astronaut_as_target(
    tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> TargetFace:
    """The astronaut loaded as a target face, as the app loads a photo (smiling broadly, long dark lashes)."""
    from faceswap_live.inputs.target_photo import load_target_face

    path = tmp_path_factory.mktemp("astronaut_target") / "astronaut.png"
    cv2.imwrite(str(path), astronaut_bgr)
    return load_target_face(path, landmark_model_path)


@pytest.fixture()
def hopper_path(tmp_path: Path, hopper_bgr: np.ndarray) -> Path:
    path = tmp_path / "hopper.png"
    cv2.imwrite(str(path), hopper_bgr)
    return path


@pytest.fixture()
def astronaut_path(tmp_path: Path, astronaut_bgr: np.ndarray) -> Path:
    path = tmp_path / "astronaut.png"
    cv2.imwrite(str(path), astronaut_bgr)
    return path
