"""The web view's fan-out: many pages on one topic share one view per change, and a change wakes
only the pages that show what it touched."""

from __future__ import annotations

import asyncio

from dagwright.ui.app import Hub, _events


def test_fifty_pages_on_one_run_build_its_view_once_per_change():
    hub = Hub()
    builds: list[int] = []

    def build() -> dict:
        builds.append(1)
        return {"n": len(builds)}

    views = {hub.view("run/data/a", "run/data/a", build) for _ in range(50)}
    assert views == {'{"n":1}'} and len(builds) == 1
    hub.changed({"run/data/a"})
    assert {hub.view("run/data/a", "run/data/a", build) for _ in range(50)} == {'{"n":2}'}
    assert len(builds) == 2


def test_a_change_wakes_only_the_streams_of_the_topics_it_touched():
    async def scenario() -> tuple[list[str], list[str]]:
        hub = Hub()
        counter = {"a": 0, "b": 0}

        def builder(name: str):
            def build() -> dict:
                counter[name] += 1
                return {name: counter[name]}
            return build

        a, b = _events(hub, "run/ns/a", "run/ns/a", builder("a")), _events(hub, "run/ns/b", "run/ns/b", builder("b"))
        first = [await a.__anext__(), await b.__anext__()]
        hub.changed({"run/ns/a", "runs"})
        second_a = await asyncio.wait_for(a.__anext__(), 2)
        b_next = asyncio.ensure_future(b.__anext__())
        await asyncio.sleep(0.5)
        assert not b_next.done()  # b was not touched: nothing sent
        b_next.cancel()
        await a.aclose()
        return first, [second_a]

    first, second = asyncio.run(scenario())
    assert first == ['data: {"a":1}\n\n', 'data: {"b":1}\n\n']
    assert second == ['data: {"a":2}\n\n']
