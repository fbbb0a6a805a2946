"""The ledger endpoints: signed heads, entries (need-to-know), proofs, party keys, evidence."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from deconflict.api.routes import Who, hub_of

__all__ = ["router"]

router = APIRouter(prefix="/v1")
Doc = dict[str, Any]
Index = Annotated[int, Query(ge=0, le=2**62)]
Size = Annotated[int | None, Query(ge=0, le=2**62)]


@router.get(
    "/ledger/head",
    tags=["ledger"],
    summary="The log's current tree head (size, root hash, time), signed by the hub",
)
async def ledger_head(request: Request, who: Who) -> Doc:
    return await hub_of(request).ledger_head()


@router.get("/ledger/heads", tags=["ledger"], summary="Tree heads the hub signed and kept")
async def ledger_heads(
    request: Request, who: Who, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> Doc:
    return await hub_of(request).ledger_heads(limit)


@router.get("/ledger/key", tags=["ledger"], summary="The hub's Ed25519 public key")
async def ledger_key(request: Request, who: Who) -> Doc:
    return await hub_of(request).ledger_key()


@router.get(
    "/ledger/entries",
    tags=["ledger"],
    summary="Log entries [start, end): in full where they concern you, else only leaf hashes",
)
async def ledger_entries(request: Request, who: Who, start: Index = 0, end: Size = None) -> Doc:
    return await hub_of(request).ledger_entries(who, start, end)


@router.get(
    "/ledger/proof/inclusion",
    tags=["ledger"],
    summary="RFC 9162 inclusion proof of entry `index` in the tree of size `tree_size`",
)
async def inclusion_proof(request: Request, who: Who, index: Index, tree_size: Size = None) -> Doc:
    return await hub_of(request).inclusion_proof(index, tree_size)


@router.get(
    "/ledger/proof/consistency",
    tags=["ledger"],
    summary="RFC 9162 consistency proof between tree sizes `first` and `second`",
)
async def consistency_proof(request: Request, who: Who, first: Index, second: Size = None) -> Doc:
    return await hub_of(request).consistency_proof(first, second)


@router.get(
    "/ledger/checkpoint",
    tags=["ledger"],
    summary="The C2SP checkpoint (signed note) at `tree_size` (default: now), with the "
    "cosignatures the hub holds",
)
async def ledger_checkpoint(request: Request, who: Who, tree_size: Size = None) -> Doc:
    return await hub_of(request).ledger_checkpoint(tree_size)


@router.post(
    "/ledger/cosignatures",
    tags=["ledger"],
    summary="Send your C2SP Ed25519 cosignature (tlog-cosignature) on a checkpoint of the hub",
)
async def add_cosignature(
    request: Request,
    who: Who,
    body: Annotated[Doc, Body(examples=[{"checkpoint": "<the signed note, with your line>"}])],
) -> Doc:
    return await hub_of(request).add_cosignature(who, body)


@router.put(
    "/parties/{party_id}/key",
    tags=["parties"],
    summary="Register or rotate your Ed25519 public key (logged); signatures required from then",
)
async def set_party_key(
    request: Request,
    who: Who,
    party_id: str,
    body: Annotated[Doc, Body(examples=[{"public_key": "<base64url of 32 bytes>"}])],
) -> Doc:
    return await hub_of(request).set_party_key(who, party_id, body)


@router.get("/parties/{party_id}/keys", tags=["parties"], summary="A party's keys, current last")
async def party_keys(request: Request, who: Who, party_id: str) -> Doc:
    return await hub_of(request).party_keys(who, party_id)


@router.get(
    "/notices/{notice_id}/evidence",
    tags=["ledger"],
    summary="An evidence bundle: every entry about the notice you may see, with proofs",
)
async def notice_evidence(request: Request, who: Who, notice_id: str) -> Doc:
    return await hub_of(request).evidence(who, notice_id)
