"""Submit, poll until the job is no longer pending or running, then print the recordings."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def run_simulation():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))

    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A robot watering plants on a balcony"}},
            {"timestamp_ms": 1000, "interact": {"prompt": "The robot waves at a neighbour"}},
            {"timestamp_ms": 2000, "interact": {"prompt": "Rain starts to fall"}},
            {"timestamp_ms": 3000, "end": {}},
        ],
        portrait=True,
    )

    print(f"Started simulation: {job.job_id}")

    status = None
    while True:
        await asyncio.sleep(0.5)
        status = await client.get_simulate_status(job.job_id)
        print(f"Status: {status.status}")

        if status.status not in ("pending", "running"):
            break

    if status.status == "completed":
        for stream in status.streams:
            recording = await client.get_recording(stream.stream_id)
            print(f"Recording ready: {recording.video_url}")
    else:
        print(f"Simulation failed: {status.error_message}")


asyncio.run(run_simulation())
