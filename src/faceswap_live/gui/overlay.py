"""The developer overlay: per-stage timing bars, fps, latency, drops and provider; optional landmark mesh and mask.

Painted with QPainter onto the preview widget only. Nothing here touches a frame that goes to an output: the runner's
FrameResult.output_bgr is never drawn into.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF, QTransform

from faceswap_live.profiling import ProfileSnapshot, StageSummary
from faceswap_live.stages.mesh_topology import FACE_OVAL
from faceswap_live.types import FaceLandmarks

STAGE_ORDER = ("capture_wait", "low_light", "landmarks", "smooth", "align", "swap", "blend", "mark", "output")
STAGE_LABELS = {
    "capture_wait": "capture wait",
    "low_light": "low-light boost",
    "landmarks": "landmarks",
    "smooth": "smooth",
    "align": "align",
    "swap": "swap",
    "blend": "blend",
    "mark": "mark",
    "output": "output",
}
PANEL_BACKGROUND = QColor(12, 14, 20, 200)
BAR_P50 = QColor(80, 200, 255)
BAR_P95 = QColor(80, 200, 255, 90)
BAR_SLOW = QColor(255, 140, 70)
TEXT = QColor(235, 238, 245)
TEXT_DIM = QColor(160, 168, 185)
MESH = QColor(120, 255, 170, 170)
MASK_FILL = QColor(255, 90, 200, 50)
MASK_EDGE = QColor(255, 120, 210, 200)


@dataclass(frozen=True)
class OverlayStats:
    """What the overlay shows; built on the GUI thread from runner.profile_snapshot() a few times a second."""

    snapshot: ProfileSnapshot
    dropped_frames: int
    provider: str
    engine: str
    source: str = ""


def ordered_stages(snapshot: ProfileSnapshot) -> list[tuple[str, StageSummary]]:
    """Known stages in pipeline order, then any others the pipeline reports (new stages show up by themselves)."""
    known = [(name, snapshot.stages[name]) for name in STAGE_ORDER if name in snapshot.stages]
    extra = [(name, summary) for name, summary in sorted(snapshot.stages.items()) if name not in STAGE_ORDER]
    return known + extra


def paint_profile_overlay(painter: QPainter, area: QRectF, stats: OverlayStats) -> QRectF:
    """Paint the timing panel in the top-left corner of `area` (widget pixels). Returns the panel's rectangle."""
    snapshot = stats.snapshot
    stages = ordered_stages(snapshot)
    font = QFont(painter.font())
    font.setPixelSize(max(11, min(14, int(area.height() / 48))))
    painter.save()
    painter.setFont(font)
    metrics = QFontMetricsF(font)
    line = metrics.height() + 3
    padding = 10.0
    label_width = max([metrics.horizontalAdvance(STAGE_LABELS.get(name, name)) for name, _ in stages] + [60.0])
    bar_width = 150.0
    value_width = metrics.horizontalAdvance("99.9 / 99.9 ms")
    header_lines = 4
    width = padding * 3 + label_width + bar_width + value_width + 8
    height = padding * 2 + line * (header_lines + len(stages) + 1)
    panel = QRectF(area.left() + 12, area.top() + 12, width, height)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(PANEL_BACKGROUND)
    painter.drawRoundedRect(panel, 8, 8)

    x = panel.left() + padding
    y = panel.top() + padding
    bold = QFont(font)
    bold.setBold(True)

    def text(left: float, top: float, value: str, colour: QColor = TEXT, use_font: QFont = font) -> None:
        painter.setFont(use_font)
        painter.setPen(colour)
        painter.drawText(QPointF(left, top + metrics.ascent()), value)

    text(x, y, f"{snapshot.fps:5.1f} fps", TEXT, bold)
    text(x + width / 2 - padding, y, f"dropped {stats.dropped_frames}", TEXT_DIM)
    y += line
    latency = snapshot.latency
    text(x, y, f"capture→output {latency.p50_ms:.1f} ms p50 · {latency.p95_ms:.1f} ms p95")
    y += line
    text(x, y, f"engine {stats.engine or '—'} · {stats.provider or 'CPU'}", TEXT_DIM)
    y += line
    text(x, y, "stage", TEXT_DIM)
    text(x + label_width + padding + bar_width + padding, y, "p50 / p95 ms", TEXT_DIM)
    y += line

    # A common scale: the frame budget at 30 fps, or the slowest p95 when that is larger.
    scale_ms = max(33.3, *(summary.p95_ms for _, summary in stages)) if stages else 33.3
    bar_left = x + label_width + padding
    for name, summary in stages:
        text(x, y, STAGE_LABELS.get(name, name))
        bar_top = y + 3
        bar_height = metrics.height() - 5
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(255, 255, 255, 25))
        painter.drawRoundedRect(QRectF(bar_left, bar_top, bar_width, bar_height), 3, 3)
        painter.setBrush(BAR_P95)
        painter.drawRoundedRect(QRectF(bar_left, bar_top, bar_width * summary.p95_ms / scale_ms, bar_height), 3, 3)
        painter.setBrush(BAR_SLOW if summary.p50_ms > 16.7 and name != "capture_wait" else BAR_P50)
        painter.drawRoundedRect(QRectF(bar_left, bar_top, bar_width * summary.p50_ms / scale_ms, bar_height), 3, 3)
        text(bar_left + bar_width + padding, y, f"{summary.p50_ms:4.1f} / {summary.p95_ms:4.1f}")
        y += line
    total = sum(summary.p50_ms for name, summary in stages if name != "capture_wait")
    text(x, y, f"processing {total:.1f} ms p50 (sum) · bar scale {scale_ms:.0f} ms", TEXT_DIM)
    painter.restore()
    return panel


def paint_faces(
    painter: QPainter,
    faces: Sequence[FaceLandmarks],
    widget_from_frame: QTransform,
    draw_mesh: bool,
    draw_mask: bool,
) -> None:
    """Landmark dots and/or the face-oval mask outline, mapped from frame pixels to widget pixels."""
    if not faces or not (draw_mesh or draw_mask):
        return
    painter.save()
    painter.setTransform(widget_from_frame, combine=True)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    scale = max(widget_from_frame.m11(), 1e-6)
    for face in faces:
        points = face.points_px
        if draw_mask:
            oval = QPolygonF([QPointF(float(points[index, 0]), float(points[index, 1])) for index in FACE_OVAL])
            painter.setBrush(QBrush(MASK_FILL))
            painter.setPen(QPen(MASK_EDGE, 1.5 / scale))
            painter.drawPolygon(oval)
        if draw_mesh:
            painter.setPen(QPen(MESH, 1.6 / scale, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            painter.drawPoints(QPolygonF([QPointF(float(x), float(y)) for x, y in points[:, :2]]))
    painter.restore()
