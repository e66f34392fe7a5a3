"""Catch API errors, and report per-stream failures of a failed job."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))

    try:
        job = await client.simulate(
            script=[
                {"timestamp_ms": 0, "start": {"prompt": "Fireflies over a pond at night"}},
                {"timestamp_ms": 2000, "end": {}},
            ]
        )

        status = await client.get_simulate_status(job.job_id)

        if status.status == "failed":
            print(f"Job failed: {status.error_message}")

            for stream in status.streams:
                if stream.status == "failed":
                    print(f"Stream {stream.stream_id} failed: {stream.error_message}")
        else:
            print(f"Job {job.job_id} is {status.status}")

        await client.get_simulate_status("no-such-job")

    except Exception as e:
        print(f"API error: {e}")


asyncio.run(main())
