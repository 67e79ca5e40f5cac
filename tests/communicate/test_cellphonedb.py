"""CellPhoneDB's method: liana's rules checked against liana on real data; both rule sets by hand.

The comparison with the ``cellphonedb`` package itself is in test_vs_cellphonedb_package.py.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig.communicate._kernels import count_null_hits
from neurosig.communicate.cellphonedb import bh_qvalues, cellphonedb
from neurosig.communicate.resources import load_resource
from neurosig.errors import InputDataError

from ..conftest import needs_mirror

KEY = ["source", "target", "ligand_complex", "receptor_complex"]


def _liana(adata, n_perms, seed=1337):
    li = pytest.importorskip("liana")
    res = load_resource("cellphonedb_v5")[["ligand", "receptor"]].drop_duplicates()
    b = adata.copy()
    li.mt.cellphonedb(
        b,
        groupby="cell_type",
        resource=res,
        expr_prop=0.1,
        min_cells=5,
        use_raw=False,
        n_perms=n_perms,
        seed=seed,
        verbose=False,
        key_added="ref",
    )
    return b.uns["ref"]


def _merge(ours: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    o = ours.rename(columns={"sender": "source", "receiver": "target"})
    o = o.assign(ligand_complex=o["ligand_units"], receptor_complex=o["receptor_units"])
    m = ref.merge(o, on=KEY, how="outer", indicator=True, suffixes=("_ref", ""))
    assert (m["_merge"] == "both").all(), m["_merge"].value_counts()
    return m


@pytest.fixture(scope="module")
def tirosh():
    from neurosig.datasets.load import load

    if not __import__("tests.conftest", fromlist=["HAS_MIRROR"]).HAS_MIRROR:
        pytest.skip("mirror needed")
    return load("tirosh2016_oligodendroglioma")


@pytest.fixture(scope="module")
def darmanis():
    from neurosig.datasets.load import load

    if not __import__("tests.conftest", fromlist=["HAS_MIRROR"]).HAS_MIRROR:
        pytest.skip("mirror needed")
    a = load("darmanis2015_brain")
    return a[a.obs["cell_type"] != "other"].copy()


@needs_mirror
@pytest.mark.parametrize("dataset", ["tirosh", "darmanis"])
def test_means_props_and_pvalues_equal_liana(dataset, request):
    adata = request.getfixturevalue(dataset)
    n_perms = 300
    ref = _liana(adata, n_perms)
    ours = cellphonedb(adata, "cell_type", n_perms=n_perms, seed=1337, rules="liana")
    m = _merge(ours, ref)
    assert len(m) == len(ref) > 500
    np.testing.assert_allclose(m["lr_means_ref"], m["lr_means"], atol=1e-6)
    np.testing.assert_allclose(m["ligand_means_ref"], m["ligand_means"], atol=1e-6)
    np.testing.assert_allclose(m["receptor_props_ref"], m["receptor_props"], atol=1e-12)
    assert (m["ligand_ref"] == m["ligand"]).all() and (m["receptor_ref"] == m["receptor"]).all()
    # the same shuffles as liana (seed 1337): the same counts; liana reports b / n, we (b + 1) / (n + 1).
    # A shuffle whose mean equals the observed one exactly (same cells drawn, common with
    # zero-inflated counts in small groups) counts as a hit in one summation order and can
    # miss by one ulp in the other: allow a count that differs by one shuffle in at most
    # 1 row in 5,000 (Darmanis 2015: 1 of 11,698 rows, 12 vs 13 hits), none by more.
    hits_ref = np.round(m["cellphone_pvals"].to_numpy() * n_perms)
    diff = np.abs(hits_ref - m["n_null_hits"].to_numpy())
    assert diff.max() <= 1 and (diff > 0).sum() <= max(1, len(m) // 5000), (diff > 0).sum()
    np.testing.assert_allclose(m["pvalue"], (m["n_null_hits"] + 1) / (n_perms + 1), atol=1e-15)
    assert (m["pvalue"] > 0).all()


@needs_mirror
def test_pvalues_with_other_shuffles_agree_within_monte_carlo_error(darmanis):
    n_perms = 300
    ref = _liana(darmanis, n_perms)
    ours = cellphonedb(darmanis, "cell_type", n_perms=n_perms, seed=7, rules="liana")
    m = _merge(ours, ref)
    ours_p = m["n_null_hits"] / n_perms  # liana's convention
    p = (m["cellphone_pvals"] + ours_p) / 2
    se = np.sqrt(np.maximum(p * (1 - p), 1 / n_perms) * 2 / n_perms)
    assert (np.abs(m["cellphone_pvals"] - ours_p) <= 5 * se).all()
    assert (m["cellphone_pvals"] != ours_p).mean() > 0.05  # the shuffles really differ


@needs_mirror
def test_cellphonedb_complex_null_differs_from_liana_only_for_complexes(tirosh):
    # liana's rules throughout, but for how a complex's shuffled mean is taken
    liana_null = cellphonedb(tirosh, n_perms=200, rules="liana")
    cpdb_null = cellphonedb(tirosh, n_perms=200, rules="liana", complex_null="cellphonedb")
    key = ["sender", "receiver", "ligand_units", "receptor_units"]
    m = liana_null.merge(cpdb_null, on=key)
    simple = ~(m["ligand_units"].str.contains("_") | m["receptor_units"].str.contains("_"))
    np.testing.assert_array_equal(m.loc[simple, "pvalue_x"], m.loc[simple, "pvalue_y"])
    # the minimum over subunits of permuted means is never above the reused subunit's mean
    assert (m["pvalue_y"] <= m["pvalue_x"] + 1e-12).all()
    # and the option is not ignored: some complex rows get a strictly smaller p
    assert (m.loc[~simple, "pvalue_y"] < m.loc[~simple, "pvalue_x"]).any()


def _toy() -> ad.AnnData:
    """Two groups, a ligand A on group s, a complex receptor B_C on group r."""
    rng = np.random.default_rng(0)
    n = 40
    groups = np.array(["s"] * 20 + ["r"] * 20)
    x = np.zeros((n, 5), dtype=np.float32)
    x[:20, 0] = 2.0  # A high in s
    x[20:, 1] = 1.0  # B in r
    x[20:30, 2] = 3.0  # C in half of r
    x[:, 3] = rng.random(n)  # D everywhere
    x[0, 4] = 1.0  # E in a single cell
    adata = ad.AnnData(
        sp.csr_matrix(x), obs=pd.DataFrame({"cell_type": groups}, index=[f"c{i}" for i in range(n)])
    )
    adata.var_names = ["A", "B", "C", "D", "E"]
    return adata


TOY_RESOURCE = pd.DataFrame({"ligand": ["A", "D", "E"], "receptor": ["B_C", "D", "B"]})


def test_complex_takes_its_least_expressed_subunit_and_detection_filter():
    t = cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=100, min_resource_coverage=0, expr_prop=0.1)
    row = t[(t["sender"] == "s") & (t["receiver"] == "r") & (t["ligand_units"] == "A")].iloc[0]
    # B mean 1.0, C mean 1.5 -> complex mean 1.0 (B), props of the chosen subunit reported
    assert row["receptor"] == "B" and row["receptor_means"] == pytest.approx(1.0)
    assert row["ligand_means"] == pytest.approx(2.0) and row["lr_means"] == pytest.approx(1.5)
    # no shuffle puts all A-cells in s and all B/C cells in r: b = 0, p = 1 / (n + 1), never 0
    assert row["n_null_hits"] == 0 and row["pvalue"] == pytest.approx(1 / 101)
    # E is detected in 1/20 of s (< 10%): its rows are filtered out
    assert not (t["ligand_units"] == "E").any()
    # r -> s for A -> B_C: A absent in r, the row fails detection
    assert not ((t["sender"] == "r") & (t["ligand_units"] == "A")).any()
    # keep_all keeps them with p = 1
    every = cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=20, min_resource_coverage=0, keep_all=True)
    assert len(every) == 2 * 2 * 3
    e_rows = every[every["ligand_units"] == "E"]
    assert (e_rows["pvalue"] == 1).all() and (e_rows["n_null_hits"] == 20).all()


def _at_threshold() -> ad.AnnData:
    """Ligand L detected in exactly 2 of 20 sender cells (10%), receptor R in every receiver cell."""
    x = np.zeros((40, 2), dtype=np.float32)
    x[:2, 0] = 3.0
    x[20:, 1] = 1.0
    adata = ad.AnnData(
        sp.csr_matrix(x),
        obs=pd.DataFrame({"cell_type": ["s"] * 20 + ["r"] * 20}, index=[f"c{i}" for i in range(40)]),
    )
    adata.var_names = ["L", "R"]
    return adata


def test_detection_threshold_is_strict_for_cellphonedb_and_inclusive_for_liana():
    res = pd.DataFrame({"ligand": ["L"], "receptor": ["R"]})
    kw = {"resource": res, "n_perms": 20, "min_resource_coverage": 0, "expr_prop": 0.1}
    cpdb = cellphonedb(_at_threshold(), **kw)
    liana = cellphonedb(_at_threshold(), rules="liana", **kw)
    assert not ((cpdb["sender"] == "s") & (cpdb["receiver"] == "r")).any()  # 10% is not > 10%
    assert ((liana["sender"] == "s") & (liana["receiver"] == "r")).any()  # but is >= 10%
    assert cpdb.attrs["parameters"]["rules"] == "cellphonedb"
    assert liana.attrs["parameters"]["complex_null"] == "liana"


def test_null_count_rules_by_hand():
    # one row: sender 0, ligand entity 0; receiver 1, receptor entity 1; observed lr_means 1.0
    shuffled = np.array(
        [
            [[0.0, 0.0], [0.0, 3.0]],  # ligand absent, receptor high: (0 + 3) / 2 = 1.5
            [[1.0, 0.0], [0.0, 1.0]],  # a tie: (1 + 1) / 2 = 1.0
            [[2.0, 0.0], [0.0, 1.0]],  # both present, above: 1.5
            [[0.5, 0.0], [0.0, 0.5]],  # below: 0.5
        ]
    )
    one = np.zeros(1, dtype=np.int64)
    args = (shuffled, one, one, one + 1, one + 1, np.array([1.0]))
    counts = {}
    for rules, flags in {"cellphonedb": (True, True), "liana": (False, False)}.items():
        c = np.zeros(1, dtype=np.int64)
        count_null_hits(*args, c, *flags)
        counts[rules] = int(c[0])
    # CellPhoneDB: (x > 0) * (y > 0) * (x + y) / 2 > observed -> only the third shuffle
    # liana: (x + y) / 2 >= observed -> the first three
    assert counts == {"cellphonedb": 1, "liana": 3}


@pytest.mark.parametrize("bad", [-5, 1, 2.5, "100"])
def test_n_perms_must_give_a_usable_p_value(bad):
    with pytest.raises(InputDataError, match="n_perms"):
        cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=bad, min_resource_coverage=0)


@pytest.mark.parametrize("none", [None, 0])
def test_no_shuffles_no_p_values(none):
    t = cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=none, min_resource_coverage=0)
    assert t["pvalue"].isna().all() and (t["n_null_hits"] == 0).all()
    assert t.attrs["parameters"]["n_perms"] == 0


def test_unknown_rules_are_refused():
    with pytest.raises(InputDataError, match="rules must be"):
        cellphonedb(_toy(), resource=TOY_RESOURCE, rules="squidpy", min_resource_coverage=0)


def test_seed_is_a_parameter_and_reproducible():
    a = cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=50, seed=3, min_resource_coverage=0)
    b = cellphonedb(_toy(), resource=TOY_RESOURCE, n_perms=50, seed=3, min_resource_coverage=0)
    pd.testing.assert_frame_equal(a, b)
    assert a.attrs["parameters"]["seed"] == 3


def test_streamed_from_a_path_equals_in_memory(tmp_path):
    adata = _toy()
    path = tmp_path / "toy.h5ad"
    adata.write_h5ad(path)
    mem = cellphonedb(adata, resource=TOY_RESOURCE, n_perms=50, min_resource_coverage=0)
    disk = cellphonedb(str(path), resource=TOY_RESOURCE, n_perms=50, min_resource_coverage=0, chunk_size=7)
    pd.testing.assert_frame_equal(mem, disk)


def test_bh_qvalues_match_statsmodels():
    multipletests = pytest.importorskip("statsmodels.stats.multitest").multipletests
    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.0])
    q = bh_qvalues(p)
    ok = ~np.isnan(p)
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(q[4])


# ----------------------------------------------------------------------------- bad input
def test_missing_groupby_column():
    with pytest.raises(InputDataError, match="'leiden' is not in .obs"):
        cellphonedb(_toy(), "leiden", resource=TOY_RESOURCE, min_resource_coverage=0)


def test_one_group_is_refused():
    adata = _toy()
    adata.obs["cell_type"] = "s"
    with pytest.raises(InputDataError, match="at least two groups"):
        cellphonedb(adata, resource=TOY_RESOURCE, min_resource_coverage=0)


def test_small_groups_are_skipped_and_listed(caplog):
    adata = _toy()
    adata.obs["cell_type"] = adata.obs["cell_type"].astype(str)
    adata.obs.iloc[:3, 0] = "tiny"
    t = cellphonedb(adata, resource=TOY_RESOURCE, n_perms=10, min_resource_coverage=0)
    assert t.attrs["skipped_groups"] == {"tiny": 3}
    assert "tiny" not in set(t["sender"]) | set(t["receiver"])
    assert "tiny (3)" in caplog.text


def test_resource_that_barely_overlaps_names_the_fix():
    adata = _toy()
    res = pd.DataFrame({"ligand": [f"L{i}" for i in range(50)] + ["A"], "receptor": ["R"] * 50 + ["B"]})
    with pytest.raises(InputDataError, match="organism and the gene id type"):
        cellphonedb(adata, resource=res)


def test_mouse_symbols_with_a_human_resource():
    adata = _toy()
    adata.var_names = ["Gria1", "Gria2", "Nlgn3", "Bdnf", "Ntrk2"]
    with pytest.raises(InputDataError, match="mouse symbols"):
        cellphonedb(adata, resource=TOY_RESOURCE)


def test_ensembl_ids_are_refused():
    adata = _toy()
    adata.var_names = [f"ENSG0000000000{i}" for i in range(5)]
    with pytest.raises(InputDataError, match="Ensembl"):
        cellphonedb(adata, resource=TOY_RESOURCE)


def test_counts_are_refused():
    adata = _toy()
    adata.X = sp.csr_matrix(np.round(adata.X.toarray() * 100))
    with pytest.raises(InputDataError, match="raw counts"):
        cellphonedb(adata, resource=TOY_RESOURCE, min_resource_coverage=0)


@needs_mirror
def test_cellphonedb_computes_and_callers_add_the_axis_columns(tirosh):
    """cellphonedb() leaves out the axis annotation; add_axis_columns gives the resource's values."""
    from neurosig.communicate.axis import add_axis_columns
    from neurosig.communicate.cellphonedb import AXIS_COLUMNS, COMPUTED_COLUMNS, ID_COLUMNS, TABLE_COLUMNS

    t = cellphonedb(tirosh, n_perms=0)
    assert list(t.columns) == COMPUTED_COLUMNS + ID_COLUMNS
    a = add_axis_columns(t)
    assert list(a.columns) == TABLE_COLUMNS + ID_COLUMNS and a.attrs == t.attrs
    res = load_resource("cellphonedb_v5").set_index(["ligand_id", "receptor_id"])
    want = res.loc[list(zip(a["ligand_id"], a["receptor_id"], strict=True)), ["sender_proxy", "claim"]]
    np.testing.assert_array_equal(a["claim"].to_numpy(), want["claim"].to_numpy())
    np.testing.assert_array_equal(a["sender_proxy"].to_numpy(), want["sender_proxy"].to_numpy())
    assert a["claim"].ne("").any() and set(AXIS_COLUMNS) <= set(a.columns)
    assert a["on_axis"].dtype == bool
