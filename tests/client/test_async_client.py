"""The asyncio client runs the same flow against a real server (``asyncio.run``: no plugin needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from originlens.client import AsyncClient, ImageResult, NotFoundError, VideoResult, WaitTimeoutError
from tests.conftest import RunningServer, image_bytes, make_user


def test_async_submit_wait_get_many_and_errors(api: RunningServer, key: str, photo_path: Path, clip_path: Path) -> None:
    async def flow() -> None:
        async with AsyncClient(base_url=api.base_url, api_key=key) as client:
            with photo_path.open("rb") as handle:
                submitted = await asyncio.gather(
                    client.submit_image(image_bytes(seed=21), with_heatmap=True),
                    client.submit_image(photo_path),
                    client.submit_image(handle),
                )
            results = await asyncio.gather(*(client.wait(s.identifier, timeout=30) for s in submitted))
            assert all(isinstance(r, ImageResult) and r.done for r in results)
            assert results[1].hash == results[2].hash and results[0].has_heatmap
            assert (await client.heatmap(results[0].identifier)).startswith(b"\x89PNG")
            many = await client.get_many([s.identifier for s in submitted])
            assert [r.identifier for r in many] == [s.identifier for s in submitted]

            await client.override(results[0].hash, "artificial")
            assert (await client.get(results[0].identifier)).force_classification == "artificial"

            video = await client.wait((await client.submit_video(clip_path)).identifier, video=True, timeout=60)
            assert isinstance(video, VideoResult) and video.done and len(video.frames) == 5
            assert len(await client.get_many_videos([video.identifier])) == 1

            assert (await client.me()).webhook_secret
            assert (await client.credits()).total_spent > 0
            with pytest.raises(NotFoundError):
                await client.tampering_map(results[0].identifier)

    asyncio.run(flow())


def test_async_wait_times_out_without_blocking_the_loop(server_factory: Callable[..., RunningServer]) -> None:
    stuck = server_factory(workers=0)
    _, key = make_user(stuck)
    ticks: list[int] = []

    async def ticker() -> None:
        for n in range(100):
            ticks.append(n)
            await asyncio.sleep(0.02)

    async def flow() -> None:
        async with AsyncClient(base_url=stuck.base_url, api_key=key) as client:
            identifier = (await client.submit_image(image_bytes(seed=22))).identifier
            background = asyncio.create_task(ticker())
            with pytest.raises(WaitTimeoutError) as caught:
                await client.wait(identifier, timeout=0.5, poll_interval=0.1, max_interval=0.2)
            background.cancel()
        assert caught.value.last is not None and caught.value.last.pending

    asyncio.run(flow())
    assert len(ticks) >= 10  # the loop kept running while wait slept
