"""Free loopback ports.

Fixed ports collide with whatever else runs on the machine (another test session, a developer's
server), so every stand-in asks the kernel for free ones. The kernel may hand a port to someone
else between our probe and the server's bind; callers must therefore also watch their process
(see ``devstack.process``), which dies on a bind failure.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """Return a TCP port on ``host`` that nobody listens on right now."""
    return free_ports(1, host)[0]


def free_ports(count: int, host: str = LOOPBACK) -> tuple[int, ...]:
    """Return ``count`` distinct free TCP ports on ``host``.

    All sockets stay bound until every port is chosen, so the kernel cannot return the same
    port twice (which sequential ``free_port`` calls could).
    """
    with ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return tuple(ports)
