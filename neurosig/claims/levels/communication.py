"""Communication level: the claim's axis pairs per patient (Simes), then a binomial test across patients."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import _keys
from ...communicate.resources import load_resource
from ...knowledge.axis import load_axis, on_axis_of
from .. import stats
from ..context import Context, NotTestable
from ._level import Level


def _candidate_pairs(
    resource: str | None, var_names: pd.Index, axis_id: str, sender_proxies: list[str] | None = None
) -> int | None:
    """Interactions of the resource on a claim whose genes are all in the data (None: unknown)."""
    if not resource or resource == "user table":
        return None
    try:
        res = load_resource(resource)
    except Exception:  # noqa: BLE001 - a resource that cannot be read gives no count
        return None
    claim = load_axis()["claims"][axis_id]
    res = res.assign(sender=claim["senders"][0], receiver=claim["receivers"][0])
    on = res[on_axis_of(res, axis_id, sender_proxies=sender_proxies)]
    genes = set(var_names)
    units = [
        set(str(a).split("_")) | set(str(b).split("_"))
        for a, b in zip(on["ligand"], on["receptor"], strict=True)
    ]
    return int(sum(u <= genes for u in units))


def _patient_axis_calls(
    per: pd.DataFrame,
    groups: dict,
    axis_id: str,
    alpha: float,
    sender_proxies: list[str] | None = None,
    n_candidates: int | None = None,
) -> tuple[list[dict], list[str]]:
    """Per patient: Simes p over the claim's candidate pairs; patients lacking a side listed apart.

    The table holds only rows that passed the detection filter, which uses the same labels
    as the test: Simes over those alone rejected a true null in 17% of patients (labels
    shuffled within patients, C8). Every candidate row counts (``n_candidates`` resource
    interactions with their genes in the data, times the sender and receiver groups
    present), rows that were not tested with p = 1: 3% under the same null.
    """
    claim = load_axis()["claims"][axis_id]
    on = per[on_axis_of(per, axis_id, sender_proxies=sender_proxies)]
    by = {str(k): v for k, v in on.groupby(on["sample"].astype(str))}
    calls, absent = [], []
    for sample in sorted(groups):
        g = {str(k): int(v) for k, v in dict(groups[sample]).items()}
        senders = [k for k in g if k in claim["senders"]]
        receivers = [k for k in g if k in claim["receivers"]]
        if not senders or not receivers:
            absent.append(sample)
            continue
        rows = by.get(sample)
        tested = rows["pvalue"].to_numpy(float) if rows is not None else np.array([])
        m = (
            len(tested)
            if n_candidates is None
            else max(n_candidates * len(senders) * len(receivers), len(tested))
        )
        p = stats.simes(np.concatenate([tested, np.ones(m - len(tested))])) if len(tested) else 1.0
        p = 1.0 if not np.isfinite(p) else p
        calls.append(
            {
                "patient": sample,
                "n_cells": sum(g[k] for k in set(senders) | set(receivers)),
                "pvalue": p,
                "significant": p < alpha,
                "n_pairs": 0 if rows is None else len(rows),
            }
        )
    return calls, absent


def run(ctx: Context, cid: str, c: dict) -> dict:
    """Per patient, then across patients: the patient is the unit of communication claims too.

    In each patient with at least one of the claim's senders and one of its receivers
    (``min_cells`` each), the claim's on-axis pairs are tested by CellPhoneDB's
    permutation within that patient and combined by Simes' method; the claim is then a
    one-sided binomial test of the number of patients with p < alpha against the
    alpha expected under no communication. The effect is the fraction of patients.
    The table over all cells pooled is kept as description (``reason``).
    """
    comm = _keys.record(ctx.adata).get(_keys.COMMUNICATION, {})
    if "table" not in comm:
        raise NotTestable(
            "communication was not inferred (run tl.communicate first)"
            + (f": {comm['not_run']}" if "not_run" in comm else "")
        )
    if comm.get("by_sample") is None or comm.get("groups_by_sample") is None:
        raise NotTestable(
            "no per-patient communication (run tl.communicate(adata, sample_key='patient') again: "
            "communication claims are tested per patient)"
        )
    s = ctx.settings
    axis = load_axis()["claims"][c["axis"]]
    per = pd.DataFrame(comm["by_sample"])
    if not int(comm.get("parameters", {}).get("n_perms", 1) or 0) or (
        len(per) and not np.isfinite(per["pvalue"].to_numpy(float)).any()
    ):
        raise NotTestable("communication was inferred without shuffles (n_perms 0): no p-values to test")
    groups = comm["groups_by_sample"]
    alpha = s["alpha"]
    resource = str(comm.get("parameters", {}).get("resource", ""))
    var_names = pd.Index(ctx.adata.var_names)
    calls, absent = _patient_axis_calls(
        per, groups, c["axis"], alpha, n_candidates=_candidate_pairs(resource, var_names, c["axis"])
    )
    skipped = sorted(comm.get("skipped_samples", {}) or {})
    n = len(calls)
    lacking = (
        f"{len(absent) + len(skipped)} patient(s) without {'/'.join(axis['senders'])} senders or "
        f"{'/'.join(axis['receivers'])} receivers (>= {comm.get('parameters', {}).get('min_cells', 5)} cells)"
    )
    if n < s["min_patients_communication"]:
        raise NotTestable(
            f"{n} patient(s) with both senders and receivers "
            f"(need {s['min_patients_communication']}); {lacking}"
        )
    k = sum(r["significant"] for r in calls)
    p, lo, hi = stats.count_test(k, n, alpha)
    t = pd.DataFrame(comm["table"])
    rows = t[on_axis_of(t, c["axis"])] if len(t) else t
    notes = [
        f"{k} of {n} patients with a significant on-axis pair (Simes over the claim's candidate pairs, "
        f"untested ones at p = 1; p < {alpha})"
    ]
    if "sender_proxies" in axis:
        kinds = set(load_axis()["metabolite_sender_proxies"]) | {"enzyme_only"}
        others = sorted(kinds - set(axis["sender_proxies"]))
        o_calls, _ = _patient_axis_calls(
            per,
            groups,
            c["axis"],
            alpha,
            sender_proxies=others,
            n_candidates=_candidate_pairs(resource, var_names, c["axis"], sender_proxies=others),
        )
        notes.append(
            f"{'/'.join(others)} senders reported apart, not counted: "
            f"{sum(r['significant'] for r in o_calls)} of {len(o_calls)} patients"
        )
    notes.append(lacking)
    if len(rows):
        best = rows.sort_values(["pvalue", "lr_means"], ascending=[True, False]).iloc[0]
        notes.append(
            f"all cells pooled (description): best pair {best['sender']} -> {best['receiver']} "
            f"{best['ligand_complex']} -> {best['receptor_complex']} (p {best['pvalue']:.3g})"
        )
    else:
        notes.append("all cells pooled (description): no on-axis pair expressed")
    per_patient = [
        {
            "claim": cid,
            "patient": r["patient"],
            "n_cells": r["n_cells"],
            "rho": np.nan,
            "rho_unadjusted": np.nan,
            "pvalue": r["pvalue"],
        }
        for r in calls
    ]
    return {
        "effect_type": "fraction_of_patients (axis pair significant within the patient)",
        "effect": k / n,
        "ci_low": lo,
        "ci_high": hi,
        "pvalue": p,
        "n_patients": n,
        "n_patients_dropped": len(absent) + len(skipped),
        "n_cells": int(sum(r["n_cells"] for r in calls)),
        "reason": "; ".join(notes),
        "_per_patient": per_patient,
    }


def population(c: dict) -> list[str]:
    """The row's population: the claim's senders -> receivers."""
    axis = load_axis()["claims"][c["axis"]]
    return [f"{'/'.join(axis['senders'])} -> {'/'.join(axis['receivers'])}"]


def pool(rows: pd.DataFrame, first: dict, alpha: float = 0.05) -> dict:
    """Pool datasets' rows: all their patients together, one binomial test of the significant ones."""
    n = rows["n_patients"].astype(int)
    k = int(np.round((rows["effect"].astype(float) * n).sum()))
    total = int(n.sum())
    p, lo, hi = stats.count_test(k, total, alpha)
    return {
        "effect_type": first["effect_type"],
        "effect": k / total,
        "ci_low": lo,
        "ci_high": hi,
        "pvalue": p,
        "n_patients_dropped": int(rows["n_patients_dropped"].fillna(0).sum()),
        "reason": f"{k} of {total} patients over {len(rows)} dataset(s); one-sided binomial test",
    }


LEVEL = Level(
    name="communication",
    func=run,
    desc="per patient, CellPhoneDB's permutation p of the claim's on-axis pairs combined by Simes; "
    "across patients, a one-sided binomial test of the patients with p < alpha",
    variables=False,
    population=population,
    pool=pool,
)
