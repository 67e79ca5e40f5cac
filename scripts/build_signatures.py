"""Build neurosig's signature library (``signatures/<theme>.yaml``) from published gene sets.

Every list is read from ``../shared/reference/genesets/sets/<name>.txt`` (one symbol a
line, with ``# source:``, ``# note:`` and ``# id_status:`` lines) or from the Neftel 2019
meta-module table; nothing is typed from memory. Sets that have no published list are
built from gene families that the review and ``CLAIMS.md`` name, and say so in their
provenance. Outdated symbols are brought to current ones with neurosig's alias table and
every rename is recorded with the set.

Usage::

    python scripts/build_signatures.py [--shared ../shared]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "signatures"
TODAY = dt.date.today().isoformat()

# theme -> list of (neurosig id, display name, category, published set name or recipe)
PUBLISHED = {
    "neural_interaction": [
        (
            "AMPAR_complex_GO0032281",
            "AMPA glutamate receptor complex with auxiliary subunits (GO:0032281)",
            "neural_interaction",
            "GOCC_AMPA_GLUTAMATE_RECEPTOR_COMPLEX",
        ),
        (
            "glutamatergic_synapse_GO",
            "Glutamatergic synapse (GO:0098978)",
            "neural_interaction",
            "GOCC_GLUTAMATERGIC_SYNAPSE",
        ),
        (
            "neuroligin_binding_GO",
            "Neuroligin family protein binding (GO)",
            "neural_interaction",
            "GOMF_NEUROLIGIN_FAMILY_PROTEIN_BINDING",
        ),
        (
            "synapse_assembly_GO",
            "Synapse assembly (GO:0007416)",
            "neural_interaction",
            "GOBP_SYNAPSE_ASSEMBLY",
        ),
    ],
    "antigen_presentation": [
        (
            "APM18_Wang2019",
            "Antigen processing machinery, 18 genes (Wang 2019)",
            "antigen_presentation",
            "APM_Wang2019",
        ),
        (
            "APM_classI_Senbabaoglu2016",
            "MHC class I antigen presentation (Senbabaoglu 2016)",
            "antigen_presentation",
            "APM_classI_Senbabaoglu2016",
        ),
        (
            "MHC_classII_Senbabaoglu2016",
            "MHC class II antigen presentation (Senbabaoglu 2016)",
            "antigen_presentation",
            "APM_classII_Senbabaoglu2016",
        ),
        (
            "MHC_classI_loading_Reactome",
            "Reactome: class I MHC folding, assembly and peptide loading",
            "antigen_presentation",
            "REACTOME_ANTIGEN_PRESENTATION_FOLDING_ASSEMBLY_AND_PEPTIDE_LOADING_OF_CLASS_I_MHC",
        ),
        ("IFNG6_Ayers2017", "IFN-gamma 6-gene signature (Ayers 2017)", "ifn_gamma", "IFNG6_Ayers2017"),
        (
            "GEP18_Ayers2017",
            "T-cell inflamed GEP, 18 genes (Ayers 2017)",
            "ifn_gamma",
            "GEP18_TcellInflamed_Ayers2017",
        ),
        (
            "HALLMARK_IFNG_RESPONSE",
            "MSigDB Hallmark interferon-gamma response (v7.5.1)",
            "ifn_gamma",
            "MSigDB_HALLMARK_INTERFERON_GAMMA_RESPONSE_v7.5.1",
        ),
    ],
    # HFC vs LFC regions (Nejo et al. 2023, bioRxiv 10.1101/2023.08.04.548295: fgsea of MSigDB
    # Hallmark sets on HFC-vs-LFC MAST statistics, t-nejo/Glioma-neuron-immune-crosstalk
    # 1_03_scRNAseq_fgsea.R); the IFN-gamma set is HALLMARK_IFNG_RESPONSE above
    "inflammation": [
        (
            "HALLMARK_INFLAMMATORY_RESPONSE",
            "MSigDB Hallmark inflammatory response (v7.0)",
            "inflammation",
            "MSigDB_HALLMARK_INFLAMMATORY_RESPONSE_v7.0",
        ),
        (
            "HALLMARK_TNFA_SIGNALING_VIA_NFKB",
            "MSigDB Hallmark TNF-alpha signalling via NF-kB (v7.0)",
            "inflammation",
            "MSigDB_HALLMARK_TNFA_SIGNALING_VIA_NFKB_v7.0",
        ),
    ],
    "immune_suppression": [
        (
            "Tcell_exclusion_up_JerbyArnon2018",
            "T-cell exclusion programme, up (Jerby-Arnon 2018)",
            "immune_exclusion",
            "TcellExclusion_up_JerbyArnon2018",
        ),
        (
            "Immune_resistance_up_JerbyArnon2018",
            "Immune resistance programme, up (Jerby-Arnon 2018)",
            "immune_exclusion",
            "ImmuneResistance_up_JerbyArnon2018",
        ),
        (
            "TGFB_Hallmark",
            "MSigDB Hallmark TGF-beta signalling (v7.0)",
            "tgf_beta",
            "MSigDB_HALLMARK_TGF_BETA_SIGNALING_v7.0",
        ),
        (
            "panFTBRS_Mariathasan2018",
            "Pan-fibroblast TGF-beta response (Mariathasan 2018)",
            "tgf_beta",
            "panFTBRS_Mariathasan2018_currentSymbols",
        ),
        (
            "adenosine_Sidders2020",
            "Adenosine signalling (Sidders 2020)",
            "adenosine",
            "ADO_adenosine_Sidders2020",
        ),
        (
            "immune_checkpoint_Mariathasan2018",
            "Immune checkpoint genes (Mariathasan 2018)",
            "immune_exclusion",
            "ImmuneCheckpoint_Mariathasan2018",
        ),
    ],
    "t_cells": [
        (
            "CYT_Rooney2015",
            "Cytolytic activity GZMA/PRF1 (Rooney 2015)",
            "t_cell_cytotoxicity",
            "CYT_Rooney2015",
        ),
        (
            "CD8_cytotoxic_JerbyArnon2018",
            "CD8 cytotoxic (Jerby-Arnon 2018)",
            "t_cell_cytotoxicity",
            "JerbyArnon2018_CD8_cytotoxic",
        ),
        (
            "CD8_Teff_Mariathasan2018",
            "CD8 T effector (Mariathasan 2018)",
            "t_cell_cytotoxicity",
            "CD8_Teff_Mariathasan2018",
        ),
        (
            "CD8_exhausted_JerbyArnon2018",
            "CD8 exhausted (Jerby-Arnon 2018)",
            "t_cell_exhaustion",
            "JerbyArnon2018_CD8_exhausted",
        ),
        (
            "Tex_terminal_Zheng2021",
            "CD8 terminal exhausted (Zheng 2021)",
            "t_cell_exhaustion",
            "Zheng2021_Tcell_CD8p_terminal_Tex",
        ),
        ("Treg_JerbyArnon2018", "Regulatory T cells (Jerby-Arnon 2018)", "treg", "JerbyArnon2018_Treg_CD4"),
        ("Treg_Chu2023", "CD4 Treg (Chu 2023)", "treg", "Chu2023_CD4_c1_Treg"),
        (
            "CD8_naive_JerbyArnon2018",
            "CD8 naive (Jerby-Arnon 2018)",
            "t_cell_naive_memory",
            "JerbyArnon2018_CD8_naive",
        ),
        (
            "CD4_naive_JerbyArnon2018",
            "CD4 naive (Jerby-Arnon 2018)",
            "t_cell_naive_memory",
            "JerbyArnon2018_CD4_naive",
        ),
        ("CD8_Tcm_Chu2023", "CD8 central memory (Chu 2023)", "t_cell_naive_memory", "Chu2023_CD8_c6_Tcm"),
    ],
    "myeloid": [
        ("MDSC_Wang2016", "MDSC (Wang 2016)", "mdsc", "MDSC_Wang2016"),
        ("MDSC_TIDE", "MDSC, TIDE top 50 (Jiang 2018)", "mdsc", "TIDE_MDSC_top50_IOBR"),
        ("TAM_M2_TIDE", "M2 TAM, TIDE top 50 (Jiang 2018)", "tam_state", "TIDE_TAM_M2_top50_IOBR"),
        ("TAM_Reg_Ma2022", "Regulatory TAMs (Ma 2022)", "tam_state", "TAM_Ma2022_Reg_TAMs"),
        ("TAM_Inflam_Ma2022", "Inflammatory TAMs (Ma 2022)", "tam_state", "TAM_Ma2022_Inflam_TAMs"),
        ("TAM_Angio_Ma2022", "Pro-angiogenic TAMs (Ma 2022)", "tam_state", "TAM_Ma2022_Angio_TAMs"),
        ("TAM_IFN_Ma2022", "Interferon-primed TAMs (Ma 2022)", "tam_state", "TAM_Ma2022_IFN_TAMs"),
        (
            "MgTAM_Muller2017",
            "Microglia-derived TAMs (Muller 2017)",
            "microglia_vs_monocyte",
            "MgTAM_Muller2017_Nejo",
        ),
        (
            "MoTAM_Muller2017",
            "Monocyte-derived TAMs (Muller 2017)",
            "microglia_vs_monocyte",
            "MoTAM_Muller2017_Nejo",
        ),
    ],
    "glioma_states": [
        (
            "cellcycle_S_Tirosh2016",
            "Cell cycle S phase (Tirosh 2016)",
            "glioma_state",
            "cellcycle_tirosh2016_S",
        ),
        (
            "cellcycle_G2M_Tirosh2016",
            "Cell cycle G2/M phase (Tirosh 2016)",
            "glioma_state",
            "cellcycle_tirosh2016_G2M",
        ),
    ],
    "cell_markers": [
        (f"marker_{t}", f"{t.replace('_', ' ')} markers (ScType brain)", "cell_marker", f"ScType_Brain_{t}")
        for t in (
            "Astrocytes",
            "Glutamatergic_neurons",
            "GABAergic_neurons",
            "Mature_neurons",
            "Microglial_cells",
            "Oligodendrocytes",
            "Oligodendrocyte_precursor_cells",
            "Endothelial_cells",
        )
    ]
    + [
        (
            f"marker_{t}_PanglaoDB",
            f"{t.replace('_', ' ')} markers (PanglaoDB canonical)",
            "cell_marker",
            f"PanglaoDB_canonical_{t}",
        )
        for t in (
            "T_cells",
            "Treg",
            "NK_cells",
            "B_cells",
            "Plasma_cells",
            "Macrophages",
            "Monocytes",
            "Dendritic_cells",
            "Pericytes",
        )
    ]
    + [
        ("marker_T_CD8_Rooney2015", "CD8 T cell markers (Rooney 2015)", "cell_marker", "CD8_Rooney2015"),
        (
            "marker_T_CD4_JerbyArnon2018",
            "CD4 T cell markers (Jerby-Arnon 2018)",
            "cell_marker",
            "JerbyArnon2018_CD4_T",
        ),
    ],
}

FAMILY_NOTE = (
    "No published list: built from the gene family named in the review and in "
    "../shared/reference/CLAIMS.md (proxy P1 / claim A); members are the HGNC family "
    "symbols named there."
)
# Sets built from named families (the genes are the ones CLAIMS.md / the issue name explicitly).
FAMILIES = {
    "neural_interaction": [
        (
            "AMPAR_subunits",
            "AMPA receptor subunits GRIA1-4",
            "neural_interaction",
            {"GRIA1": 1, "GRIA2": 1, "GRIA3": 1, "GRIA4": 1},
        ),
        (
            "CP_AMPAR_index",
            "Calcium-permeable AMPAR index (GRIA1/3/4 up, GRIA2 down)",
            "neural_interaction",
            {"GRIA1": 1, "GRIA3": 1, "GRIA4": 1, "GRIA2": -1},
        ),
        (
            "NLGN3_axis",
            "NLGN3 axis (NLGN3 and its neurexin partners)",
            "neural_interaction",
            {"NLGN3": 1, "NRXN1": 1, "NRXN2": 1, "NRXN3": 1},
        ),
        ("BDNF_TrkB", "BDNF-TrkB (NTRK2) signalling", "neural_interaction", {"BDNF": 1, "NTRK2": 1}),
        (
            "neural_interaction_composite",
            "Neural-interaction composite (CLAIMS.md proxy P1)",
            "neural_interaction",
            {"GRIA1": 1, "GRIA2": 1, "GRIA3": 1, "GRIA4": 1, "NLGN3": 1, "NTRK2": 1, "THBS1": 1},
        ),
    ],
    "antigen_presentation": [
        (
            "MHC_I_machinery",
            "MHC-I machinery (HLA-A/B/C, B2M, TAP1, TAP2, TAPBP)",
            "antigen_presentation",
            {g: 1 for g in ("HLA-A", "HLA-B", "HLA-C", "B2M", "TAP1", "TAP2", "TAPBP")},
        ),
        ("PD_L1_axis", "PD-L1 axis (CD274, PDCD1LG2)", "pd_l1", {"CD274": 1, "PDCD1LG2": 1}),
    ],
    "immune_suppression": [
        (
            "adenosine_axis",
            "Adenosine axis CD73/CD39 -> A2AR (NT5E, ENTPD1, ADORA2A)",
            "adenosine",
            {"NT5E": 1, "ENTPD1": 1, "ADORA2A": 1},
        ),
    ],
}
NEFTEL = [
    ("MES1", "MESlike1"),
    ("MES2", "MESlike2"),
    ("AC", "AClike"),
    ("OPC", "OPClike"),
    ("NPC1", "NPClike1"),
    ("NPC2", "NPClike2"),
    ("G1S", "G1/S"),
    ("G2M", "G2/M"),
]


#: Paths on a curator's machine (/tmp/..., /home/...), dropped from notes.
LOCAL_PATH = re.compile(r"(^|\s)/(tmp|home|root|work)/\S+")


def read_set(path: Path) -> dict:
    genes, source, notes, status = [], "", [], ""
    for line in path.read_text().splitlines():
        if line.startswith("# source:"):
            source = line[9:].strip()
        elif line.startswith("# note:"):
            # a sentence naming a scratch path of whoever curated the set is not provenance
            kept = [x for x in re.split(r"(?<=\.)\s+", line[7:].strip()) if not LOCAL_PATH.search(x)]
            notes.append(" ".join(kept))
        elif line.startswith("# id_status:"):
            status = line[12:].strip()
        elif line.strip() and not line.startswith("#"):
            genes.append(line.strip())
    return {"genes": genes, "source": source, "notes": " ".join(notes), "id_status": status}


def renamed(genes: list[str]) -> tuple[list[str], dict[str, str]]:
    from neurosig.datasets.genes import current_symbol

    out, changes = [], {}
    for g in genes:
        c = current_symbol(g)
        if c != g:
            changes[g] = c
        if c not in out:
            out.append(c)
    return out, changes


def entry(sid, name, category, weights: dict[str, float], citation, read_from, notes, renames) -> dict:
    signed = any(w < 0 for w in weights.values())
    e = {"id": sid, "name": name, "category": category}
    if signed:
        e["weights"] = {g: float(w) for g, w in weights.items()}
    else:
        e["genes"] = list(weights)
    e.update({"citation": citation, "read_from": read_from, "date": TODAY})
    if notes:
        e["notes"] = notes
    if renames:
        e["renamed_symbols"] = renames
    return e


def write_yaml(path: Path, doc: dict) -> None:
    tmp = path.with_suffix(".yaml.part")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()
    sets_dir = args.shared / "reference" / "genesets" / "sets"
    themes: dict[str, list] = {t: [] for t in PUBLISHED}
    for theme, rows in PUBLISHED.items():
        for sid, name, category, set_name in rows:
            raw = read_set(sets_dir / f"{set_name}.txt")
            genes, changes = renamed(raw["genes"])
            notes = " ".join(
                x for x in (raw["notes"], f"id_status: {raw['id_status']}" if raw["id_status"] else "") if x
            )
            themes[theme].append(
                entry(
                    sid,
                    name,
                    category,
                    dict.fromkeys(genes, 1),
                    raw["source"],
                    f"../shared/reference/genesets/sets/{set_name}.txt",
                    notes,
                    changes,
                )
            )
    for theme, rows in FAMILIES.items():
        for sid, name, category, weights in rows:
            themes[theme].append(
                entry(
                    sid,
                    name,
                    category,
                    weights,
                    "Built from named gene families (see notes)",
                    "../shared/reference/CLAIMS.md",
                    FAMILY_NOTE,
                    {},
                )
            )
    modules = pd.read_csv(args.shared / "data" / "neftel2019_gbm" / "IDHwt.GBM.MetaModules.tsv", sep="\t")
    for short, col in NEFTEL:
        genes, changes = renamed(modules[col].dropna().tolist())
        themes["glioma_states"].append(
            entry(
                f"Neftel2019_{short}",
                f"Neftel 2019 meta-module {col}",
                "glioma_state",
                dict.fromkeys(genes, 1),
                "Neftel C et al. 2019 Cell 178:835-849 (DOI 10.1016/j.cell.2019.06.024; PMID 31327527)",
                f"../shared/data/neftel2019_gbm/IDHwt.GBM.MetaModules.tsv column {col} (sha256 42a48db1...)",
                "2019 symbols; renamed ones listed in renamed_symbols.",
                changes,
            )
        )
    for theme, sets in themes.items():
        write_yaml(
            OUT / f"{theme}.yaml",
            {
                "theme": theme,
                "generated_by": "scripts/build_signatures.py (do not edit by hand; edit the script)",
                "signatures": sets,
            },
        )
        print(theme, len(sets))


if __name__ == "__main__":
    main()
