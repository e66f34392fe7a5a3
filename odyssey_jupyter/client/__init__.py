"""The client: Odyssey's Simulate API over HTTP, and nothing above it.

One module per job: ``odyssey`` (the ``Odyssey`` class: the endpoints, put
together from the others), ``endpoint`` (which URL and key, the local engine
found or started), ``settings`` (the size caps and pace it is handed),
``connections`` (one AsyncClient per event loop), ``calls`` (one call with its
token and retries; what servers declared), ``auth`` (the bearer token, cached
and refreshed as an ``httpx.Auth`` flow), ``retry`` (which failures are tried
again, and after how long), ``http_errors`` (answers and transport failures as
exceptions, secrets scrubbed), ``bounded`` (one deadline and a size cap per
answer, redirects by hand), ``waiting`` (polling until a job ends) and
``downloads`` (artifacts streamed to disk).

The client never imports IPython, widgets or the sync layer (``make lint`` checks it):
the session layer hands it its settings. This file imports nothing, so that reading
``settings`` does not load httpx: ``Odyssey`` is imported from ``client.odyssey``.
"""
