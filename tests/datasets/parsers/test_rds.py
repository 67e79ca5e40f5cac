"""The Seurat reader (``seurat_rds``) on Seurat-layout S4 objects written without R.

R serialises an S4 object (S4SXP) as its flags followed by the pairlist of its slots,
the ``class`` slot carrying a ``package`` attribute; a Seurat v3 object holds
``assays`` (a named list of ``Assay`` objects whose ``counts`` is a dgCMatrix) and
``meta.data`` (a data.frame of the cells). ``rdata`` writes every type but S4, so the
helper below writes the S4 records itself; ``rdata`` reads them back as R does.
"""

from __future__ import annotations

import dataclasses
import gzip
import io

import numpy as np
import pandas as pd
import pytest
import rdata
import scipy.sparse as sp
from rdata.conversion import ConverterFromPythonToR
from rdata.conversion.to_r import build_r_list, build_r_object
from rdata.parser import RObject, RObjectType
from rdata.unparser._unparser import pack_r_object_info
from rdata.unparser._xdr import UnparserXDR

from neurosig.datasets.parsers import run_parser
from neurosig.errors import ParseError

_S4_BIT = 1 << 4  # the general-purpose bit R sets on S4 objects


class _S4Unparser(UnparserXDR):
    def unparse_r_object(self, obj: RObject) -> None:
        if obj.info.type == RObjectType.S4:
            self.unparse_int(pack_r_object_info(obj.info))
            self.unparse_r_object(obj.attributes)
            return
        super().unparse_r_object(obj)


def _inline(o):
    """Replace symbol references by the symbols (objects are built out of write order)."""
    if not isinstance(o, RObject):
        return o
    if o.info.type == RObjectType.REF:
        return _inline(o.referenced_object)
    v = o.value
    if isinstance(v, (list, tuple)) and any(isinstance(e, RObject) for e in v):
        v = type(v)(_inline(e) for e in v)
    elif isinstance(v, RObject):
        v = _inline(v)
    return dataclasses.replace(o, value=v, attributes=_inline(o.attributes), tag=_inline(o.tag))


class _R:
    def __init__(self) -> None:
        self.conv = ConverterFromPythonToR()

    def obj(self, value):
        return value if isinstance(value, RObject) else self.conv.convert_to_r_object(value)

    def named_list(self, items: dict) -> RObject:
        names = self.conv.convert_to_r_attributes({"names": np.array(list(items))})
        return build_r_object(RObjectType.VEC, value=[self.obj(v) for v in items.values()], attributes=names)

    def s4(self, cls: str, package: str, slots: dict) -> RObject:
        klass = self.conv.convert_to_r_object(np.array([cls]))
        pkg = self.conv.convert_to_r_attributes({"package": np.array([package])})
        klass = dataclasses.replace(
            klass, info=dataclasses.replace(klass.info, attributes=True), attributes=pkg
        )
        pairs = [(self.conv.convert_to_r_sym(k), self.obj(v)) for k, v in slots.items()]
        pairs.append((self.conv.convert_to_r_sym("class"), klass))
        return build_r_object(RObjectType.S4, is_object=True, attributes=build_r_list(pairs), gp=_S4_BIT)

    def dgc(self, m: np.ndarray, genes: list[str], cells: list[str]) -> RObject:
        c = sp.csc_matrix(m)
        return self.s4(
            "dgCMatrix",
            "Matrix",
            {
                "i": c.indices.astype(np.int32),
                "p": c.indptr.astype(np.int32),
                "Dim": np.array(m.shape, dtype=np.int32),
                "Dimnames": [np.array(genes), np.array(cells)],
                "x": c.data.astype(float),
                "factors": [],
            },
        )

    def rds(self, obj: RObject) -> bytes:
        data = dataclasses.replace(
            self.conv.convert_to_r_data(np.zeros(1, dtype=np.int32)), object=_inline(obj)
        )
        buf = io.BytesIO()
        _S4Unparser(buf).unparse_r_data(data)
        return gzip.compress(buf.getvalue())


def seurat_rds_bytes(counts: np.ndarray, genes: list[str], cells: list[str], meta: pd.DataFrame) -> bytes:
    """``saveRDS`` of a Seurat v3 object after integration: RNA and integrated assays, meta.data."""
    r = _R()
    rna = r.s4(
        "Assay",
        "Seurat",
        {
            "counts": r.dgc(counts, genes, cells),
            "data": r.dgc(np.log1p(counts), genes, cells),
            "scale.data": np.zeros((0, 0)),
            "key": np.array(["rna_"]),
        },
    )
    integrated = r.s4(
        "Assay",
        "Seurat",
        {
            "counts": r.dgc(np.zeros((0, 0)), [], []),
            "data": r.dgc(np.ones((1, len(cells))) * 0.5, genes[:1], cells),
            "key": np.array(["integrated_"]),
        },
    )
    obj = r.s4(
        "Seurat",
        "Seurat",
        {
            "assays": r.named_list({"RNA": rna, "integrated": integrated}),
            "meta.data": meta,
            "active.assay": np.array(["integrated"]),
            "project.name": np.array(["SeuratProject"]),
        },
    )
    return r.rds(obj)


GENES = ["GFAP", "PTPRC", "CD74"]
CELLS = ["AAACCTGAGAAGGCCT-1_1", "AAACCTGCAATGGAGC-1_2", "AAACGGGAGCTAGTGG-1_2"]
COUNTS = np.array([[1, 0, 4], [0, 3, 0], [2, 2, 7]])


def _meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "orig.ident": pd.Categorical(["s1", "s2", "s2"]),
            "nCount_RNA": COUNTS.sum(axis=0).astype(float),
            "ID": ["A", "B", "B"],
            "seurat_clusters": pd.Categorical(["0", "4", "1"]),
        },
        index=CELLS,
    )


def test_seurat_counts_and_meta_data(tmp_path):
    p = tmp_path / "obj.rds.gz"
    p.write_bytes(gzip.compress(seurat_rds_bytes(COUNTS, GENES, CELLS, _meta())))  # GEO's second gzip
    a = run_parser("seurat_rds", {"rds": p})
    assert list(a.obs_names) == CELLS and list(a.var_names) == GENES
    np.testing.assert_array_equal(a.X.toarray(), COUNTS.T)  # RNA counts, not the integrated assay
    assert list(a.obs["ID"]) == ["A", "B", "B"] and list(a.obs["seurat_clusters"]) == ["0", "4", "1"]
    np.testing.assert_array_equal(a.obs["nCount_RNA"], a.X.sum(axis=1).A1)
    assert a.uns["parser"] == {"name": "seurat_rds", "assay": "RNA"}


def test_seurat_refusals_name_the_way_out(tmp_path):
    p = tmp_path / "obj.rds"
    p.write_bytes(seurat_rds_bytes(COUNTS, GENES, CELLS, _meta()))
    with pytest.raises(ParseError, match=r"no assay 'SCT'; the object has \['RNA', 'integrated'\]"):
        run_parser("seurat_rds", {"rds": p}, {"assay": "SCT"})
    table = tmp_path / "t.rds"
    rdata.write_rds(table, pd.DataFrame({"a": [1]}))
    with pytest.raises(ParseError, match="not a Seurat object"):
        run_parser("seurat_rds", {"rds": table})
    bad = tmp_path / "bad.rds.gz"
    bad.write_bytes(gzip.compress(b"not an rds"))
    with pytest.raises(ParseError, match=r"not a readable R .rds.*In R: obj <- readRDS.*writeMM"):
        run_parser("seurat_rds", {"rds": bad})
