"""Submit one landscape simulation and print what the API said about it."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))

    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A lighthouse on a rocky coast at dawn"}},
            {"timestamp_ms": 1000, "interact": {"prompt": "Waves crash against the rocks"}},
            {"timestamp_ms": 2000, "end": {}},
        ],
        portrait=False,
    )

    print(f"Simulation ID: {job.job_id}")
    print(f"Status: {job.status}")


asyncio.run(main())
