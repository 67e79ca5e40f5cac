"""The review's axis (claims C1-C12) as ligand-receptor pairs, read from ``signatures/``."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .._resources import signatures_dir
from ..errors import InputDataError
from .vocabulary import vocabulary as cell_type_terms

AXIS_FILE = "communication_axis.yaml"

_METABOLITE = re.compile(r"^(?P<name>[^_]+)_by")


def metabolite_name(complex_name: str) -> str | None:
    """``Glutamate`` for ``Glutamate_byGLS_and_SLC17A7``; None for a protein partner."""
    m = _METABOLITE.match(complex_name)
    return m.group("name") if m else None


@cache
def load_axis() -> dict[str, Any]:
    """The axis file, checked: claim ids, pairs, and cell types from the vocabulary (read once)."""
    with open(signatures_dir() / AXIS_FILE) as fh:
        axis = yaml.safe_load(fh)
    vocabulary = set(cell_type_terms())
    for cid, claim in axis["claims"].items():
        for side in ("senders", "receivers"):
            unknown = set(claim.get(side, [])) - vocabulary
            if unknown:
                raise InputDataError(
                    f"{AXIS_FILE}: claim {cid} names cell types {sorted(unknown)} in {side}, which "
                    "are not in signatures/cell_types.yaml; use vocabulary terms."
                )
        for pair in claim["pairs"]:
            if not ({"ligand_genes", "ligand_metabolite"} & set(pair)) or "receptor_genes" not in pair:
                raise InputDataError(
                    f"{AXIS_FILE}: claim {cid} has a pair without ligand_genes/ligand_metabolite "
                    f"or receptor_genes: {pair}"
                )
    return axis


def _pair_matches(pair: dict[str, Any], ligand: str, ligand_complex: str, receptor: str) -> bool:
    lig_units = set(ligand.split("_"))
    if "ligand_metabolite" in pair and metabolite_name(ligand_complex) != pair["ligand_metabolite"]:
        return False
    if "ligand_genes" in pair and not lig_units & set(pair["ligand_genes"]):
        return False
    wanted = set(pair["receptor_genes"])
    return not wanted or bool(set(receptor.split("_")) & wanted)


def claim_ids(resource: pd.DataFrame) -> pd.Series:
    """Axis claim ids (``C2;C5``) of each interaction of a resource table; ``""`` for none."""
    claims = load_axis()["claims"]
    out = []
    for lig, lig_c, rec in zip(
        resource["ligand"], resource["ligand_complex"], resource["receptor"], strict=True
    ):
        hits = [
            cid for cid, c in claims.items() if any(_pair_matches(p, lig, lig_c, rec) for p in c["pairs"])
        ]
        out.append(";".join(hits))
    return pd.Series(out, index=resource.index, dtype=object)


def _proxy_ok(claim: dict[str, Any], proxy: Any) -> bool:
    """A row's metabolite sender proxy counts for a claim (claims without ``sender_proxies``: all)."""
    wanted = claim.get("sender_proxies")
    return wanted is None or str(proxy) in wanted or str(proxy) in ("", "nan", "None")


def on_axis(table: pd.DataFrame) -> np.ndarray:
    """True where a row's claim lists its sender and receiver cell types (and sender proxy)."""
    claims = load_axis()["claims"]
    flags = np.zeros(len(table), dtype=bool)
    proxies = table["sender_proxy"] if "sender_proxy" in table else [""] * len(table)
    rows = zip(table["claim"], table["sender"], table["receiver"], proxies, strict=True)
    for i, (ids, snd, rcv, proxy) in enumerate(rows):
        for cid in filter(None, str(ids).split(";")):
            c = claims[cid]
            if snd in c["senders"] and rcv in c["receivers"] and _proxy_ok(c, proxy):
                flags[i] = True
                break
    return flags


def sender_proxy(ligand: str, ligand_complex: str) -> str:
    """``vesicular`` or ``plasma_membrane`` for a metabolite ligand's transporter; ``""`` otherwise."""
    if metabolite_name(ligand_complex) is None:
        return ""
    proxies = load_axis()["metabolite_sender_proxies"]
    units = set(ligand.split("_"))
    if units & set(proxies["vesicular"]):
        return "vesicular"
    if units & set(proxies["plasma_membrane"]):
        return "plasma_membrane"
    return "enzyme_only"


def on_axis_of(table: pd.DataFrame, axis_id: str, *, sender_proxies: list[str] | None = None) -> np.ndarray:
    """Rows on one axis claim: its pair (``claim`` lists ``axis_id``) between its own senders and receivers.

    A pair shared by two claims (``C6;C7``) is on the axis of each only between that
    claim's cell types: ``on_axis`` (true when *some* claim's cell types match) is not enough.
    A claim with ``sender_proxies`` (C3: vesicular) counts only metabolite senders of those
    kinds; ``sender_proxies`` overrides them (e.g. ``["plasma_membrane"]`` to report the
    uptake-transporter senders apart). A NumPy array, safe on empty tables.
    """
    if not len(table):
        return np.zeros(0, dtype=bool)
    claim = dict(load_axis()["claims"][axis_id])
    if sender_proxies is not None:
        claim["sender_proxies"] = sender_proxies
    ids = np.array([axis_id in str(v).split(";") for v in table["claim"]], dtype=bool)
    senders = table["sender"].astype(str).isin(claim["senders"]).to_numpy()
    receivers = table["receiver"].astype(str).isin(claim["receivers"]).to_numpy()
    if "sender_proxy" in table:
        proxy = np.array([_proxy_ok(claim, v) for v in table["sender_proxy"]], dtype=bool)
    else:
        proxy = np.ones(len(table), dtype=bool)
    return ids & senders & receivers & proxy
