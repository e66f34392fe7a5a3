"""Where a sweep's dataset goes: a local folder or any fsspec URL, written whole or not at all.

``Store.open(output, storage_options)`` resolves ``output`` (a path, ``file://``,
``s3://``, ``gs://``, ``az://``, ``memory://`` ...) to a filesystem. Credentials
and endpoints come from each store's standard configuration (for S3 the
``AWS_*`` environment, ``AWS_ENDPOINT_URL`` included) or from
``storage_options``; none of them is kept: ``Store.url`` has the user and
password of the URL removed, and every message is scrubbed of the secrets it
could hold.

Nothing partial appears under a final name. A local file is written to a hidden
temporary file in the same folder and renamed; an object store gets one PUT or a
multipart upload that is completed only when the last part is sent (and aborted
on an error), so a killed process leaves no object at the final key. Other
filesystems (``memory://``) are written under a temporary key and moved. Copies
are streamed in ``CHUNK`` pieces: memory does not grow with the file's size.
"""

from __future__ import annotations

import contextlib
import os
import secrets as token
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from odyssey_jupyter.errors import OdysseyError
from odyssey_jupyter.files.private import create_private_file, make_private_dir
from odyssey_jupyter.text.redaction import scrub

CHUNK = 1024 * 1024
"""Bytes read and written at a time when copying a recording."""
PART = 16 * 1024 * 1024
"""Multipart part size for object stores (S3 takes 5 MiB and more)."""

PARALLEL_PARTS = 2
"""Parts of one multipart upload in flight at once (S3)."""
PUT_FILE_OPTIONS: dict[str, dict[str, int]] = {
    "s3": {"chunksize": PART, "max_concurrency": PARALLEL_PARTS},
    "s3a": {"chunksize": PART, "max_concurrency": PARALLEL_PARTS},
}
"""Options of each object store's ``put_file`` that bound its memory (others: defaults)."""
OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl"})
"""Protocols whose writer commits on close and can abort (multipart or resumable upload)."""
EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure"}
"""Protocol -> the extra that installs its filesystem."""
SECRET_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)
"""Environment variables whose values never appear in a message."""


class StoreError(OdysseyError):
    """The output store cannot be used or failed; the message names its URL (no credentials)."""


def output_text(output: object) -> str:
    """``output`` as text, checked: a folder (str or path) or a URL."""
    if not isinstance(output, str | os.PathLike):
        raise StoreError(
            f"output must be a folder or a URL such as s3://bucket/prefix, not "
            f"{type(output).__name__}"
        )
    text = os.fspath(output)
    if not isinstance(text, str) or not text.strip():
        raise StoreError("output is empty: give a folder or a URL such as s3://bucket/prefix")
    return text


def public_url(output: str | os.PathLike[str]) -> str:
    """``output`` without user, password, query or fragment; a local path made absolute."""
    text = os.fspath(output)
    parts = urlsplit(text)
    if not parts.scheme or len(parts.scheme) == 1:  # a path (a Windows drive is not a scheme)
        return str(Path(text).expanduser().resolve())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _secrets(storage_options: Mapping[str, Any] | None, output: str) -> list[str | None]:
    found: list[str | None] = [os.environ.get(name) for name in SECRET_ENV]
    found.extend(_strings(storage_options or {}))
    parts = urlsplit(output)
    found.extend([parts.password, parts.username, parts.query or None])
    return found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


@dataclass
class Store:
    """One output location: its public URL, its filesystem, and how to write there safely."""

    url: str
    """The output as shown and kept in the ledger: never a credential."""
    fs: Any
    root: str
    """The filesystem's path of the output (``bucket/prefix``, or an absolute folder)."""
    local: bool
    protocol: str
    secrets: list[str | None] = field(default_factory=list, repr=False)

    @classmethod
    def open(
        cls, output: str | os.PathLike[str], storage_options: Mapping[str, Any] | None
    ) -> Store:
        """Resolve ``output``; a missing filesystem package is an error naming the extra."""
        text = output_text(output)
        if storage_options is not None and not isinstance(storage_options, Mapping):
            raise StoreError(
                "storage_options must be a dict of fsspec options (such as "
                f"{{'endpoint_url': ...}}), not {type(storage_options).__name__}"
            )
        url = public_url(text)
        hidden = _secrets(storage_options, text)
        try:
            import fsspec
            from fsspec.core import url_to_fs
        except ImportError:  # pragma: no cover - fsspec is a core dependency
            raise StoreError("output= needs fsspec: pip install fsspec") from None
        del fsspec
        if url.startswith("/") or "://" not in text:
            from fsspec.implementations.local import LocalFileSystem

            return cls(url, LocalFileSystem(), url, True, "file", hidden)
        try:
            # a new instance each time: credentials and endpoints are read from the
            # environment now, not from whatever an earlier sweep saw
            options = {"skip_instance_cache": True, **dict(storage_options or {})}
            fs, root = url_to_fs(text, **options)
        except ImportError:
            scheme = urlsplit(text).scheme
            extra = EXTRAS.get(scheme)
            how = (
                f"pip install 'odyssey_jupyter[{extra}]'" if extra else "install its fsspec package"
            )
            raise StoreError(f"{url}: no filesystem for {scheme}:// is installed; {how}") from None
        except (ValueError, TypeError) as exc:
            raise StoreError(f"{url}: {scrub(str(exc), hidden)}") from None
        protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
        local = protocol in ("file", "local")
        return cls(url, fs, str(root).rstrip("/"), local, protocol, hidden)

    # ------------------------------------------------------------------ naming

    def path(self, key: str) -> str:
        """The filesystem path of ``key`` (relative to the output)."""
        return f"{self.root}/{key}"

    def uri(self, key: str) -> str:
        """The absolute URI of ``key``, as the manifest gives it."""
        if self.local:
            return Path(self.path(key)).as_uri()
        return f"{self.url}/{key}"

    def describe(self, exc: BaseException) -> str:
        """An exception as text fit for a message: scrubbed of every secret."""
        text = str(exc) or type(exc).__name__
        return scrub(f"{type(exc).__name__}: {text}", self.secrets)

    def error(self, doing: str, exc: BaseException) -> StoreError:
        """One clear error naming the URL and what failed."""
        reason = self.describe(exc)
        if isinstance(exc, FileNotFoundError):
            reason = f"it does not exist (check the bucket or folder name); {reason}"
        elif isinstance(exc, PermissionError):
            reason = f"permission denied (check the credentials and their rights); {reason}"
        return StoreError(f"{self.url}: cannot {doing}: {reason}")

    # ------------------------------------------------------------------ reading

    def size(self, key: str) -> int | None:
        """The size of the object at ``key``, or ``None`` when there is none."""
        path = self.path(key)
        if self.local:
            try:
                return os.stat(path).st_size
            except FileNotFoundError:
                return None
        with contextlib.suppress(Exception):
            self.fs.invalidate_cache(path)
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        if info.get("type") == "directory":
            return None
        return int(info.get("size") or 0)

    def sizes(self, prefix: str) -> dict[str, int]:
        """Key -> size of every object under ``prefix`` (one listing, not one request each)."""
        base = self.path(prefix).rstrip("/")
        if self.local and not os.path.isdir(base):
            return {}
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return {}
        head = self.root.rstrip("/") + "/"
        return {
            str(name)[len(head) :]: int(info.get("size") or 0)
            for name, info in found.items()
            if str(name).startswith(head) and info.get("type") != "directory"
        }

    def open_read(self, key: str) -> IO[bytes]:
        handle: IO[bytes] = self.fs.open(self.path(key), "rb")
        return handle

    # ------------------------------------------------------------------ writing

    def put_file(self, source: Path, key: str) -> int:
        """Copy ``source`` to ``key`` in chunks; the object appears only when whole.

        To an object store the filesystem's own ``put_file`` sends it: one PUT, or a
        multipart upload of ``PART``-sized parts (a few at once, so memory is bounded
        by ``PART`` times ``PARALLEL_PARTS``) completed after the last part and
        aborted on an error.
        """
        if not self.local and self.protocol in OBJECT_STORES:
            options = PUT_FILE_OPTIONS.get(self.protocol, {})
            self.fs.put_file(str(source), self.path(key), **options)
            return source.stat().st_size
        with open(source, "rb") as src:
            return self.put_stream(src, key)

    def put_bytes(self, data: bytes, key: str) -> None:
        """Write a small object (a manifest, a probe) whole: one PUT or one rename."""
        import io

        self.put_stream(io.BytesIO(data), key)

    def put_stream(self, source: IO[bytes], key: str) -> int:
        """Copy a readable stream to ``key``; returns the bytes written."""
        if self.local:
            return self._put_local(source, key)
        if self.protocol in OBJECT_STORES:
            return self._put_object(source, self.path(key))
        temporary = self.path(f"{key}.part-{token.token_hex(4)}")
        try:
            written = self._put_object(source, temporary)
            self.fs.mv(temporary, self.path(key))
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm(temporary)
            raise
        return written

    def _put_local(self, source: IO[bytes], key: str) -> int:
        final = Path(self.path(key))
        folder = Path(self.root)
        make_private_dir(folder)
        for part in Path(key).parent.parts:  # each folder below the output: no planted link
            folder = folder / part
            make_private_dir(folder)
        temporary = final.with_name(f".{final.name}.{token.token_hex(4)}.part")
        written = 0
        try:
            with os.fdopen(create_private_file(temporary, exclusive=True), "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        return written

    def _put_object(self, source: IO[bytes], path: str) -> int:
        writer = self.fs.open(path, "wb", block_size=PART)
        written = 0
        try:
            while chunk := source.read(CHUNK):
                writer.write(chunk)
                written += len(chunk)
        except BaseException:
            # abort the multipart upload: nothing reaches the final key
            with contextlib.suppress(Exception):
                writer.discard()
            with contextlib.suppress(Exception):  # not on every writer class
                writer.buffer = None
                writer.closed = True  # else collecting it would close it: commit a partial
            raise
        writer.close()
        return written

    def remove(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            if self.local:
                os.unlink(self.path(key))
            else:
                self.fs.rm(self.path(key))

    def check_writable(self, prefix: str) -> None:
        """Write, measure and delete a small object under ``prefix``: the store works for us.

        A missing bucket, a read-only prefix or refused credentials raise one
        :class:`StoreError` naming the URL, before anything is sent.
        """
        key = f"{prefix}/.odyssey-write-check-{token.token_hex(4)}"
        probe = b"odyssey_jupyter write check\n"
        try:
            self.put_bytes(probe, key)
            found = self.size(key)
        except Exception as exc:
            raise self.error("write there", exc) from None
        with contextlib.suppress(Exception):
            self.remove(key)
        if found != len(probe):
            raise StoreError(f"{self.url}: an object written there reads back as {found} bytes")
