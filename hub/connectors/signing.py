"""Signing and encrypting what a webhook sends (docs/connectors.md is the partner's side).

- JWS: a detached compact JWS (RFC 7515 appendix F) over the exact body bytes, signed with the
  hub's current ES256 key; its `kid` is in the hub's JWKS (`/.well-known/jwks.json`). The
  delivery id and timestamp are protected header parameters, so they are signed too.
- HMAC: HMAC-SHA256 with the secret the partner registered, over `<timestamp>.<delivery id>.`
  followed by the body bytes, sent as `t=<timestamp>,v1=<hex>`.
- JWE: the body encrypted to the recipient's registered public key (ECDH-ES, A256GCM); the
  delivery id is a protected header parameter, hence part of the associated data, so a
  ciphertext replayed under another delivery does not verify.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from joserfc import jwe, jws
from joserfc.jwk import ECKey, OKPKey
from joserfc.registry import HeaderParameter

# the algorithm of the hub's signing keys (`hub.auth.keys.ALG`, one layer up: the key itself
# is handed in by the workflow); tests/connectors/test_signing.py holds the two equal
JWS_ALG = "ES256"
JWS_TYPE = "hub-delivery+jws"
JWE_ALG = "ECDH-ES"
JWE_ENC = "A256GCM"
DELIVERY_ID_PARAM = "hub_delivery_id"
TIMESTAMP_PARAM = "hub_timestamp"
# curves a partner may register for encryption: those joserfc's ECDH-ES accepts
ENCRYPTION_CURVES = frozenset({"P-256", "P-384", "P-521", "X25519", "X448"})

_HUB_HEADERS = {
    DELIVERY_ID_PARAM: HeaderParameter("The hub's delivery id", "str"),
    TIMESTAMP_PARAM: HeaderParameter("When the hub signed (Unix seconds)", "int"),
}
# the hub's own header parameters are registered; any other unknown one is still refused
JWS_REGISTRY = jws.JWSRegistry(header_registry=_HUB_HEADERS, algorithms=[JWS_ALG])
JWE_REGISTRY = jwe.JWERegistry(header_registry=_HUB_HEADERS, algorithms=[JWE_ALG, JWE_ENC])


class InvalidEncryptionKey(ValueError):
    """A registered key the hub cannot encrypt to (the message names no key material)."""


def sign_jws(body: bytes, *, key: ECKey, kid: str, delivery_id: str, timestamp: int) -> str:
    protected = {
        "alg": JWS_ALG,
        "kid": kid,
        "typ": JWS_TYPE,
        DELIVERY_ID_PARAM: delivery_id,
        TIMESTAMP_PARAM: timestamp,
    }
    return jws.detach_content(jws.serialize_compact(protected, body, key, registry=JWS_REGISTRY))


def verify_jws(signature: str, body: bytes, *, keys: Mapping[str, ECKey]) -> dict[str, Any]:
    """The protected header of a valid detached signature over `body` (raises otherwise);
    the partner's side, used by the tests and the documentation's example."""
    header = jws.extract_compact(signature.encode(), payload=body).headers()
    key = keys.get(str(header.get("kid")))
    if key is None or header.get("typ") != JWS_TYPE:
        raise jws.BadSignatureError("unknown kid or type")
    result = jws.deserialize_compact(signature, key, payload=body, registry=JWS_REGISTRY)
    return dict(result.headers())


def hmac_signature(body: bytes, *, secret: bytes, delivery_id: str, timestamp: int) -> str:
    signed = f"{timestamp}.{delivery_id}.".encode() + body
    digest = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_hmac(header: str, body: bytes, *, secret: bytes, delivery_id: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = hmac_signature(body, secret=secret, delivery_id=delivery_id, timestamp=timestamp)
    return hmac.compare_digest(expected, header)


def encryption_key(jwk: Mapping[str, Any]) -> ECKey | OKPKey:
    """The recipient's public key from its JWK, refused unless the hub can encrypt to it."""
    if any(name in jwk for name in ("d", "p", "q", "k")):
        raise InvalidEncryptionKey("the encryption key must be a public key (no private part)")
    kty, curve = jwk.get("kty"), jwk.get("crv")
    if curve not in ENCRYPTION_CURVES:
        raise InvalidEncryptionKey("the encryption key must be EC (P-256/384/521) or X25519/X448")
    if jwk.get("use") not in (None, "enc"):
        raise InvalidEncryptionKey("the encryption key's `use` must be `enc`")
    try:
        if kty == "EC":
            return ECKey.import_key(dict(jwk))
        if kty == "OKP":
            return OKPKey.import_key(dict(jwk))
    except ValueError as exc:
        raise InvalidEncryptionKey("the encryption key is not a valid JWK") from exc
    raise InvalidEncryptionKey("the encryption key must have kty EC or OKP")


def encrypt(body: bytes, *, jwk: Mapping[str, Any], delivery_id: str) -> str:
    key = encryption_key(jwk)
    protected: dict[str, Any] = {
        "alg": JWE_ALG,
        "enc": JWE_ENC,
        "cty": "application/json",
        DELIVERY_ID_PARAM: delivery_id,
    }
    if jwk.get("kid"):
        protected["kid"] = jwk["kid"]
    return jwe.encrypt_compact(protected, body, key, registry=JWE_REGISTRY)
