"""List recent simulation jobs."""

import asyncio
import os

from odyssey_jupyter import Odyssey


async def main():
    client = Odyssey(api_key=os.environ.get("ODYSSEY_API_KEY"))
    result = await client.list_simulations(limit=10)

    for sim in result.jobs:
        print(f"{sim.job_id}: {sim.status} (created: {sim.created_at})")

    print(f"Showing {len(result.jobs)} of {result.total} total simulations")


asyncio.run(main())
