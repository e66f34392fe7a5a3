"""Submit, then poll get_simulate_status until the job reaches an end state."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def wait_for_completion(client, job_id):
    while True:
        status = await client.get_simulate_status(job_id)

        if status.status == "completed":
            return status
        if status.status == "failed":
            raise Exception(f"Simulation failed: {status.error_message}")
        if status.status == "cancelled":
            raise Exception("Simulation was cancelled")

        await asyncio.sleep(0.5)


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A paper boat drifting down a gutter"}},
            {"timestamp_ms": 2000, "end": {}},
        ]
    )
    result = await wait_for_completion(client, job.job_id)
    print(f"Simulation completed: {result.job_id} with {len(result.streams)} stream(s)")


asyncio.run(main())
