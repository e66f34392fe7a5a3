"""Image-to-video: the start image is given as the bytes of a file."""

import asyncio
import os
import tempfile

from PIL import Image

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    image_path = os.path.join(tempfile.mkdtemp(), "harbour.png")
    Image.new("RGB", (640, 640), (40, 80, 160)).save(image_path)

    with open(image_path, "rb") as f:
        image_bytes = f.read()

    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A quiet harbour", "image": image_bytes}},
            {"timestamp_ms": 2000, "end": {}},
        ]
    )
    status = job
    while status.status not in ("completed", "failed", "cancelled"):
        await asyncio.sleep(0.5)
        status = await client.get_simulate_status(job.job_id)
    print(f"Image job {job.job_id}: {status.status}")


asyncio.run(main())
