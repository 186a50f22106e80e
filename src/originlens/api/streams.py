"""Streamed uploads and downloads: the first bytes are sniffed before anything is stored."""

from __future__ import annotations

from collections.abc import Iterator


def split_head(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes (for sniffing) and an iterator over everything after them."""
    head = b""
    iterator = iter(chunks)
    for chunk in iterator:
        head += chunk
        if len(head) >= size:
            break

    def rest() -> Iterator[bytes]:
        if len(head) > size:
            yield head[size:]
        yield from iterator

    return head[:size], rest()
