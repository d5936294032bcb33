"""Draws the app icon (two faces and swap arrows) at 4x and reduces it: src/faceswap_live/assets/icon.png."""

from pathlib import Path

import cv2
import numpy as np

S = 4
N = 256 * S
img = np.zeros((N, N, 4), np.uint8)
# rounded square background
bg = np.zeros((N, N), np.uint8)
r = 56 * S
cv2.rectangle(bg, (r, 0), (N - r, N), 255, -1)
cv2.rectangle(bg, (0, r), (N, N - r), 255, -1)
for c in [(r, r), (N - r, r), (r, N - r), (N - r, N - r)]:
    cv2.circle(bg, c, r, 255, -1)
grad = np.linspace(0, 1, N)[:, None]
col = np.stack(
    [(120 + 80 * grad) * np.ones((N, N)), (60 + 40 * grad) * np.ones((N, N)), (40 + 20 * grad) * np.ones((N, N))], -1
)  # BGR deep blue
img[..., :3] = col.astype(np.uint8)
img[..., 3] = bg


def face(cx, color, alpha_scale):
    ov = img.copy()
    cv2.ellipse(ov, (cx, int(N * 0.52)), (int(N * 0.2), int(N * 0.26)), 0, 0, 360, color + (255,), -1, cv2.LINE_AA)
    for ex in (-1, 1):
        cv2.circle(ov, (cx + ex * int(N * 0.075), int(N * 0.47)), int(N * 0.025), (40, 30, 30, 255), -1, cv2.LINE_AA)
    cv2.ellipse(
        ov,
        (cx, int(N * 0.6)),
        (int(N * 0.08), int(N * 0.045)),
        0,
        0,
        180,
        (40, 30, 30, 255),
        int(N * 0.018),
        cv2.LINE_AA,
    )
    m = (ov != img).any(-1)
    img[m] = (img[m] * (1 - alpha_scale) + ov[m] * alpha_scale).astype(np.uint8)


face(int(N * 0.38), (200, 220, 245), 0.55)
face(int(N * 0.62), (120, 200, 255), 1.0)
# swap arrows
cv2.arrowedLine(
    img,
    (int(N * 0.3), int(N * 0.16)),
    (int(N * 0.7), int(N * 0.16)),
    (255, 255, 255, 255),
    int(N * 0.03),
    cv2.LINE_AA,
    tipLength=0.25,
)
cv2.arrowedLine(
    img,
    (int(N * 0.7), int(N * 0.88)),
    (int(N * 0.3), int(N * 0.88)),
    (255, 255, 255, 255),
    int(N * 0.03),
    cv2.LINE_AA,
    tipLength=0.25,
)
img[..., 3] = np.minimum(img[..., 3], bg)
out = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
cv2.imwrite(str(Path(__file__).resolve().parents[1] / "src" / "faceswap_live" / "assets" / "icon.png"), out)
