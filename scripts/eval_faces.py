"""Measure the face detector on the shared face images (dlib imglab XML boxes).

Prints recall and precision at IoU >= 0.5 per XML file and overall, the mean IoU of the matched
pairs, the faces found per image in ``face_recognition/`` (no boxes there), the per-image
latency median, and a 1 MP / 12 MP timing. dlib boxes are tight squares from brows to chin;
BlazeFace boxes are larger and sit higher, so a second figure applies a fixed box-convention
adjustment (centre shift and scale, medians over matched pairs) fitted on ``training.xml``
only and then applied unchanged to every file.

    .venv/bin/python scripts/eval_faces.py [--shared ../shared] [--no-tiles] [--min-score 0.5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from originlens.faces.detection import Face, FaceDetector, iou  # noqa: E402

Box = tuple[float, float, float, float]


@dataclass
class Truth:
    boxes: list[Box]
    ignored: list[Box]


def read_imglab(path: Path) -> dict[str, Truth]:
    """imglab XML -> {file: boxes}; ``ignore='1'`` boxes are kept apart."""
    out: dict[str, Truth] = {}
    for image in ET.parse(path).getroot().iter("image"):
        truth = Truth([], [])
        for box in image.iter("box"):
            top, left = float(box.get("top", 0)), float(box.get("left", 0))
            width, height = float(box.get("width", 0)), float(box.get("height", 0))
            rect = (left, top, left + width, top + height)
            (truth.ignored if box.get("ignore") == "1" else truth.boxes).append(rect)
        out[image.get("file", "")] = truth
    return out


Adjust = tuple[float, float, float]
"""(dx, dy, scale): centre moves by dx*w, dy*h; width and height are multiplied by scale."""
IDENTITY: Adjust = (0.0, 0.0, 1.0)


def adjusted(box: Box, rule: Adjust) -> Box:
    dx, dy, scale = rule
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2 + dx * w, (y1 + y2) / 2 + dy * h
    return (cx - scale * w / 2, cy - scale * h / 2, cx + scale * w / 2, cy + scale * h / 2)


def match(dets: list[Box], truths: list[Box], threshold: float) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by IoU, best pairs first."""
    if not dets or not truths:
        return []
    table = np.array([iou(np.array(d), np.array(truths)) for d in dets])
    pairs = []
    used_d, used_t = set(), set()
    for flat in np.argsort(-table, axis=None):
        d, t = np.unravel_index(flat, table.shape)
        if table[d, t] < threshold:
            break
        if d in used_d or t in used_t:
            continue
        used_d.add(int(d))
        used_t.add(int(t))
        pairs.append((int(d), int(t), float(table[d, t])))
    return pairs


def fit_rule(results: dict[str, tuple[list[Face], Truth]]) -> Adjust:
    """Median centre shift and scale from BlazeFace to dlib boxes over loose matches (IoU >= 0.2)."""
    dxs, dys, scales = [], [], []
    for faces, truth in results.values():
        boxes = [f.box for f in faces]
        for d, t, _ in match(boxes, truth.boxes, 0.2):
            bx1, by1, bx2, by2 = boxes[d]
            tx1, ty1, tx2, ty2 = truth.boxes[t]
            bw, bh = bx2 - bx1, by2 - by1
            dxs.append(((tx1 + tx2) - (bx1 + bx2)) / 2 / bw)
            dys.append(((ty1 + ty2) - (by1 + by2)) / 2 / bh)
            scales.append(((tx2 - tx1) / bw + (ty2 - ty1) / bh) / 2)
    if not scales:
        return IDENTITY
    return (statistics.median(dxs), statistics.median(dys), statistics.median(scales))


@dataclass
class Score:
    truths: int = 0
    dets: int = 0
    hits: int = 0
    ious: float = 0.0

    def add(self, faces: list[Face], truth: Truth, rule: Adjust) -> None:
        boxes = [adjusted(f.box, rule) for f in faces]
        pairs = match(boxes, truth.boxes, 0.5)
        matched = {d for d, _, _ in pairs}
        # detections on an ignored face are neither hits nor false positives
        rest = [i for i in range(len(boxes)) if i not in matched]
        on_ignored = {rest[d] for d, _, _ in match([boxes[i] for i in rest], truth.ignored, 0.5)}
        self.truths += len(truth.boxes)
        self.dets += len(boxes) - len(on_ignored)
        self.hits += len(pairs)
        self.ious += sum(v for _, _, v in pairs)

    def line(self, name: str) -> str:
        recall = self.hits / self.truths if self.truths else float("nan")
        precision = self.hits / self.dets if self.dets else float("nan")
        mean_iou = self.ious / self.hits if self.hits else float("nan")
        return (
            f"{name:<24} faces {self.truths:3d}  found {self.hits:3d}  detections {self.dets:3d}  "
            f"recall {recall:.3f}  precision {precision:.3f}  mean IoU {mean_iou:.3f}"
        )


def timed(detector: FaceDetector, image: Image.Image, runs: int) -> tuple[list[Face], float, float]:
    """Faces, median wall seconds and median CPU seconds of this process (the CPU time is
    what the detector costs; the wall time also counts waiting for a busy shared machine)."""
    walls, cpus = [], []
    faces: list[Face] = []
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        faces = detector.detect(image)
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return faces, statistics.median(walls), statistics.median(cpus)


def small_face_check(detector: FaceDetector, face_image: Path) -> str:
    """A ~50 px face pasted into a 1024x768 grey-noise frame: is it found?"""
    source = Image.open(face_image).convert("RGB")
    faces = detector.detect(source)
    if not faces:
        return "small-face check skipped: no face in the source image"
    x1, y1, x2, y2 = faces[0].box
    pad = 0.6 * (x2 - x1)
    crop = source.crop((int(x1 - pad), int(y1 - pad), int(x2 + pad), int(y2 + pad)))
    factor = 50 / (x2 - x1)
    crop = crop.resize((max(1, round(crop.width * factor)), max(1, round(crop.height * factor))))
    rng = np.random.default_rng(0)
    canvas = Image.fromarray(rng.integers(90, 160, (768, 1024, 3), dtype=np.uint8))
    found = []
    for x, y in ((100, 100), (487, 359), (800, 600)):
        frame = canvas.copy()
        frame.paste(crop, (x, y))
        cx, cy = x + crop.width / 2, y + crop.height / 2
        hits = [f for f in detector.detect(frame) if f.box[0] <= cx <= f.box[2] and f.box[1] <= cy <= f.box[3]]
        found.append(f"({x},{y}): {'found' if hits else 'missed'}")
    return "50 px face in 1024x768: " + ", ".join(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--no-tiles", action="store_true", help="whole-image pass only")
    parser.add_argument("--no-short-range", action="store_true", help="full range model only")
    parser.add_argument("--min-score", type=float, default=None)
    parser.add_argument("--tile-min-score", type=float, default=None)
    parser.add_argument("--short-min-score", type=float, default=None)
    parser.add_argument("--bench-runs", type=int, default=7)
    args = parser.parse_args()
    root = args.shared / "eval" / "faces"
    kwargs: dict[str, object] = {"tiles": not args.no_tiles, "short_range": not args.no_short_range}
    if args.min_score is not None:
        kwargs["min_score"] = args.min_score
    if args.short_min_score is not None:
        kwargs["short_min_score"] = args.short_min_score
    if args.tile_min_score is not None:
        kwargs["tile_min_score"] = args.tile_min_score
    detector = FaceDetector(**kwargs)  # type: ignore[arg-type]
    detector.load()

    latencies: list[float] = []
    cpu_times: list[float] = []
    per_file: dict[str, dict[str, tuple[list[Face], Truth]]] = {}
    for xml in sorted((root / "dlib").glob("*.xml")):
        per_file[xml.name] = {}
        for name, truth in read_imglab(xml).items():
            image = Image.open(xml.parent / name)
            image.load()
            faces, seconds, cpu = timed(detector, image, 3)
            latencies.append(seconds)
            cpu_times.append(cpu)
            per_file[xml.name][name] = (faces, truth)

    rule = fit_rule(per_file.get("training.xml", {}))
    print(
        f"detector: tiles={detector.tiles} short_range={detector.short_range} "
        f"min_score={detector.min_score} tile_min_score={detector.tile_min_score} "
        f"short_min_score={detector.short_min_score}"
    )
    print(f"box adjustment fitted on training.xml: dx={rule[0]:+.3f} w, dy={rule[1]:+.3f} h, scale={rule[2]:.3f}")
    for label, used in (("raw BlazeFace boxes", IDENTITY), ("adjusted to dlib convention", rule)):
        print(f"\n== IoU >= 0.5, {label}")
        total = Score()
        for xml_name, results in per_file.items():
            score = Score()
            for faces, truth in results.values():
                score.add(faces, truth, used)
                total.add(faces, truth, used)
            print(score.line(xml_name))
        print(total.line("overall"))

    print("\n== no boxes: faces found per image")
    negatives = [root / "dlib" / "dogs.jpg"] if (root / "dlib" / "dogs.jpg").is_file() else []
    for path in [*negatives, *sorted((root / "face_recognition").glob("*"))]:
        image = Image.open(path)
        image.load()
        faces, seconds, cpu = timed(detector, image, 3)
        latencies.append(seconds)
        cpu_times.append(cpu)
        scores = ", ".join(f"{f.score:.2f}" for f in faces)
        name = f"{path.parent.name}/{path.name}"
        print(f"{name:<40} {image.size[0]}x{image.size[1]}  faces {len(faces)}  [{scores}]")

    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (timings are inflated when it is > 2)")
    print(
        f"per-image latency median {1000 * statistics.median(latencies):.1f} ms wall, "
        f"{1000 * statistics.median(cpu_times):.1f} ms CPU over {len(latencies)} images"
    )
    source = root / "face_recognition" / "obama.jpg"
    if source.is_file():
        base = Image.open(source).convert("RGB")
        for label, size in (("1 MP (1155x866)", (1155, 866)), ("12 MP (4000x3000)", (4000, 3000))):
            resized = base.resize(size)
            _, seconds, cpu = timed(detector, resized, args.bench_runs)
            print(
                f"latency {label}: median {1000 * seconds:.1f} ms wall, "
                f"{1000 * cpu:.1f} ms CPU ({args.bench_runs} runs)"
            )
        print(small_face_check(detector, source))


if __name__ == "__main__":
    main()
