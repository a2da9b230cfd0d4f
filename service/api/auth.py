"""API keys: ``Authorization: Bearer KEY`` on the read routes (optional) and write routes.

- Read routes (search, chat, listing documents, ``/v1``) depend on :func:`require_reader`: public
  while ``CITECHAT_API_KEYS`` is unset (the widget needs no key), else they need one of those
  keys or an admin key.
- Write routes depend on :func:`require_admin`: they need one of ``CITECHAT_ADMIN_API_KEYS``,
  and are switched off (403) while none is set.

A missing or unknown key is a 401 with ``WWW-Authenticate: Bearer``; a read key on a write
route is a 403. Keys are compared in constant time and never logged.
"""

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from service.api.deps import SettingsDep
from service.errors import Forbidden, Unauthorized

reader_scheme = HTTPBearer(
    scheme_name="ApiKey",
    description="One of CITECHAT_API_KEYS (or an admin key); not needed while none is set.",
    auto_error=False,
)
admin_scheme = HTTPBearer(
    scheme_name="AdminApiKey",
    description="One of CITECHAT_ADMIN_API_KEYS.",
    auto_error=False,
)
Credentials = HTTPAuthorizationCredentials | None


def require_reader(
    settings: SettingsDep, credentials: Annotated[Credentials, Security(reader_scheme)]
) -> None:
    """Let the request read when read keys are off, or it carries a read or admin key."""
    if not settings.api_keys:
        return
    if not matches(_token(credentials), settings.api_keys + settings.admin_api_keys):
        raise Unauthorized("unknown API key")


def require_admin(
    settings: SettingsDep, credentials: Annotated[Credentials, Security(admin_scheme)]
) -> None:
    """Let the request change documents only with an admin key."""
    if not settings.admin_api_keys:
        raise Forbidden(
            "changing documents over HTTP is switched off: the server has no "
            "CITECHAT_ADMIN_API_KEYS"
        )
    token = _token(credentials)
    if matches(token, settings.admin_api_keys):
        return
    if matches(token, settings.api_keys):
        raise Forbidden("this API key may only read: changing documents needs an admin key")
    raise Unauthorized("unknown API key")


ReaderDep = Depends(require_reader)
AdminDep = Depends(require_admin)
# The OpenAPI responses of a route that depends on AdminDep.
ADMIN_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "No API key, or an unknown one"},
    403: {"description": "A read-only key, or no admin keys are configured"},
}


def _token(credentials: Credentials) -> str:
    if credentials is None:
        raise Unauthorized("an API key is required: send the header `Authorization: Bearer KEY`")
    return credentials.credentials


def matches(token: str, keys: list[SecretStr]) -> bool:
    """Whether ``token`` is one of ``keys``, in time that reveals neither key nor position.

    Comparing fixed-size digests hides the keys' lengths; every key is compared.
    """
    digest = hashlib.sha256(token.encode()).digest()
    found = False
    for key in keys:
        expected = hashlib.sha256(key.get_secret_value().encode()).digest()
        found |= hmac.compare_digest(digest, expected)
    return found
