"""Real server processes over HTTP: `serve --workers 2` (upload, concurrent reads, metrics from all
workers, delete) and `demo --serve`."""

from __future__ import annotations

import asyncio
import io

import httpx
from PIL import Image

from pjstore.samples import DEFAULT_SAMPLES

from serving import metric, running_server

KINDS_UPLOADED = ("420_q75", "oriented_6", "gray", "icc")


async def _upload_all(url: str, kinds: dict[str, bytes]) -> list[dict]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        responses = await asyncio.gather(*(
            client.post("/v1/images", content=kinds[k], headers={"Content-Type": "image/jpeg"})
            for k in KINDS_UPLOADED))
    assert [r.status_code for r in responses] == [201] * len(KINDS_UPLOADED)
    return [r.json() for r in responses]


async def _read_all(url: str, infos: list[dict], rounds: int) -> list[tuple[dict, dict, httpx.Response]]:
    """Every image at every scale, `rounds` times, 8 requests in flight."""
    jobs = [(info, row) for _ in range(rounds) for info in infos for row in info["scales"]]
    limit = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        async def fetch(info: dict, row: dict) -> tuple[dict, dict, httpx.Response]:
            async with limit:
                return info, row, await client.get(f"/v1/images/{info['id']}", params={"scale": row["scale"]})

        return await asyncio.gather(*(fetch(info, row) for info, row in jobs))


def test_two_workers_share_one_store(tmp_path, kinds):
    with running_server(tmp_path / "store", "--workers", "2") as server:
        url = server.url
        infos = asyncio.run(_upload_all(url, kinds))
        again = httpx.post(f"{url}/v1/images", content=kinds["gray"], headers={"Content-Type": "image/jpeg"})
        assert again.status_code == 200

        results = asyncio.run(_read_all(url, infos, rounds=3))
        for info, row, response in results:
            assert response.status_code == 200
            assert int(response.headers["x-pjstore-bytes-read"]) == row["offset"]
            size = (row["height"], row["width"]) if info["orientation"] >= 5 else (row["width"], row["height"])
            assert Image.open(io.BytesIO(response.content)).size == size

        # Any worker reports the requests all workers served.
        text = httpx.get(f"{url}/metrics").text
        served = metric(text, "pjstore_http_requests_total", route="/v1/images/{image_id}", method="GET", status="200")
        assert served == len(results)
        assert metric(text, "pjstore_uploads_total", outcome="created") == len(KINDS_UPLOADED)

        gone = infos[0]["id"]
        assert httpx.delete(f"{url}/v1/images/{gone}").status_code == 204
        for _ in range(4):  # whichever worker answers, the image is gone
            assert httpx.get(f"{url}/v1/images/{gone}/info").status_code == 404
        listed = httpx.get(f"{url}/v1/images").json()["ids"]
        assert sorted(listed) == sorted(info["id"] for info in infos[1:])


def test_demo_goes_on_to_serve_what_it_ingested(tmp_path):
    with running_server(tmp_path / "store", "--serve", command="demo", startup_timeout=300) as server:
        url = server.url
        listed = httpx.get(f"{url}/v1/images").json()["ids"]
        assert len(listed) == len(DEFAULT_SAMPLES)
        info = httpx.get(f"{url}/v1/images/{listed[0]}/info").json()
        response = httpx.get(f"{url}/v1/images/{listed[0]}", params={"scale": 0.1})
        assert response.status_code == 200
        assert int(response.headers["x-pjstore-bytes-read"]) == info["scales"][0]["offset"]
