"""Gene identifiers: outdated symbols, duplicates, Ensembl ids, mouse symbols."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from neurosig.datasets.genes import current_symbol, gene_tables, harmonise_genes
from neurosig.errors import InputDataError


def toy(names, values=None, **var):
    values = (
        np.arange(1, 2 * len(names) + 1, dtype=np.float32).reshape(2, len(names))
        if values is None
        else values
    )
    return ad.AnnData(X=sp.csr_matrix(values), var=pd.DataFrame(var, index=pd.Index(names)))


def test_outdated_neftel_symbols_map_to_current():
    assert current_symbol("HN1") == "JPT1"  # ambiguous in Entrez: resolved by override
    assert current_symbol("C8orf4") == "TCIM"
    assert current_symbol("GPR56") == "ADGRG1"
    assert current_symbol("GFAP") == "GFAP"
    assert gene_tables().source["entrez_gene_date"] == "2022-Sep12"


def test_rename_and_report():
    a, report = harmonise_genes(toy(["HN1", "GFAP", "C8orf4"]))
    assert list(a.var_names) == ["JPT1", "GFAP", "TCIM"]
    assert report["renamed_aliases"] == 2 and report["renamed_examples"]["HN1"] == "JPT1"


def test_alias_never_merges_into_a_measured_gene():
    a, report = harmonise_genes(toy(["HN1", "JPT1"]))
    assert list(a.var_names) == ["HN1", "JPT1"]
    assert report["alias_target_present"] == 1


def test_duplicates_are_summed_in_x_and_layers():
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    adata = toy(["SOX2", "OLIG2", "SOX2"], x, gene_ids=["E1", "E2", "E3"])
    adata.layers["counts"] = sp.csr_matrix(x * 10)
    a, report = harmonise_genes(adata)
    assert list(a.var_names) == ["SOX2", "OLIG2"]
    np.testing.assert_array_equal(a.X.toarray(), [[4, 2], [10, 5]])
    np.testing.assert_array_equal(a.layers["counts"].toarray(), [[40, 20], [100, 50]])
    assert a.var.loc["SOX2", "gene_ids"] == "E1;E3"
    assert report["merged_duplicates"] == 1 and a.n_obs == 2


def test_ensembl_ids_need_symbols():
    with pytest.raises(InputDataError, match="Ensembl ids.*symbol_column.*map_ensembl"):
        harmonise_genes(toy(["ENSG00000141510", "ENSG00000075624"]))
    a, _ = harmonise_genes(toy(["ENSG00000141510", "ENSG00000075624"], feature_name=["TP53", "ACTB"]))
    assert list(a.var_names) == ["TP53", "ACTB"]
    a, report = harmonise_genes(toy(["ENSG00000141510.16", "ENSG00000075624"]), map_ensembl=True)
    assert list(a.var_names) == ["TP53", "ACTB"] and report["ensembl_mapped"] == 2


def test_mouse_symbols_are_refused():
    with pytest.raises(InputDataError, match="mouse symbols.*orthologs"):
        harmonise_genes(toy(["Gapdh", "Actb", "Cd74"]))
