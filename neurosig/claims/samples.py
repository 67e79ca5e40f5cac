"""Per-sample values and covariates of bulk and multi-region data (one row per sample).

The tumour, region and survival levels read a claim's variables here: a library
signature from the per-sample scores in ``.obsm[settings["score_key"]]`` (default
``neurosig_ssgsea``) when its genes are unchanged by the circularity guard, otherwise
scored now with ``settings["bulk_method"]`` (a registered method of :func:`neurosig.score`);
a gene from ``X`` (log2); an ``obs`` column as it is (e.g. ``DistPeriph``). Covariates are
named in the claims file (``settings.bulk_covariates``...) and resolved from ``.obs``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import _keys
from ..knowledge import library
from ..knowledge.signatures import Signature
from ..score.engine import score
from .context import Context, NotTestable
from .variables import gene_values, resolve_variable

#: Histologies that count as glioblastoma for the subtype covariate (GlioVis and atlas spellings).
GBM_NAMES = ("gbm", "glioblastoma", "gliosarcoma")


def sample_values(ctx: Context, name: str, genes: dict[str, float] | None, var: dict) -> pd.Series:
    """One value per sample (indexed by ``obs_names``) of a claim variable."""
    a = ctx.adata
    if "obs" in var:
        col = var["obs"]
        if col not in a.obs:
            raise NotTestable(f".obs[{col!r}] is not in the data")
        ctx.coverage[name] = f"obs:{col}"
        return pd.to_numeric(a.obs[col], errors="coerce").astype(float)
    if genes is None:
        raise NotTestable(f"{sorted(var)} has no per-sample value in bulk data (a fraction needs cells)")
    resolved = resolve_variable(ctx, name, genes, var)
    if "gene" in var:
        return pd.Series(gene_values(ctx, [next(iter(resolved))])[0], index=a.obs_names)
    key = ctx.settings.get("score_key", _keys.SSGSEA)
    sig = var.get("signature")
    if (
        sig is not None
        and key in a.obsm
        and sig in getattr(a.obsm[key], "columns", [])
        and set(genes) == set(library()[sig].weights)
    ):
        return pd.Series(np.asarray(a.obsm[key][sig], float), index=a.obs_names)
    # the same genes give the same score: cached by gene set, not by claim
    cache = "bulk:" + ",".join(f"{g}={w:g}" for g, w in sorted(resolved.items()))
    if cache not in ctx.scores:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = score(
                a,
                [Signature(id=name, weights=resolved)],
                method=ctx.settings.get("bulk_method", "score_genes"),
                key_added=_keys.CLAIMS_TMP,
                seed=ctx.seed,
            )
        del a.obsm[_keys.CLAIMS_TMP]
        _keys.record(a).get(_keys.SCORES, {}).pop(_keys.CLAIMS_TMP, None)
        ctx.scores[cache] = frame[name].to_numpy(dtype=float)
    return pd.Series(ctx.scores[cache], index=a.obs_names)


def _dummies(values: pd.Series, name: str, min_n: int) -> pd.DataFrame:
    """Indicator columns of a categorical covariate; levels with < ``min_n`` samples join the reference."""
    v = values.astype("string").fillna("unknown").str.strip().replace({"": "unknown", "nan": "unknown"})
    counts = v.value_counts()
    keep = [lvl for lvl in counts.index if counts[lvl] >= min_n]
    if len(keep) < 2:
        return pd.DataFrame(index=values.index)
    # the most common level (keep[0]) and the rare ones are the reference
    return pd.DataFrame({f"{name}={lvl}": (v == lvl).astype(float) for lvl in keep[1:]}, index=values.index)


def covariates(
    ctx: Context, names: list[str], samples: pd.Index, exclude: set[str] = frozenset()
) -> tuple[pd.DataFrame, list[str], list[str]]:
    """Covariate columns for ``samples``: (frame, used, not used with the reason).

    Names: ``purity`` (``.obs["purity"]``: measured purity; a numeric covariate unknown in
    more than ``settings["max_missing_covariate"]`` (20%) of samples is not used, below that
    the samples without it are left out. An ESTIMATE-type purity computed from immune
    genes would be circular with immune outcomes: keep it out of ``purity``),
    ``neuron_content`` (score of ``settings["neuron_signature"]``, the genes of ``exclude``
    removed), ``histology``, ``grade``, ``idh`` (indicators; an unknown value is
    its own level), ``subtype_gbm`` (subtype indicators within glioblastomas), ``age``, or
    any numeric ``.obs`` column.
    """
    a = ctx.adata
    obs = a.obs.loc[samples]
    cols: dict[str, pd.Series] = {}
    used, skipped = [], []
    min_n = int(ctx.settings.get("min_level_samples", 3))
    max_missing = float(ctx.settings.get("max_missing_covariate", 0.2))
    for name in names:
        if name == "neuron_content":
            sig = ctx.settings.get("neuron_signature", "marker_Mature_neurons")
            genes = {g: w for g, w in library()[sig].weights.items() if g not in exclude}
            try:
                vals = sample_values(ctx, f"covariate:{sig}", genes, {"signature": sig})
            except NotTestable as err:
                skipped.append(f"neuron_content ({err})")
                continue
            cols[name] = vals.loc[samples]
            used.append(f"neuron_content ({sig})")
            continue
        if name in ("histology", "grade", "idh", "subtype_gbm"):
            col = "subtype" if name == "subtype_gbm" else name
            if col not in obs:
                skipped.append(f"{name} (no .obs[{col!r}])")
                continue
            values = obs[col]
            if name == "subtype_gbm":
                if "histology" not in obs:
                    skipped.append("subtype_gbm (no histology)")
                    continue
                gbm = obs["histology"].astype(str).str.lower().str.contains("|".join(GBM_NAMES))
                values = values.astype("string").where(gbm.to_numpy(), "not GBM")
            frame = _dummies(values, name, min_n)
            if frame.shape[1] == 0:
                skipped.append(f"{name} (one level)")
                continue
            cols.update({c: frame[c] for c in frame})
            used.append(name)
            continue
        if name not in obs:
            skipped.append(f"{name} (no .obs[{name!r}])")
            continue
        vals = pd.to_numeric(obs[name], errors="coerce").astype(float)
        missing = int(vals.isna().sum())
        if missing > max_missing * len(vals):
            skipped.append(f"{name} (unknown in {missing}/{len(vals)} samples)")
            continue
        if missing:
            used.append(f"{name} (unknown in {missing}/{len(vals)} samples: those left out)")
            cols[name] = vals
            continue
        if np.ptp(vals.dropna().to_numpy()) == 0:
            skipped.append(f"{name} (constant)")
            continue
        cols[name] = vals
        used.append(name)
    frame = pd.DataFrame(cols, index=samples)
    # columns that are constant here carry nothing
    frame = frame.loc[:, [c for c in frame if np.nanmax(frame[c]) > np.nanmin(frame[c])]]
    return independent(frame, skipped), used, skipped


def independent(frame: pd.DataFrame, skipped: list[str]) -> pd.DataFrame:
    """Drop columns that the intercept and earlier columns already determine (e.g. grade IV = GBM)."""
    complete = frame.dropna()
    kept: list[str] = []
    base = np.ones((len(complete), 1))
    for col in frame:
        trial = np.column_stack([base, complete[col].to_numpy(float)])
        if np.linalg.matrix_rank(trial) > base.shape[1]:
            kept.append(col)
            base = trial
        else:
            skipped.append(f"{col} (determined by the other covariates)")
    return frame[kept]


def fisher_test(rho: float, n: int, k: int, alpha: float = 0.05) -> tuple[float, float, float, float, float]:
    """Fisher-z test of a (partial) Spearman rho from ``n`` units with ``k`` covariates.

    Variance 1.06 / (n - 3 - k) (Fieller, Hartley & Pearson 1957, one degree lost per
    covariate). Returns z, its SE, the interval of rho and the two-sided normal p.
    """
    dof = n - 3 - k
    if not np.isfinite(rho) or dof <= 0:
        return np.nan, np.nan, np.nan, np.nan, np.nan
    z = float(np.arctanh(np.clip(rho, -0.999999, 0.999999)))
    se = float(np.sqrt(1.06 / dof))
    crit = sps.norm.ppf(1 - alpha / 2)
    p = float(2 * sps.norm.sf(abs(z) / se))
    return z, se, float(np.tanh(z - crit * se)), float(np.tanh(z + crit * se)), p
