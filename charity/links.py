"""Links that a donor follows without signing in, and the QR code that carries one.

A gift's link is ``SITE_URL/g/<token>/`` where the token is a random nonce (``GiftLink.nonce``, 128 bits) with
its signature by the site's secret key (``django.core.signing``, salt ``charity.gift-link``). The page opens
only when the signature holds *and* the nonce is a live (not revoked) link of a gift: a guessed token fails
the signature, a copy of the database without the secret key cannot make one, and a revoked link is dead.
The gift's sequential id never appears.

The QR code is drawn by reportlab (``reportlab.graphics.barcode.qr``): the receipt PDF embeds the widget, and
the office's page draws the same modules as one SVG path (no inline style, so the page's CSP holds).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse
from reportlab.graphics.barcode.qr import QrCodeWidget

SALT = "charity.gift-link"


def new_nonce() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, 128 random bits


def token_for(nonce: str) -> str:
    return signing.Signer(salt=SALT).sign(nonce)


def nonce_of(token: str) -> str | None:
    """The nonce a token carries when its signature holds, else None."""
    if not isinstance(token, str) or len(token) > 200:
        return None
    try:
        return signing.Signer(salt=SALT).unsign(token)
    except signing.BadSignature:
        return None


def absolute(path: str) -> str:
    """A URL for an e-mail or a printed receipt: ``SITE_URL`` (the address donors reach the site at) + path."""
    return settings.SITE_URL.rstrip("/") + path


def gift_url(link) -> str:
    return absolute(reverse("gift-public", kwargs={"token": token_for(link.nonce)}))


def qr_widget(text: str, size: float) -> QrCodeWidget:
    return QrCodeWidget(text, barLevel="M", barWidth=size, barHeight=size, barBorder=2)


def qr_modules(text: str) -> list[list[bool]]:
    widget = qr_widget(text, 100)
    widget.qr.make()
    return [[bool(cell) for cell in row] for row in widget.qr.modules]


def qr_svg(text: str, scale: int = 4, border: int = 2) -> str:
    """The QR code of ``text`` as an SVG document: one black path over a white square."""
    modules = qr_modules(text)
    n = len(modules) + 2 * border
    path = "".join(f"M{c + border},{r + border}h1v1h-1z" for r, row in enumerate(modules)
                   for c, dark in enumerate(row) if dark)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="qr" width="{n * scale}" height="{n * scale}" '
            f'viewBox="0 0 {n} {n}" role="img" shape-rendering="crispEdges"><rect width="{n}" height="{n}" '
            f'fill="#fff"/><path d="{path}" fill="#000"/></svg>')
