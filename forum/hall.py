"""The hall's address: where residents' tablets reach forum, so the join QR code points there.

``FORUM_PUBLIC_URL`` says it when set (behind a proxy, a name in DNS). Otherwise ``forum serve
--host 0.0.0.0`` (and ``forum demo --host 0.0.0.0``) serve every interface, and the address is this
machine's own on the local network, found by asking the operating system which source address it
would use toward a private network (a UDP "connect" sends nothing). Served on loopback only, forum
is for this computer alone, and says so: a QR code for 127.0.0.1 takes no tablet anywhere.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
ANY_HOSTS = ("0.0.0.0", "::", "")
# Private destinations to ask the routing table about; nothing is sent to them.
PROBES = ("10.255.255.255", "192.168.255.255", "172.31.255.255")


def lan_address() -> str | None:
    """This machine's IPv4 address on the local network, or None when it has none but loopback."""
    for probe in PROBES:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((probe, 1))
                found = s.getsockname()[0]
        except OSError:
            continue
        if usable(found):
            return found
    return None


def usable(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_unspecified or ip.is_link_local)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_HOSTS or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Address:
    """Where tablets join (``public_url``, "" for this computer only) and what to tell the operator."""

    public_url: str
    configured: bool  # from FORUM_PUBLIC_URL
    warning: str = ""

    @property
    def join(self) -> str:
        return f"{self.public_url}/join" if self.public_url else ""


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def address(host: str, port: int, configured: str, detect=None) -> Address:
    """The address for serving on ``host``:``port``, given FORUM_PUBLIC_URL (``configured``)."""
    if configured:
        warning = "" if not is_loopback(urlsplit(configured).hostname or "") else (
            f"FORUM_PUBLIC_URL is {configured}, this computer itself: tablets cannot reach it.")
        return Address(configured, True, warning)
    if is_loopback(host):
        return Address("", False, "forum answers on this computer only; tablets cannot reach it and the join QR "
                                  f"code shows {_url('127.0.0.1', port)}. To serve a hall, run it with --host 0.0.0.0 "
                                  "on a computer on the hall's Wi-Fi.")
    if host in ANY_HOSTS:
        found = (detect or lan_address)()
        if found is None:
            return Address("", False, "FORUM_PUBLIC_URL is not set and this computer has no address on a local "
                                      "network that forum could find; set it to the address tablets use, such as "
                                      f"FORUM_PUBLIC_URL=http://192.168.1.10:{port}")
        return Address(_url(found, port), False)
    return Address(_url(host, port), False)
