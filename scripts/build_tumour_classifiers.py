"""Build ``signatures/tumour_classifiers.yaml``: ESTIMATE and the Wang 2017 GBM subtype sets.

Read, never typed, from ``../shared/reference/bulk/`` (exact copies of files of the GlioVis
repository msquatrito/shiny_GlioVis at commit eae2ce78, see its README):

- ``SI_geneset.RData``: ESTIMATE's stromal and immune signatures (141 genes each);
- ``PurityDataAffy.RData``: ESTIMATE's 995 TCGA Affymetrix samples; its ``fit`` column is
  ``cos(a + b * ESTIMATEScore)``, whose constants are written here and checked against the
  reference in the tests;
- ``Proneural.mod``, ``Classical.mod``, ``Mesenchymal.mod``: the Wang 2017 subtype sets
  and their ssGSEA parameters (``msig.up.genes``, ``sample.norm.type``, ``weight``,
  ``statistic``). Symbols are kept as published (2015); scoring renames outdated ones
  through the coverage step, which records each rename.

Usage::

    python scripts/build_tumour_classifiers.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import hashlib
import re
import warnings
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "signatures" / "tumour_classifiers.yaml"
ESTIMATE_CITATION = (
    "Yoshihara K et al. Inferring tumour purity and stromal and immune cell admixture from "
    "expression data. Nat Commun 4:2612 (2013); DOI 10.1038/ncomms3612; PMID 24113773"
)
WANG_CITATION = (
    "Wang Q et al. Tumor evolution of glioma-intrinsic gene expression subtypes associates with "
    "immunological changes in the microenvironment. Cancer Cell 32:42-56 (2017); DOI "
    "10.1016/j.ccell.2017.06.003; PMID 28697342"
)
GLIOVIS = "msquatrito/shiny_GlioVis at commit eae2ce7852baf0536460fe1080b1ef395c853e59"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_mod(path: Path) -> dict:
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("\t")
        fields[key.strip()] = value.strip()
    genes = re.findall(r"'([^']+)'", fields["msig.up.genes"])
    return {
        "genes": genes,
        "sample_norm_type": fields["sample.norm.type"].strip("'"),
        "statistic": fields["statistic"].strip("'"),
        "weight": float(fields["weight"]),
    }


def fit_constants(purity_file: Path) -> tuple[float, float]:
    """ESTIMATE's published constants, checked on the reference's fit column (to 1e-6)."""
    import numpy as np
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = rdata.conversion.convert(rdata.parser.parse_file(purity_file))["PurityDataAffy"]
    a, b = 0.6049872018, 0.0001467884  # Yoshihara 2013 (estimate R package, estimateScore)
    fit = np.cos(a + b * ref["ESTIMATEScore"].to_numpy())
    assert np.abs(fit - ref["fit"].to_numpy()).max() < 1e-6
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", default=str(REPO.parent / "shared"))
    ref = Path(parser.parse_args().shared) / "reference" / "bulk"
    import rdata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = rdata.conversion.convert(rdata.parser.parse_file(ref / "SI_geneset.RData"))["SI_geneset"]
    sets = {}
    for name in si.index:
        genes = [str(g) for g in si.loc[name].tolist()[1:] if str(g) not in ("", "nan")]
        sets[str(name)] = genes
    a, b = fit_constants(ref / "PurityDataAffy.RData")
    doc = {
        "generated_by": "scripts/build_tumour_classifiers.py (do not edit by hand; edit the script)",
        "estimate": {
            "citation": ESTIMATE_CITATION,
            "read_from": "../shared/reference/bulk/SI_geneset.RData (sha256 "
            f"{sha256(ref / 'SI_geneset.RData')}; {GLIOVIS}, data/SI_geneset.RData)",
            "method": "ssGSEA enrichment score (rank-normalised expression, weight 0.25, area under the "
            "running sum), one score per signature; ESTIMATEScore = stromal + immune",
            "weight": 0.25,
            "purity": {
                "formula": "cos(a + b * ESTIMATEScore)",
                "a": a,
                "b": b,
                "platform": "Affymetrix",
                "checked_on": "../shared/reference/bulk/PurityDataAffy.RData (995 TCGA Affymetrix samples; "
                f"sha256 {sha256(ref / 'PurityDataAffy.RData')}): cos(a + b * ESTIMATEScore) equals its "
                "'fit' column to 1e-6",
                "caveat": "The purity formula was fitted on Affymetrix arrays scored over ESTIMATE's 10,412 "
                "common genes; on other platforms (RNA-seq, Illumina, Agilent) or other gene universes "
                "the scores are on another scale and the purity is not calibrated.",
            },
            "signatures": {"stromal": sets["StromalSignature"], "immune": sets["ImmuneSignature"]},
        },
        "wang2017": {
            "citation": WANG_CITATION,
            "read_from": f"../shared/reference/bulk/{{Proneural,Classical,Mesenchymal}}.mod ({GLIOVIS}, "
            "www/ssgsea_temp/data/)",
            "method": "ssGSEA score per subtype; empirical p-value per subtype from random gene sets of the "
            "same size (the expression profile's gene labels permuted, as runSsGSEAwithPermutation); the "
            "call is the subtype with the smallest p-value",
            "subtypes": {},
        },
    }
    for subtype in ("Proneural", "Classical", "Mesenchymal"):
        mod = read_mod(ref / f"{subtype}.mod")
        doc["wang2017"]["subtypes"][subtype] = {"sha256": sha256(ref / f"{subtype}.mod"), **mod}
    tmp = OUT.with_suffix(".yaml.part")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))
    tmp.replace(OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
