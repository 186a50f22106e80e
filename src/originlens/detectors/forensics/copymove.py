"""Copy-move: a region of the image duplicated elsewhere in the same image.

ORB keypoints are matched against the image itself (k nearest neighbours by Hamming
distance); a keypoint's own position and near neighbours (closer than ``MIN_SHIFT`` of the
image) are skipped and the best remaining match must pass a ratio test against the next one
(g2NN). Surviving pairs are put in a canonical order (source left of / above target) and
grouped: pairs sharing one shift (within ``RANSAC_PX``), or one near-rigid similarity found by
RANSAC (rotated or scaled copies). A group is a copy-move candidate only when it is
*consistent on both ends*: its source and target boxes (around the inlier keypoints) do not
overlap, i.e. the shift is longer than the group is wide. Repetitive real texture (bricks,
windows, foliage) matches itself at one period, with keypoints spread over a region much
wider than that period, so its groups overlap themselves and are discarded. A group must also
be *pixel-verified*: the band-pass (3x3 minus 15x15 box mean) detail in 17 px patches around
its source keypoints, mapped by the group's shift, must correlate at ``MIN_SIMILARITY`` or
more with the target. Copied pixels repeat their fine detail; look-alike objects (rolls,
letters, windows) do not. Rotations beyond ``MAX_ANGLE`` are not sought.

The statistic is the number of distinct keypoint places (4 px bins, both ends) of the best
verified group. It is not turned into a p-value by the crop calibration (the 256 px crops
are another regime: few keypoints, up-scaled): the decision is the fixed, documented rule
``stat >= MIN_PLACES``, whose false-positive rate is measured on untouched photos (see
``docs/models/tampering.md``). Needs OpenCV; without it the cue is reported as not available.
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
"""Smaller images are up-scaled x2 first: ORB's patches leave too few keypoints."""
MAX_SIDE = 800
"""Larger working images are down-scaled to this longer side first: copied regions worth
finding are large, and ORB and matching cost grow with the pixel and keypoint counts."""
MIN_PLACES = 8
"""Decision rule: a group of at least this many distinct places, disjoint on both ends, is a
copy-move (its false-positive rate is measured, not assumed; see the docs)."""
MIN_SIMILARITY = 0.9
"""Band-pass correlation a group's two ends must reach: copied pixels, not look-alikes."""
MAX_ANGLE = 30.0
"""Rotated copies beyond this angle are not sought: point-symmetric textures fit 180 degrees."""
MAX_GROUPS = 4
"""Shift groups examined, largest first (the largest may be a repetitive texture)."""
RULE = f"distinct_inliers >= {MIN_PLACES}, disjoint ends, band-pass similarity >= {MIN_SIMILARITY}"


def rule_score(places: float) -> float:
    """The cue's score from its verified place count: > 0.5 exactly when ``places >= MIN_PLACES``."""
    return float(places / (places + MIN_PLACES - 1)) if places > 0 else 0.0


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        return None
    return cv2


def available() -> bool:
    return _cv2() is not None


def _distinct(p: np.ndarray, bin_px: float) -> int:
    return len(np.unique(np.round(p / bin_px).astype(np.int64), axis=0)) if len(p) else 0


def _box(p: np.ndarray) -> np.ndarray:
    return np.concatenate([p.min(axis=0), p.max(axis=0)])


def _disjoint(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def _group(src: np.ndarray, dst: np.ndarray, mask: np.ndarray, bin_px: float) -> dict[str, Any]:
    s, d = src[mask], dst[mask]
    sb, db = _box(s), _box(d)
    places = min(_distinct(s, bin_px), _distinct(d, bin_px))
    return {
        "mask": mask,
        "places": places,
        "src_box": sb,
        "dst_box": db,
        "disjoint": _disjoint(sb, db),
        "src_pts": s,
        "dst_pts": d,
    }


def _band(image: np.ndarray) -> np.ndarray:
    """Band-pass (difference of box means): fine detail, without shading."""
    import cv2

    f = image.astype(np.float32)
    return cv2.blur(f, (3, 3)) - cv2.blur(f, (15, 15))


def _similarity(band: np.ndarray, group: dict[str, Any], pad: float) -> float:
    """Correlation of the band-passed pixels around the source keypoints and their image.

    A copied region repeats its fine detail exactly (up to re-compression); repeated real
    objects (windows, rolls, letters) repeat their shape but not their fine detail."""
    s = group["src_pts"]
    model = group["transform"]
    d = s @ model[:, :2].T + model[:, 2]
    h, w = band.shape
    half = int(pad)
    a_list: list[np.ndarray] = []
    b_list: list[np.ndarray] = []
    for (sx, sy), (dx, dy) in zip(np.rint(s).astype(int), np.rint(d).astype(int), strict=True):
        if min(sx, sy, dx, dy) < half or max(sx, dx) >= w - half or max(sy, dy) >= h - half:
            continue
        a_list.append(band[sy - half : sy + half + 1, sx - half : sx + half + 1].ravel())
        b_list.append(band[dy - half : dy + half + 1, dx - half : dx + half + 1].ravel())
    if len(a_list) < 3:
        return 0.0
    a, b = np.concatenate(a_list), np.concatenate(b_list)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / (np.sqrt((a * a).sum() * (b * b).sum()) + 1e-9))


def copy_move_cue(gray: np.ndarray, scale_to_image: float, width: int, height: int) -> CueResult:
    """Find the largest group of self-matches that share one transform and do not overlap.

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
    info: dict[str, Any] = {"keypoints": len(keypoints), "rule": RULE}
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
        return CueResult(evidence="copy_move", stat=0.0, info=info)
    idx = np.array(sorted(pairs))
    src, dst = pts[idx[:, 0]], pts[idx[:, 1]]
    bin_px = 4.0 * up
    # Translation groups, largest first: pairs sharing one shift (within RANSAC_PX).
    offsets = dst - src
    close = np.hypot(*(offsets[:, None, :] - offsets[None, :, :]).transpose(2, 0, 1)) <= RANSAC_PX * up
    left = np.ones(len(offsets), dtype=bool)
    groups: list[dict[str, Any]] = []
    for _ in range(MAX_GROUPS):
        votes = (close & left[None, :]).sum(axis=1) * left
        if votes.max() < 3:
            break
        mask = close[int(np.argmax(votes))] & left
        left &= ~mask
        g = _group(src, dst, mask, bin_px)
        g["model"] = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
        g["model"][:, 2] = np.median(offsets[mask], axis=0)
        g["transform"] = g["model"]
        groups.append(g)
    # Rotated or scaled copies: RANSAC similarity, kept only when near-rigid (scale 0.8-1.25),
    # since chance matches fit arbitrary scales.
    model, inl = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX * up, maxIters=2000, confidence=0.995
    )
    if model is not None and inl is not None and (inl.ravel() > 0).sum() >= 3:
        mask = inl.ravel() > 0
        scale = float(np.sqrt(abs(np.linalg.det(model[:, :2]))))
        centre = src[mask].mean(axis=0)
        moved = model[:, :2] @ centre + model[:, 2]
        angle = abs(float(np.degrees(np.arctan2(model[1, 0], model[0, 0]))))
        if 0.8 <= scale <= 1.25 and angle <= MAX_ANGLE and np.hypot(*(moved - centre)) >= min_shift:
            g = _group(src, dst, mask, bin_px)
            g["transform"] = model
            g["model"] = model.copy()
            g["model"][:, 2] = moved - centre  # report the displacement of the group's centre
            groups.append(g)
    info["largest_group"] = max((g["places"] for g in groups), default=0)
    band = _band(work)
    for g in groups:
        g["similarity"] = _similarity(band, g, 8.0 * up)
    info["groups"] = [
        {"places": int(g["places"]), "disjoint": bool(g["disjoint"]), "similarity": round(g["similarity"], 3)}
        for g in groups
    ]
    candidates = [g for g in groups if g["disjoint"] and g["similarity"] >= MIN_SIMILARITY]
    best = max(candidates, key=lambda g: g["places"], default=None)
    count = 0 if best is None else int(best["places"])
    info["distinct_inliers"] = count
    boxes: list[Box] = []
    if best is not None and count >= 4:
        f = scale_to_image / up
        best_model = best["model"]
        info["inliers"] = int(best["mask"].sum())
        info["shift_px"] = [round(float(best_model[0, 2]) * f, 1), round(float(best_model[1, 2]) * f, 1)]
        margin = 8.0 * up
        for role, corners in (("source", best["src_box"]), ("target", best["dst_box"])):
            x1, y1 = (corners[:2] - margin) * f
            x2, y2 = (corners[2:] + margin) * f
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
