"""Copy-move: a region of the image duplicated elsewhere in the same image.

ORB keypoints are matched against the image itself (k nearest neighbours by Hamming
distance); a keypoint's own position and near neighbours (closer than ``MIN_SHIFT`` of the
image) are skipped and the best remaining match must pass a ratio test against the next one
(g2NN). Surviving pairs are put in a canonical order (source left of / above target) and a
similarity transform is fitted by RANSAC: a real copy-move gives many pairs that share one
shift (or rotation/scale), while chance matches on repetitive texture scatter. The statistic
is the inlier count; the regions are the boxes around the inlier keypoints at both ends.
Needs OpenCV; without it the cue is reported as not available.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from originlens.detectors.forensics.common import Box, CueResult

MAX_FEATURES = 1200
KNN = 4
MIN_SHIFT = 0.04
"""Pairs closer than this fraction of the image's longer side (and 16 px) are ignored."""
MAX_HAMMING = 40
RATIO = 0.7
RANSAC_PX = 2.0
MIN_SIDE_FOR_ORB = 512
MAX_SIDE = 800
"""Larger working images are down-scaled to this longer side first: copied regions worth
finding are large, and ORB and matching cost grow with the pixel and keypoint counts."""
"""Smaller images are up-scaled x2 first: ORB's 31-pixel patches leave too few keypoints."""


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def available() -> bool:
    return _cv2() is not None


def copy_move_cue(gray: np.ndarray, scale_to_image: float, width: int, height: int) -> CueResult:
    """Find the largest group of self-matches that share one transform.

    ``gray`` is the uint8 working image; ``scale_to_image`` maps its pixels to the decoded image's."""
    cv2 = _cv2()
    if cv2 is None:
        return CueResult(evidence="copy_move", stat=None, info={"available": False, "reason": "OpenCV missing"})
    longest = max(gray.shape)
    up = 2.0 if longest < MIN_SIDE_FOR_ORB else min(1.0, MAX_SIDE / longest)
    interpolation = cv2.INTER_LINEAR if up > 1 else cv2.INTER_AREA
    work = cv2.resize(gray, None, fx=up, fy=up, interpolation=interpolation) if up != 1.0 else gray
    orb = cv2.ORB_create(nfeatures=MAX_FEATURES, nlevels=4, fastThreshold=10, edgeThreshold=15, patchSize=15)
    keypoints, desc = orb.detectAndCompute(work, None)
    info: dict[str, Any] = {"keypoints": len(keypoints)}
    if desc is None or len(keypoints) < 10:
        return CueResult(evidence="copy_move", stat=0.0, info=info)
    pts = np.array([kp.pt for kp in keypoints], dtype=np.float32)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    k = min(KNN, len(keypoints))
    knn = matcher.knnMatch(desc, desc, k=k)
    train = np.full((len(knn), k), -1, dtype=np.int64)
    dist = np.full((len(knn), k), np.inf)
    for i, cands in enumerate(knn):
        for j, m in enumerate(cands):
            train[i, j] = m.trainIdx
            dist[i, j] = m.distance
    min_shift = max(16.0 * up, MIN_SHIFT * max(work.shape))
    query = np.arange(len(knn))
    gap = np.hypot(*(pts[np.clip(train, 0, None)] - pts[query][:, None, :]).transpose(2, 0, 1))
    far = (train >= 0) & (gap >= min_shift)
    dist_far = np.where(far, dist, np.inf)
    order = np.argsort(dist_far, axis=1)
    first = np.take_along_axis(dist_far, order[:, :1], axis=1)[:, 0]
    second = np.take_along_axis(dist_far, order[:, 1:2], axis=1)[:, 0] if k > 1 else np.full(len(knn), np.inf)
    good = (first <= MAX_HAMMING) & (first <= RATIO * second)
    pairs: set[tuple[int, int]] = set()
    for i in np.flatnonzero(good).tolist():
        a: int = i
        b: int = int(train[i, order[i, 0]])
        if (pts[a, 0], pts[a, 1]) > (pts[b, 0], pts[b, 1]):
            a, b = b, a
        pairs.add((a, b))
    info["candidate_pairs"] = len(pairs)
    if len(pairs) < 4:
        return CueResult(evidence="copy_move", stat=float(0), info=info)
    idx = np.array(sorted(pairs))
    src, dst = pts[idx[:, 0]], pts[idx[:, 1]]
    # Translation vote: pairs sharing one shift (within RANSAC_PX) are one copied region.
    offsets = dst - src
    close = np.hypot(*(offsets[:, None, :] - offsets[None, :, :]).transpose(2, 0, 1)) <= RANSAC_PX * up
    votes = close.sum(axis=1)
    best_inliers = close[int(np.argmax(votes))].copy()
    translation = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    translation[:, 2] = np.median(offsets[best_inliers], axis=0)
    best_model: np.ndarray | None = translation
    # Rotated or scaled copies: RANSAC similarity, kept only when near-rigid (scale 0.8-1.25),
    # since chance matches fit arbitrary scales.
    model, inl = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX * up, maxIters=2000, confidence=0.995
    )
    if model is not None and inl is not None:
        mask = inl.ravel() > 0
        scale = float(np.sqrt(abs(np.linalg.det(model[:, :2]))))
        centre = src[mask].mean(axis=0) if mask.any() else np.zeros(2)
        moved = model[:, :2] @ centre + model[:, 2]
        rigid = 0.8 <= scale <= 1.25 and np.hypot(*(moved - centre)) >= min_shift
        if rigid and mask.sum() > best_inliers.sum():
            best_inliers, best_model = mask, model
    # ORB finds the same corner at several pyramid levels: count distinct places, not pairs.
    places = np.round(src[best_inliers] / (4.0 * up)).astype(np.int64)
    count = len(np.unique(places, axis=0)) if len(places) else 0
    info["inliers"] = int(best_inliers.sum())
    info["distinct_inliers"] = count
    boxes: list[Box] = []
    if count >= 4 and best_model is not None:
        info["shift_px"] = [round(float(best_model[0, 2]) * scale_to_image / up, 1),
                            round(float(best_model[1, 2]) * scale_to_image / up, 1)]  # fmt: skip
        f = scale_to_image / up
        margin = 8.0 * up
        for role, p in (("source", src[best_inliers]), ("target", dst[best_inliers])):
            x1, y1 = (p.min(axis=0) - margin) * f
            x2, y2 = (p.max(axis=0) + margin) * f
            boxes.append(
                Box(
                    x1=max(0, int(x1)),
                    y1=max(0, int(y1)),
                    x2=min(width, int(np.ceil(x2))),
                    y2=min(height, int(np.ceil(y2))),
                    score=0.0,
                    evidence="copy_move",
                    extra={"role": role, "matches": count},
                )
            )
    return CueResult(evidence="copy_move", stat=float(count), boxes=boxes, info=info)
