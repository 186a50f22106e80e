"""The whole-video verdict: a short confident fake segment cannot hide among real frames."""

from __future__ import annotations

import pytest

from originlens.verdicts.heuristics import Verdict
from originlens.verdicts.video import FrameVerdict, SpeechTrackVerdict, VideoRule, video_verdict, with_speech

H = "AverageExcludeObsolete"


def frames(spec: list[tuple[str, float] | None]) -> list[FrameVerdict]:
    """One frame per second; ``None`` is a frame nobody could judge."""
    out = []
    for i, item in enumerate(spec):
        if item is None:
            out.append(FrameVerdict(i * 25, float(i), "human", 0.5, (), unknown=True))
        else:
            out.append(FrameVerdict(i * 25, float(i), item[0], item[1], ("V01", "spectral")))  # type: ignore[arg-type]
    return out


def test_short_confident_segment_is_artificial() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.9)] * 10
    spec[4] = spec[5] = ("artificial", 0.93)
    v = video_verdict(H, frames(spec))
    assert v.classification == "artificial" and not v.unknown
    assert v.rule == "run"
    assert v.count == {"human": 8, "artificial": 2, "unknown": 0}
    assert [f.index for f in v.frames_flagged] == [100, 125]
    assert v.confidence == pytest.approx(0.93)
    assert "4.00-5.00 s" in v.reason
    j = v.to_json()
    assert set(j) == {
        "heuristic",
        "classification",
        "confidence",
        "count",
        "unknown",
        "models",
        "reason",
        "frames_flagged",
    }
    assert j["frames_flagged"][0] == {"index": 100, "timestamp": 4.0, "confidence": 0.93}
    assert j["models"] == ["V01", "spectral"]


def test_unknown_frames_do_not_break_a_run() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.9)] * 10
    spec[4], spec[5], spec[6] = ("artificial", 0.9), None, ("artificial", 0.85)
    v = video_verdict(H, frames(spec))
    assert v.classification == "artificial" and v.count["unknown"] == 1


def test_scattered_low_confidence_frames_are_human() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.8)] * 10
    spec[1] = spec[5] = spec[8] = ("artificial", 0.6)
    v = video_verdict(H, frames(spec))
    assert v.classification == "human" and v.rule == "none" and v.frames_flagged == []
    assert v.count == {"human": 7, "artificial": 3, "unknown": 0}
    assert v.confidence == pytest.approx((7 * 0.8 + 3 * 0.4) / 10)


def test_two_adjacent_but_unconfident_frames_are_human() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.9)] * 10
    spec[4] = ("artificial", 0.95)
    spec[5] = ("artificial", 0.7)
    assert video_verdict(H, frames(spec)).classification == "human"


def test_fraction_rule() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.7), ("artificial", 0.6)] * 5
    v = video_verdict(H, frames(spec))
    assert v.classification == "artificial" and v.rule == "fraction"
    assert len(v.frames_flagged) == 5 and v.confidence == pytest.approx(0.6)
    stricter = video_verdict(H, frames(spec), VideoRule(min_fraction=0.6))
    assert stricter.classification == "human"


def test_all_unknown_is_unknown() -> None:
    v = video_verdict(H, frames([None] * 5))
    assert v.unknown and v.classification == "human" and v.confidence == 0.5
    assert v.count == {"human": 0, "artificial": 0, "unknown": 5} and v.models == []
    assert video_verdict(H, []).unknown


def test_order_and_from_verdict() -> None:
    a = Verdict(H, "artificial", 0.9, ["V01"])
    f = [FrameVerdict.from_verdict(i, i / 10, a) for i in (3, 2)]
    human = [FrameVerdict(i, i / 10, "human", 0.9, ("V01",)) for i in (0, 1, 4, 5, 6, 7, 8, 9)]
    v = video_verdict(H, [*human, *f])  # shuffled input: sorted by timestamp
    assert v.classification == "artificial" and [x.index for x in v.frames_flagged] == [2, 3]


def test_single_frame_rule() -> None:
    spec: list[tuple[str, float] | None] = [("human", 0.9)] * 9
    spec.append(("artificial", 0.99))
    assert video_verdict(H, frames(spec)).classification == "human"
    assert video_verdict(H, frames(spec), VideoRule(run_length=1)).classification == "artificial"
    with pytest.raises(ValueError):
        VideoRule(run_length=0)


FAKE_VOICE = SpeechTrackVerdict("artificial", 0.8, models=("speech",))
REAL_VOICE = SpeechTrackVerdict("human", 0.9, models=("speech",))


def test_a_synthetic_voice_makes_real_looking_frames_artificial() -> None:
    frames_say = video_verdict(H, frames([("human", 0.9)] * 6))
    v = with_speech(frames_say, FAKE_VOICE)
    assert (v.classification, v.confidence, v.unknown, v.rule) == ("artificial", 0.8, False, "speech")
    assert v.models == ["V01", "spectral", "speech"]
    assert v.reason.startswith("the speech track is artificial") and frames_say.reason in v.reason
    assert v.count == frames_say.count and v.frames_flagged == []  # the frames' own account is kept
    assert v.to_json()["speech"] == {"classification": "artificial", "confidence": 0.8, "unknown": False,
                                     "models": ["speech"]}  # fmt: skip


def test_with_artificial_frames_and_voice_the_more_confident_one_counts() -> None:
    frames_say = video_verdict(H, frames([("artificial", 0.95)] * 4))
    v = with_speech(frames_say, FAKE_VOICE)
    assert v.classification == "artificial" and v.confidence == pytest.approx(0.95)
    assert v.rule == frames_say.rule == "fraction+run"  # still the frames' rule that decided


@pytest.mark.parametrize("voice", [REAL_VOICE, SpeechTrackVerdict("human", 0.5, unknown=True)])
def test_a_human_or_unknown_voice_changes_nothing(voice: SpeechTrackVerdict) -> None:
    for spec in ([("artificial", 0.95)] * 4, [("human", 0.9)] * 4, [None, None]):
        frames_say = video_verdict(H, frames(spec))
        v = with_speech(frames_say, voice)
        assert (v.classification, v.confidence, v.unknown, v.models, v.reason) == (
            frames_say.classification, frames_say.confidence, frames_say.unknown, frames_say.models, frames_say.reason
        )  # fmt: skip
        assert v.to_json()["speech"]["classification"] == "human"


def test_no_speech_track_leaves_the_verdict_as_it_was() -> None:
    frames_say = video_verdict(H, frames([("human", 0.9)] * 3))
    assert with_speech(frames_say, None) is frames_say and "speech" not in frames_say.to_json()
