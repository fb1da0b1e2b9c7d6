"""Shamir secret sharing of 32-byte secrets (self-mask seeds, ephemeral keys) over GF(2^521 - 1).

A secret s is the constant term of a random polynomial f of degree t'-1 whose other
coefficients are drawn uniformly from the field (with ``secrets``, or from a caller's keyed
stream when a sharing must be repeatable: a node re-sends the same shares after a restart);
the share for the party at x (x = its index in U1 + 1, so never 0) is f(x). Any t' shares
determine f and hence s by Lagrange interpolation at 0.

Why t'-1 shares say nothing: fix any t'-1 distinct non-zero points x_1..x_{t'-1}. For each
candidate secret s, the map from the t'-1 random coefficients (a_1..a_{t'-1}) to the values
(f(x_1)..f(x_{t'-1})) is affine with a Vandermonde matrix (rows x_i, x_i^2, ...), invertible
because the x_i are distinct and non-zero. So for every s the t'-1 shares are uniform over
GF(p)^{t'-1}: their distribution does not depend on s, and a holder of t'-1 shares learns
nothing about it (perfect secrecy). The tests check this exhaustively over a small field and
check that interpolating t'-1 shares misses the secret.

The field is 2^521 - 1, a Mersenne prime larger than any 256-bit secret, so a seed maps to a
field element injectively. ``prime`` is a parameter only so that tests can use a tiny field.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from functools import lru_cache

__all__ = ["PRIME", "SHARE_BYTES", "combine", "consistent", "lagrange", "split"]

PRIME = (1 << 521) - 1
SHARE_BYTES = 66  # a field element, big-endian


def split(secret: int, threshold: int, xs: Sequence[int], *, prime: int = PRIME,
          draw: Callable[[int], int] = secrets.randbelow) -> list[int]:
    """Shares f(x) for each x in ``xs`` of a random polynomial with f(0) = ``secret``.

    ``draw(prime)`` gives each other coefficient; it must be uniform over [0, prime) and
    unpredictable to everyone but the dealer.
    """
    if not 0 <= secret < prime:
        raise ValueError("the secret is not a field element")
    if not 1 <= threshold <= len(xs):
        raise ValueError("the threshold must be between 1 and the number of shares")
    if len(set(xs)) != len(xs) or any(not 0 < x < prime for x in xs):
        raise ValueError("share points must be distinct and non-zero")
    coefficients = [secret] + [draw(prime) for _ in range(threshold - 1)]
    shares = []
    for x in xs:
        value = 0
        for coefficient in reversed(coefficients):
            value = (value * x + coefficient) % prime
        shares.append(value)
    return shares


@lru_cache(maxsize=256)
def lagrange(xs: tuple[int, ...], at: int, prime: int = PRIME) -> tuple[int, ...]:
    """Coefficients c_i with f(at) = Σ c_i f(x_i) for every polynomial of degree < len(xs).

    Cached: the aggregator interpolates every survivor's seed from the same responders.
    """
    if len(set(xs)) != len(xs):
        raise ValueError("interpolation points must be distinct")
    coefficients = []
    for i, xi in enumerate(xs):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if i != j:
                numerator = numerator * (at - xj) % prime
                denominator = denominator * (xi - xj) % prime
        coefficients.append(numerator * pow(denominator, -1, prime) % prime)
    return tuple(coefficients)


def combine(points: Sequence[tuple[int, int]], *, prime: int = PRIME) -> int:
    """f(0) from (x, f(x)) points; exactly right when there are at least threshold of them."""
    xs = tuple(x for x, _ in points)
    weights = lagrange(xs, 0, prime)
    return sum(w * y for w, (_, y) in zip(weights, points, strict=True)) % prime


@lru_cache(maxsize=64)
def _dual_weights(xs: tuple[int, ...], prime: int) -> tuple[int, ...]:
    weights = []
    for i, xi in enumerate(xs):
        product = 1
        for j, xj in enumerate(xs):
            if i != j:
                product = product * (xi - xj) % prime
        weights.append(pow(product, -1, prime))
    return tuple(weights)


def consistent(points: Sequence[tuple[int, int]], threshold: int, *, prime: int = PRIME) -> bool:
    """Whether the m points lie on one polynomial of degree < ``threshold``.

    The evaluations of such polynomials at distinct x_1..x_m form a Reed-Solomon code whose
    dual is spanned by (λ_i x_i^j) for j < m - threshold, with λ_i = 1/Π_{k≠i}(x_i - x_k):
    Σ_i λ_i x_i^j f(x_i) is the x^{m-1} coefficient of the interpolation of x^j f, zero
    exactly when deg f < threshold for all those j. Costs about m·(m - threshold) small
    multiplications, so the aggregator can check every surplus share.
    """
    m = len(points)
    if m <= threshold:
        return True
    xs = tuple(x for x, _ in points)
    terms = [w * y % prime for w, (_, y) in zip(_dual_weights(xs, prime), points, strict=True)]
    for _ in range(m - threshold):
        if sum(terms) % prime:
            return False
        terms = [t * x % prime for t, x in zip(terms, xs, strict=True)]
    return True
