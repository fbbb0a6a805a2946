"""Parties: the directory, registration by the hub operator, and token authentication.

The directory is cached in memory (replaced, never mutated, so request threads may read
it unlocked) and changed only after the registering change committed. Inside a batch, a
party registered by an earlier change is already known to the later ones (`known`).
What else a registration does (logging it, giving the new party the notices addressed
to every party) is done by the subscribers of `on_registered`, in the same change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from deconflict.service.auth import (
    ADMIN,
    PARTY_ID_RE,
    Principal,
    RateLimiter,
    hash_token,
    new_token,
    split_token,
    tokens_equal,
)
from deconflict.service.errors import Forbidden, Invalid, StateConflict, Unauthorized
from deconflict.service.tx import Tx
from deconflict.service.writer import Writer
from deconflict.store import Repo, Row

__all__ = ["Parties", "require_party"]


def require_party(who: Principal, action: str) -> None:
    """Notices, acknowledgements and messages come from parties, never the operator."""
    if who.is_admin:
        raise Forbidden(f"the hub operator does not {action}; use a party's token")


class Parties:
    def __init__(self, writer: Writer, rate: RateLimiter, admin_token: str | None) -> None:
        self.writer = writer
        self.rate = rate
        self._admin_hash = hash_token(admin_token) if admin_token else None
        self._parties: dict[str, Row] = {}
        self._keys: dict[str, str] = {}
        self._staged: dict[str, Row] = {}  # registered in the running batch
        writer.after_batch.append(self._staged.clear)
        # Called inside the registering change with (tx, party id, name).
        self.on_registered: list[Callable[[Tx, str, str], None]] = []

    def load(self, repo: Repo) -> None:
        found = repo.parties.all()
        self._parties = {p["id"]: p for p in found}
        self._keys = {p["token_key_id"]: p["id"] for p in found}

    def learn(self, names: object) -> None:
        """Issue 14: on a database other processes write, read the parties named that this
        process does not know yet (registered through another since it last caught up), so
        that a document addressed to them is not refused. Parties are never removed or
        changed, so a row read here is the row every process holds."""
        if not self.writer.store.shared or not isinstance(names, list):
            return
        unknown = [n for n in names if isinstance(n, str) and n != "*" and n not in self._parties]
        if not unknown:
            return
        with self.writer.store.read_one() as repo:
            found = [r for n in unknown[:256] if (r := repo.parties.get(n)) is not None]
        if found:
            self._parties = {**self._parties, **{r["id"]: r for r in found}}
            self._keys = {**self._keys, **{r["token_key_id"]: r["id"] for r in found}}

    def __len__(self) -> int:
        return len(self._parties)

    def __contains__(self, party_id: object) -> bool:
        return party_id in self._parties

    @property
    def directory(self) -> Mapping[str, Row]:
        """Committed parties by id."""
        return self._parties

    def ids(self) -> set[str]:
        return set(self._parties)

    def known(self) -> Iterable[str]:
        """Every registered party as a change sees it: committed, or earlier in its batch."""
        if not self._staged:
            return self._parties
        return {**self._parties, **self._staged}

    # -- principals ----------------------------------------------------------
    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("missing bearer token")
        if self._admin_hash is not None and tokens_equal(token, self._admin_hash):
            return Principal(ADMIN, is_admin=True)
        key_id = split_token(token)
        if key_id is None:
            raise Unauthorized("malformed token")
        party_id = self._keys.get(key_id)
        party = self._parties.get(party_id) if party_id else None
        if party is None or not tokens_equal(token, party["token_hash"]):
            raise Unauthorized("unknown token")
        return Principal(party["id"])

    def check_rate(self, who: Principal) -> None:
        self.rate.take(who.party_id)

    # -- use cases -----------------------------------------------------------
    def relay_of(self, party_id: str) -> str | None:
        """The relay a party is reachable through (issue 15), as a change sees it."""
        row = self._staged.get(party_id) or self._parties.get(party_id)
        return row.get("reachable_via") if row else None

    def listing(self) -> list[dict[str, Any]]:
        return [
            {
                "id": p["id"],
                "name": p["name"],
                "created_at": p["created_at"],
                **({"reachable_via": p["reachable_via"]} if p.get("reachable_via") else {}),
            }
            for p in sorted(self._parties.values(), key=lambda p: p["id"])
        ]

    async def register(self, who: Principal, doc: Any) -> dict[str, Any]:
        if not who.is_admin:
            raise Forbidden("only the hub operator registers parties")
        party_id, name, via = _parse_party(doc)
        key_id, token = new_token()

        def run(tx: Tx) -> dict[str, Any]:
            if tx.repo.parties.get(party_id) is not None:
                raise StateConflict(f"party {party_id!r} is already registered")
            if via is not None:
                self._check_relay(party_id, via)
            row = {
                "id": party_id,
                "name": name,
                "token_key_id": key_id,
                # a relayed party never connects: its token is thrown away unseen
                "token_hash": hash_token(token if via is None else new_token()[1]),
                "public_key": None,
                "created_at": tx.ts,
                "reachable_via": via,
            }
            tx.repo.parties.insert(row)
            tx.changed("party", party_id)  # issue 14: the other processes reload theirs
            self._staged[party_id] = row

            def unstage() -> None:
                self._staged.pop(party_id, None)

            tx.on_undo(unstage)
            for subscriber in self.on_registered:
                subscriber(tx, party_id, name)

            def cache() -> None:
                self._parties = {**self._parties, party_id: row}
                self._keys = {**self._keys, key_id: party_id}

            tx.after_commit.append(cache)
            if via is not None:
                return {"id": party_id, "name": name, "reachable_via": via, "created_at": tx.ts}
            return {"id": party_id, "name": name, "token": token, "created_at": tx.ts}

        return await self.writer.run(run)

    def _check_relay(self, party_id: str, via: str) -> None:
        """Issue 15: a relay is a registered party that connects itself; no chains."""
        if via == party_id:
            raise Invalid([("reachable_via", "a party cannot be its own relay")])
        if via not in self.known():
            raise Invalid([("reachable_via", f"{via!r} is not a registered party")])
        further = self.relay_of(via)
        if further is not None:
            raise Invalid(
                [
                    (
                        "reachable_via",
                        f"{via!r} is itself reachable only through {further!r}: chains of "
                        f"relays are refused (register {party_id!r} as reachable via "
                        f"{further!r}, or via a party that connects)",
                    )
                ]
            )


def _parse_party(doc: Any) -> tuple[str, str, str | None]:
    if not isinstance(doc, dict):
        raise Invalid([("", "must be a JSON object")])
    fields = {"id", "name", "reachable_via"}
    errs = [(name, "unknown field") for name in sorted(set(doc) - fields)]
    via = doc.get("reachable_via")
    if via is not None and (not isinstance(via, str) or not PARTY_ID_RE.match(via)):
        errs.append(("reachable_via", "must be the id of a registered party"))
    party_id, name = doc.get("id"), doc.get("name")
    if not isinstance(party_id, str) or not PARTY_ID_RE.match(party_id):
        errs.append(("id", "must match [a-z0-9][a-z0-9-]{0,63}"))
    elif party_id in (ADMIN, "*"):
        errs.append(("id", f"{party_id!r} is reserved"))
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errs.append(("name", "must be a non-empty string of at most 200 characters"))
    if errs:
        raise Invalid(errs)
    return str(party_id), str(name), via
