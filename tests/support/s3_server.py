"""A local S3-compatible server for the tests: moto's server mode on a free port of
127.0.0.1, standing in for the cloud service (AWS S3, MinIO...), which a test cannot reach.
The code under test talks plain S3 over HTTP to it through boto3, as in production."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def s3_server() -> Iterator[str]:
    """Yields the endpoint URL, ``http://127.0.0.1:<port>``."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
