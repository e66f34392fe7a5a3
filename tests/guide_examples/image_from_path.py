"""Image-to-video: the start image is given as a file path string."""

import asyncio
import os
import tempfile

from PIL import Image

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    image_path = os.path.join(tempfile.mkdtemp(), "meadow.jpg")
    Image.new("RGB", (800, 450), (70, 150, 60)).save(image_path)

    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A meadow in spring", "image": image_path}},
            {"timestamp_ms": 1000, "interact": {"prompt": "A fox runs through the grass"}},
            {"timestamp_ms": 2000, "end": {}},
        ],
        portrait=False,
    )
    status = job
    while status.status not in ("completed", "failed", "cancelled"):
        await asyncio.sleep(0.5)
        status = await client.get_simulate_status(job.job_id)
    print(f"Image job {job.job_id}: {status.status}")


asyncio.run(main())
