"""The building blocks on their own: Shamir sharing, the ChaCha20 PRG, and the byte codec.

Shamir: any t' shares rebuild the secret, t'-1 shares miss it, and (over a tiny field, where
it can be counted) t'-1 shares are distributed the same whatever the secret, which is the
secrecy argument of ``wire.secagg.shamir`` made concrete. Surplus shares that disagree are
caught. The PRG matches RFC 8439's ChaCha20 keystream. Every message survives
``to_bytes``/``from_bytes`` unchanged, and the decoder refuses truncation and trailing bytes.
"""

from __future__ import annotations

import itertools
import secrets
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wire.secagg import (
    KeyShares,
    MaskedInput,
    MessageError,
    ParamsError,
    ProtocolError,
    RoundParams,
    UnmaskReply,
    decode_adverts,
    encode_adverts,
)
from wire.secagg.messages import SEALED_SHARE_BYTES
from wire.secagg.primitives import FieldStream, prg
from wire.secagg.shamir import PRIME, combine, consistent, split

SECRETS = st.integers(0, (1 << 256) - 1)


@st.composite
def sharings(draw: st.DrawFn) -> tuple[int, int, list[tuple[int, int]]]:
    n = draw(st.integers(1, 40))
    t = draw(st.integers(1, n))
    secret = draw(SECRETS)
    xs = list(range(1, n + 1))
    points = list(zip(xs, split(secret, t, xs), strict=True))
    order = draw(st.permutations(range(n)))
    return secret, t, [points[i] for i in order]


@settings(max_examples=150, deadline=None)
@given(sharings())
def test_any_threshold_shares_rebuild_the_secret(case: tuple[int, int, list[tuple[int, int]]]
                                                 ) -> None:
    secret, t, points = case
    assert combine(points[:t]) == secret
    assert combine(points) == secret
    assert consistent(points, t)


@settings(max_examples=150, deadline=None)
@given(sharings())
def test_fewer_shares_miss_the_secret(case: tuple[int, int, list[tuple[int, int]]]) -> None:
    secret, t, points = case
    if t >= 2:  # interpolating t'-1 shares hits the secret only with probability 1/p
        assert combine(points[:t - 1]) != secret


def test_threshold_minus_one_shares_do_not_depend_on_the_secret() -> None:
    """Over GF(7) with t' = 3: for every secret, the shares at two points take each of the
    49 value pairs exactly once over the 49 coefficient choices, i.e. they are uniform."""
    p, xs = 7, (2, 5)
    for secret in range(p):
        seen: Counter[tuple[int, ...]] = Counter()
        for a1, a2 in itertools.product(range(p), repeat=2):
            seen[tuple((secret + a1 * x + a2 * x * x) % p for x in xs)] += 1
        assert len(seen) == p * p and set(seen.values()) == {1}


def test_split_draws_uniform_coefficients() -> None:
    """``split`` itself: one share of a t' = 2 sharing over GF(5) is uniform for any secret."""
    for secret in (0, 4):
        counts = Counter(split(secret, 2, [1, 3], prime=5)[0] for _ in range(5000))
        assert set(counts) == set(range(5))
        assert all(850 < c < 1150 for c in counts.values())


def test_a_wrong_surplus_share_is_caught() -> None:
    xs = list(range(1, 11))
    points = list(zip(xs, split(12345, 6, xs), strict=True))
    x, y = points[7]
    points[7] = (x, (y + 1) % PRIME)
    assert not consistent(points, 6)
    assert consistent(points[:7], 6)  # only 7 points, the wrong one excluded: fine


def test_split_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        split(PRIME, 2, [1, 2])
    with pytest.raises(ValueError):
        split(1, 3, [1, 2])
    with pytest.raises(ValueError):
        split(1, 2, [0, 1])
    with pytest.raises(ValueError):
        split(1, 2, [1, 1])


def test_prg_is_chacha20() -> None:
    # RFC 8439 appendix A.1, test vector #1: zero key, zero nonce, block counter 0.
    stream = bytes.fromhex("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7")
    assert prg(bytes(32), 4) == [int.from_bytes(stream[i:i + 8], "little")
                                 for i in range(0, 32, 8)]
    seed = secrets.token_bytes(32)
    assert prg(seed, 60) == prg(seed, 60) and prg(seed, 60)[:3] == prg(seed, 3)
    assert prg(seed, 60) != prg(secrets.token_bytes(32), 60)


NAMES = st.lists(st.from_regex(r"org-[a-z0-9]{1,8}", fullmatch=True), min_size=2, max_size=6,
                 unique=True).map(sorted)


@settings(max_examples=60, deadline=None)
@given(NAMES, st.lists(st.integers(0, (1 << 64) - 1), min_size=1, max_size=20),
       st.data())
def test_messages_round_trip(names: list[str], words: list[int], data: st.DataObject) -> None:
    query_id = secrets.token_bytes(16)
    masked = MaskedInput(names[0], query_id, tuple(words), secrets.token_bytes(32),
                         secrets.token_bytes(70))
    assert MaskedInput.from_bytes(masked.to_bytes()) == masked
    keys = KeyShares(names[0], query_id, secrets.token_bytes(32),
                     tuple((n, secrets.token_bytes(SEALED_SHARE_BYTES)) for n in names),
                     secrets.token_bytes(71))
    assert KeyShares.from_bytes(keys.to_bytes()) == keys
    adverts = tuple(KeyShares(n, query_id, secrets.token_bytes(32), keys.shares, b"s").advert()
                    for n in names)
    assert decode_adverts(encode_adverts(adverts)) == adverts
    cut = data.draw(st.integers(1, len(names) - 1))
    reply = UnmaskReply(names[0], query_id,
                        tuple((n, secrets.token_bytes(70)) for n in names[:cut]),
                        tuple((n, secrets.token_bytes(70)) for n in names[cut:]), b"sig")
    assert UnmaskReply.from_bytes(reply.to_bytes()) == reply
    params = RoundParams.new(roster_hash=secrets.token_bytes(32), u1=names,
                             shamir_threshold=len(names) // 2 + 1, min_survivors=1,
                             vector_length=len(words), bound=data.draw(st.integers(0, 2**63 - 1)))
    assert RoundParams.from_bytes(params.to_bytes()) == params
    for blob, decode in ((masked.to_bytes(), MaskedInput.from_bytes),
                         (keys.to_bytes(), KeyShares.from_bytes),
                         (encode_adverts(adverts), decode_adverts),
                         (reply.to_bytes(), UnmaskReply.from_bytes),
                         (params.to_bytes(), RoundParams.from_bytes)):
        with pytest.raises(MessageError):
            decode(blob + b"\x00")
        with pytest.raises(MessageError):
            decode(blob[:data.draw(st.integers(0, len(blob) - 1))])


def test_decoders_refuse_foreign_and_malformed_bytes() -> None:
    params = RoundParams.new(roster_hash=bytes(32), u1=["a", "b", "c"], shamir_threshold=2,
                             min_survivors=2, vector_length=1, bound=1)
    with pytest.raises(MessageError, match="not a koepel-secagg-masked-v2"):
        MaskedInput.from_bytes(params.to_bytes())
    with pytest.raises(MessageError):
        MaskedInput.from_bytes("text")  # type: ignore[arg-type]
    with pytest.raises(MessageError, match="keys hash"):
        MaskedInput("a", bytes(16), (1,), b"short", b"")
    with pytest.raises(MessageError, match="wrong length"):
        KeyShares("a", bytes(16), bytes(32), (("a", b"short"),), b"")
    with pytest.raises(MessageError, match="sorted"):
        KeyShares("a", bytes(16), bytes(32), (("b", bytes(SEALED_SHARE_BYTES)),
                                              ("a", bytes(SEALED_SHARE_BYTES))), b"")
    with pytest.raises(MessageError, match="32 bytes"):
        KeyShares("a", bytes(16), bytes(31), (), b"")
    with pytest.raises(MessageError, match="valid node name"):
        MaskedInput("../x", bytes(16), (1,), bytes(32), b"")


def test_a_reply_never_holds_both_secrets_for_one_node() -> None:
    with pytest.raises(ProtocolError, match="both"):
        UnmaskReply("a", bytes(16), (("b", bytes(70)),), (("b", bytes(70)),), b"")


def test_field_stream_is_uniform_enough_and_repeatable() -> None:
    """The deterministic coefficient source: the same seed repeats, another differs, and its
    draws are spread over the field (each of 8 top-bit buckets holds 1/8 of 4000 draws within
    6 σ: a correct stream fails with probability < 1e-7)."""
    seed = secrets.token_bytes(32)
    first, again = FieldStream(seed, PRIME), FieldStream(seed, PRIME)
    draws = [first(PRIME) for _ in range(4000)]
    assert draws == [again(PRIME) for _ in range(4000)]
    assert all(0 <= d < PRIME for d in draws)
    assert FieldStream(secrets.token_bytes(32), PRIME)(PRIME) != draws[0]
    buckets = [0] * 8
    for d in draws:
        buckets[d >> (PRIME.bit_length() - 3)] += 1
    sigma = (4000 * (1 / 8) * (7 / 8)) ** 0.5
    assert all(abs(b - 500) <= 6 * sigma for b in buckets)
    small = FieldStream(seed, 11)
    assert sorted({small(11) for _ in range(400)}) == list(range(11))


@pytest.mark.parametrize("change, message", [
    ({"query_id": b"short"}, "16 random bytes"),
    ({"roster_hash": b""}, "32-byte"),
    ({"u1": ("b", "a", "c")}, "sorted"),
    ({"u1": ("a", "a", "c")}, "sorted"),
    ({"u1": ("a",), "shamir_threshold": 1, "min_survivors": 1}, "2 to"),
    ({"u1": ("a", "b/c", "d")}, "valid node name"),
    ({"shamir_threshold": 2}, "more than half"),
    ({"shamir_threshold": 5}, "at most 4"),
    ({"min_survivors": 0}, "min_survivors"),
    ({"min_survivors": 5}, "min_survivors"),
    ({"vector_length": 0}, "vector_length"),
    ({"bound": 1 << 63}, "bound"),
    ({"bound": True}, "integer"),
])
def test_round_params_refuse_what_no_round_could_use(change: dict[str, object],
                                                     message: str) -> None:
    fields: dict[str, object] = {
        "query_id": bytes(16), "roster_hash": bytes(32), "u1": ("a", "b", "c", "d"),
        "shamir_threshold": 3, "min_survivors": 3, "vector_length": 4, "bound": 100}
    fields.update(change)
    with pytest.raises(ParamsError, match=message):
        RoundParams(**fields)  # type: ignore[arg-type]
