"""Test helper: block and log every network connection that leaves this machine.

A test puts this folder first on PYTHONPATH, so that Python imports this module at start-up in
the process under test and in every Python child it starts. Connections to loopback addresses and
Unix sockets are allowed. Any other connect, sendto or name lookup raises ``OSError`` and appends
one line to the file named by ``SHOCHU_SOCKET_GUARD_LOG``, so that an attempt is seen even when the
code under test catches the error. Each process that loads the guard also appends its id to the file
named by ``SHOCHU_SOCKET_GUARD_READY``, so the test can tell that the guard was active.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("SHOCHU_SOCKET_GUARD_LOG")
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_real_getaddrinfo = socket.getaddrinfo


def _is_local(host) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _block(action: str, target) -> None:
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {action} {target!r}\n")
    raise OSError(f"network access blocked by the test socket guard: {action} {target!r}")


class GuardedSocket(socket.socket):
    def _check(self, action: str, address) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address[0]):
            _block(action, address)

    def connect(self, address):
        self._check("connect", address)
        return super().connect(address)

    def connect_ex(self, address):
        self._check("connect", address)
        return super().connect_ex(address)

    def sendto(self, data, *arguments):
        self._check("sendto", arguments[-1])
        return super().sendto(data, *arguments)


def guarded_getaddrinfo(host, *arguments, **keywords):
    if not _is_local(host):
        _block("getaddrinfo", host)
    return _real_getaddrinfo(host, *arguments, **keywords)


socket.socket = GuardedSocket
socket.getaddrinfo = guarded_getaddrinfo

if os.environ.get("SHOCHU_SOCKET_GUARD_READY"):
    with open(os.environ["SHOCHU_SOCKET_GUARD_READY"], "a", encoding="utf-8") as ready:
        ready.write(f"{os.getpid()}\n")
