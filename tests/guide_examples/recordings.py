"""Wait for a job, then ask for each stream's recording."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A hot air balloon over green hills"}},
            {"timestamp_ms": 1000, "interact": {"prompt": "The balloon rises into clouds"}},
            {"timestamp_ms": 2000, "end": {}},
        ]
    )
    while True:
        result = await client.get_simulate_status(job.job_id)
        if result.status in ("completed", "failed", "cancelled"):
            break
        await asyncio.sleep(0.5)

    for stream in result.streams:
        recording = await client.get_recording(stream.stream_id)
        print(f"Video URL: {recording.video_url}")
        print(f"Duration: {recording.duration_seconds} seconds")


asyncio.run(main())
