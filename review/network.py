"""Only clients on the allowed networks reach the review app (``review_allowed_networks``).

The address checked is ``REMOTE_ADDR``, the peer of the TCP connection as the WSGI
server sees it. Behind a reverse proxy or a Tor daemon on the same host that is the
proxy's loopback address: the allow-list then admits everything the proxy forwards, and
the proxy (or the onion service's client authorisation) is what decides who gets in.
``X-Forwarded-For`` is never read: any client can write it. A request without a usable
address (a Unix socket, say) is refused, so a misconfiguration fails closed.

The check runs before everything else, static files included, and logs nothing: an
inspector's address is no more written down than a tipster's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from flask import Flask, request
from flask_babel import gettext as _

from casework.settings import IPNetwork
from web.errors import PublicError


def init_network_allowlist(app: Flask, networks: Iterable[IPNetwork]) -> None:
    """Refuse (403) every request whose peer address is outside ``networks``.

    Call before anything else registers a ``before_request`` hook, so that this runs first.
    """
    allowed = tuple(networks)

    @app.before_request
    def _check_peer() -> None:
        if not is_allowed(request.remote_addr, allowed):
            raise PublicError(
                403, "network_not_allowed", _("This service cannot be used from your network.")
            )


def is_allowed(address: str | None, networks: Iterable[IPNetwork]) -> bool:
    if not address:
        return False
    try:
        peer = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone index
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped  # ::ffff:127.0.0.1 from a dual-stack socket is 127.0.0.1
    return any(peer in network for network in networks)
