"""The verdict rules on their own: who, where and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from anticounterfeit.verdicts import Sighting, Verdict, assess, count_people

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SH = (31.23, 121.47)
SH_NEAR = (31.235, 121.475)
BJ = (39.90, 116.40)


def at(minutes: float, **kw: object) -> Sighting:
    return Sighting(T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]


def test_first_sighting_is_authentic() -> None:
    assert assess([], at(0, consumer_id="a")).verdict is Verdict.authentic


def test_same_consumer_same_device_are_one_person() -> None:
    prev = [at(0, consumer_id="a"), at(5, device_id="d1", consumer_id="a"), at(9, device_id="d1")]
    result = assess(prev, at(60, consumer_id="a"))
    assert result.verdict is Verdict.authentic_repeat and result.people == 1


def test_two_consumers_are_never_honest() -> None:
    result = assess([at(0, consumer_id="a")], at(1, consumer_id="b"))
    assert result.verdict is Verdict.suspect_copy and result.why == "many_people"


def test_camera_then_app_within_minutes_same_place() -> None:
    prev = [at(0, device_id="web-1", lat=SH[0], lng=SH[1])]
    now = at(10, consumer_id="a", lat=SH_NEAR[0], lng=SH_NEAR[1])
    assert assess(prev, now).verdict is Verdict.authentic_repeat


def test_camera_then_app_too_late_or_elsewhere_is_suspect() -> None:
    late = assess([at(0, device_id="web-1")], at(120, consumer_id="a"))
    assert late.verdict is Verdict.suspect_copy
    far = [at(0, device_id="web-1", lat=SH[0], lng=SH[1])]
    hangzhou = at(10, consumer_id="a", lat=30.27, lng=120.15)
    assert assess(far, hangzhou).verdict is Verdict.suspect_copy


def test_impossible_travel() -> None:
    prev = [at(0, device_id="d", lat=SH[0], lng=SH[1])]
    result = assess(prev, at(60, device_id="d", lat=BJ[0], lng=BJ[1]))
    assert result.verdict is Verdict.suspect_copy and result.why == "impossible_travel"
    assert result.distance_km is not None and result.distance_km > 1000


def test_a_flight_later_is_possible() -> None:
    prev = [at(0, device_id="d", lat=SH[0], lng=SH[1])]
    assert (
        assess(prev, at(6 * 60, device_id="d", lat=BJ[0], lng=BJ[1])).verdict
        is Verdict.authentic_repeat
    )


def test_location_noise_is_not_travel() -> None:
    prev = [at(0, device_id="d", lat=SH[0], lng=SH[1], accuracy_m=20_000)]
    now = at(1, device_id="d", lat=31.45, lng=121.47, accuracy_m=20_000)
    assert assess(prev, now).verdict is Verdict.authentic_repeat


def test_anonymous_without_device_fall_back_to_ip() -> None:
    assert count_people([at(0, ip="1.2.3.4"), at(1, ip="1.2.3.4")]) == 1
    assert count_people([at(0, ip="1.2.3.4"), at(1, ip="5.6.7.8")]) == 2
    assert count_people([at(0), at(1)]) == 2
