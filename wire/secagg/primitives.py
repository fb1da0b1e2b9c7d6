"""The cryptographic building blocks, each with one job and a domain-separated label.

- ``prg``: a seed expanded to uint64 words with ChaCha20's keystream (never a
  non-cryptographic PRG: a mask is only as hiding as its generator is unpredictable).
- ``round_secrets``: a node's per-round secrets (self-mask seed b_u, ephemeral X25519 secret,
  Shamir coefficient key), each HKDF-SHA256 over its long-term secret salted with the query id,
  with its own ``info`` label bound to the round's parameters: a node that restarts, or is
  asked again, derives the very same secrets and so never sends two different sharings of one
  secret; another round (another query id or parameters) gets independent ones.
- ``pair_seed``: HKDF over the X25519 secret of two nodes' *ephemeral* keys, salted with the
  query id: revealing a dropped node's ephemeral secret (rebuilt from shares) gives its pair
  masks for this round only, nothing of its long-term key.
- ``share_key``: HKDF over the *long-term* X25519 secret of two nodes, salted with the query id:
  the key that seals the shares one sends the other (distinct label from the pair seeds).
- ``FieldStream``: uniform field elements from a ChaCha20 keystream (rejection sampling), the
  deterministic source of a sharing's random coefficients.
- ``seal_share``/``open_share``: AES-256-GCM with a fresh 12-byte nonce and the additional data
  (query id, sender, recipient), so a share cannot be replayed into another query or
  re-addressed to another node without the decryption failing.
- ``sign``/``verify``: ECDSA P-256 / SHA-256 with the node's certificate key.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wire.secagg.codec import Writer
from wire.secagg.errors import RosterError, ShareError, SignatureError

__all__ = [
    "MOD",
    "SEED_BYTES",
    "FieldStream",
    "RoundSecrets",
    "dh",
    "open_share",
    "pair_seed",
    "prg",
    "round_secrets",
    "seal_share",
    "sha256",
    "share_key",
    "sign",
    "verify",
]

MOD = 1 << 64
SEED_BYTES = 32
PAIR_INFO = b"koepel-secagg-pair-v2"  # v2: over the ephemeral keys
SHARE_INFO = b"koepel-secagg-share-v1"
ROUND_INFO = b"koepel-secagg-round-v2"
_NONCE = 12
_ZERO_NONCE = bytes(16)  # ChaCha20 counter||nonce: each seed keys exactly one stream


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def prg(seed: bytes, length: int) -> list[int]:
    """``length`` uint64 words of ChaCha20 keystream under the 32-byte ``seed``."""
    if len(seed) != SEED_BYTES:
        raise ValueError("a PRG seed is 32 bytes")
    encryptor = Cipher(algorithms.ChaCha20(seed, _ZERO_NONCE), mode=None).encryptor()
    stream = encryptor.update(bytes(8 * length))
    return list(struct.unpack(f"<{length}Q", stream))


def dh(private: X25519PrivateKey, public: bytes) -> bytes:
    """The X25519 secret of ``private`` and a peer's 32-byte public key."""
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        raise RosterError("an X25519 public key is invalid (low order or malformed)") from None


def _pair(u: str, v: str) -> bytes:
    first, second = sorted((u, v))
    return Writer(b"pair").text(first).text(second).getvalue()


def _hkdf(secret: bytes, query_id: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=query_id, info=info).derive(secret)


def pair_seed(secret: bytes, query_id: bytes, u: str, v: str) -> bytes:
    """s_{u,v}: the seed of the pairwise mask of u and v for this query (symmetric in u, v)."""
    return _hkdf(secret, query_id, PAIR_INFO + _pair(u, v))


def share_key(secret: bytes, query_id: bytes, u: str, v: str) -> bytes:
    """The AES-256-GCM key for shares between u and v in this query (symmetric in u, v)."""
    return _hkdf(secret, query_id, SHARE_INFO + _pair(u, v))


@dataclass(frozen=True)
class RoundSecrets:
    """One node's secrets for one round: derived, never stored, so a restart changes nothing."""

    self_seed: bytes  # b_u, the self mask's PRG seed
    ephemeral: bytes  # the raw X25519 secret whose public half is advertised this round
    coefficients: bytes  # keys the stream of the sharings' random coefficients


def round_secrets(long_term: bytes, query_id: bytes, params_hash: bytes) -> RoundSecrets:
    """The round's secrets from the node's long-term secret (salt: the query id; info: a
    label per secret and the hash of the round's parameters)."""
    def derive(what: bytes) -> bytes:
        return _hkdf(long_term, query_id, ROUND_INFO + what + params_hash)

    return RoundSecrets(derive(b"/self-mask"), derive(b"/ephemeral"), derive(b"/coefficients"))


class FieldStream:
    """Uniform elements of [0, prime) from ChaCha20 under ``seed``: deterministic, so that a
    retried sharing repeats its coefficients, and unpredictable without the seed."""

    def __init__(self, seed: bytes, prime: int) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError("a field stream seed is 32 bytes")
        self._stream = Cipher(algorithms.ChaCha20(seed, _ZERO_NONCE), mode=None).encryptor()
        self._prime = prime
        self._bits = prime.bit_length()
        self._bytes = (self._bits + 7) // 8

    def __call__(self, _: int) -> int:
        mask = (1 << self._bits) - 1
        while True:  # rejection sampling: uniform, and almost never loops for 2^521 - 1
            value = int.from_bytes(self._stream.update(bytes(self._bytes)), "big") & mask
            if value < self._prime:
                return value


def _aad(query_id: bytes, sender: str, recipient: str) -> bytes:
    return Writer(b"share-aad").blob(query_id).text(sender).text(recipient).getvalue()


def seal_share(key: bytes, query_id: bytes, sender: str, recipient: str,
               plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, _aad(query_id, sender, recipient))


def open_share(key: bytes, query_id: bytes, sender: str, recipient: str, sealed: bytes) -> bytes:
    if len(sealed) < _NONCE + 16:
        raise ShareError(f"the share from {sender} to {recipient} is truncated")
    try:
        return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:],
                                   _aad(query_id, sender, recipient))
    except InvalidTag:
        raise ShareError(f"the share from {sender} to {recipient} does not decrypt: tampered, "
                         "replayed from another query, or addressed to another node") from None


def sign(key: ec.EllipticCurvePrivateKey, message: bytes) -> bytes:
    return key.sign(message, ec.ECDSA(hashes.SHA256()))


def verify(public: ec.EllipticCurvePublicKey, signature: bytes, message: bytes, what: str) -> None:
    try:
        public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError(f"the signature of {what} does not verify") from None
