"""A real S3-compatible server on 127.0.0.1 (moto's standalone server), reached as a user would.

The package finds it through ``AWS_ENDPOINT_URL`` and the ``AWS_*`` credentials, the
standard configuration of every S3 client, never through a test hook. By default the
server runs with access control on (``INITIAL_NO_AUTH_ACTION_COUNT``): the first requests
create an IAM user whose policy writes everywhere in ``BUCKET`` except under
``READ_ONLY``, so a wrong key and a read-only prefix are the store's own answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

BUCKET = "sweeps"
READ_ONLY = "frozen"
REGION = "us-east-1"
_SETUP_CALLS = 4
"""Unauthenticated calls the server allows: create user, put its policy, its key, the bucket."""

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Deny",
            "Action": ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": f"arn:aws:s3:::{BUCKET}/{READ_ONLY}/*",
        },
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class S3Server:
    """moto's server as a process: started, stopped and started again on one port."""

    def __init__(self, *, access_control: bool = True) -> None:
        self.access_control = access_control
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.key_id = ""
        self.secret = ""

    def start(self) -> None:
        env = dict(os.environ)
        if self.access_control:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_SETUP_CALLS)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the S3 server did not start")
        self._set_up()

    def _set_up(self) -> None:
        import boto3

        if not self.access_control:  # any key is taken: a restart keeps the client's valid
            self.key_id, self.secret = "sweeper", "sweeper-secret"
            self.client().create_bucket(Bucket=BUCKET)
            return
        iam = boto3.client(
            "iam",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id="setup",
            aws_secret_access_key="setup",
        )
        iam.create_user(UserName="sweeper")
        iam.put_user_policy(
            UserName="sweeper", PolicyName="sweeps", PolicyDocument=json.dumps(POLICY)
        )
        key = iam.create_access_key(UserName="sweeper")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        self.client().create_bucket(Bucket=BUCKET)

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def env(self) -> dict[str, str]:
        """The standard variables that point any S3 client at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_DEFAULT_REGION": REGION,
        }

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def objects(self, prefix: str) -> dict[str, int]:
        """Key -> size of every object under ``prefix``."""
        found: dict[str, int] = {}
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=BUCKET, Prefix=prefix):
            for entry in page.get("Contents", []):
                found[entry["Key"]] = int(entry["Size"])
        return found

    def read(self, key: str) -> bytes:
        body: bytes = self.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return body


@contextmanager
def s3_server(*, access_control: bool = True) -> Iterator[S3Server]:
    server = S3Server(access_control=access_control)
    server.start()
    try:
        yield server
    finally:
        server.stop()
