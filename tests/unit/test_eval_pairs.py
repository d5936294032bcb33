"""The evaluation's pairs: with --more-photos, each target person's other portraits, never the judge's photo."""

from __future__ import annotations

from pathlib import Path

from faceswap_live.eval.run import EvalPair, with_more_photos


def test_more_photos_are_the_target_persons_other_portraits_but_never_the_judges(tmp_path: Path) -> None:
    for name in ("p03_1.jpg", "p03_2.jpg", "p03_3.jpg", "p03_4.png", "p30_1.jpg", "p04_1.jpg"):
        (tmp_path / name).write_bytes(b"")
    pairs = [EvalPair("v09.mp4", "p03_1.jpg", "p03_3.jpg"), EvalPair("v01.mp4", "p04_1.jpg", "p04_2.jpg")]
    first, second = with_more_photos(pairs, tmp_path)
    assert first.more_photos == ("p03_2.jpg", "p03_4.png")  # not p30_1 (another person), not the judge's p03_3
    assert (first.video, first.target_photo, first.judge_photo) == ("v09.mp4", "p03_1.jpg", "p03_3.jpg")
    assert second.more_photos == ()  # nobody else's photos
