"""Noise learned per route and per field from two legacy answers."""

from __future__ import annotations

import json
import threading

from parity import NoiseModel, Response, compare


def answer(body: object) -> Response:
    return Response(200, {"content-type": "application/json"}, json.dumps(body))


def test_a_field_that_differs_between_two_legacy_answers_is_noise() -> None:
    noise = NoiseModel()
    learned = noise.learn(
        "orders", answer({"id": 1, "at": "10:00"}), answer({"id": 1, "at": "10:01"})
    )
    assert learned == frozenset({"$.at"})
    assert noise.is_noise("orders", "$.at") and not noise.is_noise("orders", "$.id")
    assert not noise.is_noise("other", "$.at")  # per route


def test_noise_is_kept_by_field_across_array_positions() -> None:
    noise = NoiseModel()
    noise.learn("list", answer({"items": [{"ts": 1}]}), answer({"items": [{"ts": 2}]}))
    result = compare(
        answer({"items": [{"ts": 1}, {"ts": 5, "q": 1}]}),
        answer({"items": [{"ts": 9}, {"ts": 6, "q": 2}]}),
        route="list",
        noise=noise,
    )
    assert [d.path for d in result.differences] == ["$.items[1].q"]
    assert [d.path for d in result.noise] == ["$.items[0].ts", "$.items[1].ts"]


def test_a_real_change_next_to_noise_is_still_caught() -> None:
    legacy = answer({"price": 9.99, "at": 1})
    result = compare(
        legacy,
        answer({"price": 10, "at": 3}),
        route="p",
        legacy_again=answer({"price": 9.99, "at": 2}),
    )
    assert [d.path for d in result.differences] == ["$.price"]
    assert [d.path for d in result.noise] == ["$.at"]
    assert "ignored as learned noise: $.at" in result.render()


def test_learning_can_be_turned_off_by_rule() -> None:
    from parity import RouteRules

    rules = RouteRules(learn_noise=False)
    result = compare(
        answer({"at": 1}), answer({"at": 3}), rules, route="p", legacy_again=answer({"at": 2})
    )
    assert not result.match and not result.noise


def test_counts_are_kept_per_route_and_field_and_survive_a_round_trip() -> None:
    noise = NoiseModel()
    noise.learn("r", answer({"a": 1, "b": 1}), answer({"a": 2, "b": 1}))
    noise.learn("r", answer({"a": 1, "b": 1}), answer({"a": 1, "b": 1}))
    assert noise.stats() == {"r": {"pairs": 2, "fields": {"$.a": 1}}}
    again = NoiseModel.from_dict(json.loads(json.dumps(noise.to_dict())))
    assert again.stats() == noise.stats() and again.is_noise("r", "$.a")


def test_the_model_can_be_taught_from_many_threads() -> None:
    noise = NoiseModel()

    def teach(n: int) -> None:
        for i in range(100):
            noise.add(f"r{n % 2}", {f"$.f{i % 3}"})

    threads = [threading.Thread(target=teach, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = noise.stats()
    assert stats["r0"]["pairs"] == 200 and sum(stats["r1"]["fields"].values()) == 200
