"""Signed image URLs: an HMAC of the path and query, so only sizes the site asked for get rendered.

Without signatures anyone can request `?w=1`, `?w=2`, ... and make the server render (and caches
store) endlessly many variants. As with imgproxy's KEY/SALT and thumbor's security key, the
signature is HMAC-SHA256(key, salt + canonical URL) in URL-safe base64 without padding, carried
as the `sig` query parameter. The canonical URL is the path, then the query parameters other than
`sig` sorted by name, so a signature covers exactly the values given (`w=0300` is not `w=300`).
Kept free of the web stack: `pjstore sign-url` uses it too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

SIG = "sig"


def canonical(path: str, params: Iterable[tuple[str, str]]) -> str:
    """What is signed: the path and the sorted query parameters, `sig` left out."""
    query = urlencode(sorted((k, v) for k, v in params if k != SIG))
    return f"{path}?{query}" if query else path


@dataclass(frozen=True)
class UrlSigner:
    key: bytes = field(repr=False)
    salt: bytes = field(default=b"", repr=False)

    def signature(self, path: str, params: Iterable[tuple[str, str]]) -> str:
        mac = hmac.new(self.key, self.salt + canonical(path, params).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, url: str) -> str:
        """`url` (a path with an optional query) with its `sig` parameter appended."""
        parts = urlsplit(url)
        params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != SIG]
        return f"{parts.path}?{urlencode([*params, (SIG, self.signature(parts.path, params))])}"

    def valid(self, path: str, params: list[tuple[str, str]]) -> bool:
        """Whether the query carries exactly one `sig`, the right one (constant-time comparison)."""
        given = [v for k, v in params if k == SIG]
        return len(given) == 1 and hmac.compare_digest(given[0].encode(), self.signature(path, params).encode())
