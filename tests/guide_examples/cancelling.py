"""Submit a long simulation and cancel it straight away."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    job = await client.simulate(
        script=[
            {"timestamp_ms": 0, "start": {"prompt": "A slow train crossing a snowy plain"}},
            {"timestamp_ms": 120000, "end": {}},
        ]
    )

    await client.cancel_simulation(job.job_id)
    print("Simulation cancelled")

    status = await client.get_simulate_status(job.job_id)
    print(f"Status now: {status.status}")


asyncio.run(main())
