"""Clients that misbehave on purpose: raw sockets that send a request and then never read.

An aiohttp client reads whatever arrives in the background, so it can never play a client that
does not read. These helpers speak just enough HTTP/1.1 and RFC 6455 over a blocking socket with a
small receive buffer, so the server's writes back up as soon as the client stops reading.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

SMALL_RCVBUF = 4096
OP_TEXT, OP_BINARY, OP_CLOSE = 0x1, 0x2, 0x8


def _connect(url: str, rcvbuf: int) -> tuple[socket.socket, str]:
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: sets the window
    sock.settimeout(10)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    return sock, f"{parts.hostname}:{parts.port}"


def post_and_never_read(url: str, body: bytes, rcvbuf: int = SMALL_RCVBUF) -> socket.socket:
    """POST ``body`` to ``url`` and return the socket without reading anything from it."""
    sock, host = _connect(url, rcvbuf)
    head = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body)
    return sock


def ws_connect(url: str, rcvbuf: int = SMALL_RCVBUF) -> socket.socket:
    """Open ``/ws`` on the node at ``url`` (http://host:port/) and complete the handshake."""
    sock, host = _connect(url, rcvbuf)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("server closed during the WebSocket handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(f"WebSocket handshake refused: {head[:80]!r}")
    return sock


def ws_frame(payload: bytes, opcode: int = OP_TEXT) -> bytes:
    """One final, masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def ws_send(sock: socket.socket, message: Any, opcode: int = OP_TEXT) -> None:
    data = message if isinstance(message, bytes) else json.dumps(message).encode()
    sock.sendall(ws_frame(data, opcode))


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return bytes(out)


def ws_frames(sock: socket.socket) -> Iterator[tuple[int, bytes]]:
    """(opcode, payload) of each server frame until the connection ends (EOF or reset)."""
    try:
        while True:
            b0, b1 = _recv_exact(sock, 2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", _recv_exact(sock, 2))[0]
            elif n == 127:
                n = struct.unpack("!Q", _recv_exact(sock, 8))[0]
            yield b0 & 0x0F, _recv_exact(sock, n)
    except (EOFError, ConnectionError, TimeoutError):
        return


def close_reason(payload: bytes) -> tuple[int, str]:
    """The (code, reason) of a close frame's payload."""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode()


def drained(sock: socket.socket, limit: int = 1 << 30) -> int:
    """Read until the server ends the connection; the number of bytes that were waiting."""
    total = 0
    try:
        while total < limit:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            total += len(chunk)
    except (ConnectionError, TimeoutError):
        pass
    return total
