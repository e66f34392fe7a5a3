"""Image-to-video: the start image is already a base64 data URL."""

import asyncio
import base64
import io
import os

from PIL import Image

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    buffer = io.BytesIO()
    Image.new("RGB", (320, 180), (200, 120, 40)).save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()

    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "Desert dunes at noon", "image": data_url}},
            {"timestamp_ms": 2000, "end": {}},
        ]
    )
    status = job
    while status.status not in ("completed", "failed", "cancelled"):
        await asyncio.sleep(0.5)
        status = await client.get_simulate_status(job.job_id)
    print(f"Image job {job.job_id}: {status.status}")


asyncio.run(main())
