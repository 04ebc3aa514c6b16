"""argon2 at its lowest cost in the test process: the hub's hashers, swapped for the session.

The hub hashes console passwords with argon2id at the library's defaults (3 passes over 64 MiB
on 4 lanes: ~0.25 s of CPU per hash and per verification) and client secrets and recovery codes
at a lighter cost (~30 ms and ~6 ms). Every world of the suite makes OAuth clients and signs
people in, so these hashes were most of the CPU the suite spent outside the code under test.

Here the same hashers run argon2id at the smallest cost the algorithm allows. The hub's code is
unchanged and so is what the tests see of it: the hashes are still `$argon2id$` strings made and
checked by argon2-cffi, a wrong secret still fails, an unknown account still costs one
verification (against a dummy hash made at the same cost). A hash carries its own parameters, so
one made at the production cost (by a `hub` subprocess, which this does not reach) still
verifies here, at that cost (tests/users/test_service.py checks both, on `PRODUCTION`: the
hashers as the hub builds them, kept before the swap).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from argon2 import PasswordHasher

from hub.auth import clients
from hub.users import second_factor
from hub.users import service as users

# argon2's minimum: one pass over 8 KiB on one lane (microseconds)
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

# the hashers as the hub builds them, kept before any swap
PRODUCTION = {
    "users": users._hasher,
    "clients": clients._hasher,
    "recovery": second_factor._recovery_hasher,
}


@contextmanager
def cheap_hashing() -> Iterator[None]:
    """Within: every argon2 hash the hub makes in this process is at the cheapest cost."""
    # the dummy hashes are made once by the hasher in use: forgotten when it changes
    dummies = (users.dummy_hash, clients.dummy_hash)
    with pytest.MonkeyPatch.context() as patch:
        # raising=True (the default): a renamed hasher fails the run instead of going unseen
        patch.setattr(users, "_hasher", CHEAP)
        patch.setattr(clients, "_hasher", CHEAP)
        patch.setattr(second_factor, "_recovery_hasher", CHEAP)
        for dummy in dummies:
            dummy.cache_clear()
        try:
            yield
        finally:
            for dummy in dummies:
                dummy.cache_clear()
