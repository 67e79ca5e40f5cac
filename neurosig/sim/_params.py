"""Simulation parameters, validated up front (impossible values raise at construction)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import InputDataError

#: Cell types the simulator draws (harmonised vocabulary terms).
CELL_TYPES = (
    "malignant",
    "neuron",
    "astrocyte",
    "oligodendrocyte",
    "OPC",
    "T_CD8",
    "T_CD4",
    "Treg",
    "NK",
    "macrophage",
    "microglia",
    "MDSC",
    "endothelial",
)
#: Baseline composition of a glioma sample (assumed; roughly the shares reported for
#: IDH-wildtype glioblastoma cohorts with partial CD45 depletion). Sums to 1.
DEFAULT_COMPOSITION = {
    "malignant": 0.55,
    "neuron": 0.03,
    "astrocyte": 0.04,
    "oligodendrocyte": 0.08,
    "OPC": 0.03,
    "T_CD8": 0.03,
    "T_CD4": 0.02,
    "Treg": 0.01,
    "NK": 0.01,
    "macrophage": 0.10,
    "microglia": 0.07,
    "MDSC": 0.02,
    "endothelial": 0.01,
}
MALIGNANT_STATES = ("MES", "AC", "OPC", "NPC")


@dataclass(frozen=True)
class LREffect:
    """A ligand-receptor pair raised between a sender and a receiver cell type.

    The ligand's expected expression in sender cells and the receptor's in receiver
    cells are multiplied by ``exp(log_fold)`` (after a floor, see ``planted.yaml``).
    """

    ligand: str
    receptor: str
    sender: str
    receiver: str
    log_fold: float = 1.0


@dataclass(frozen=True)
class RegionEffect:
    """A library signature's genes raised (or lowered) in one cell type in one region.

    The expected expression of the signature's genes (those in the simulator's gene
    universe) in ``cell_type`` cells sampled in ``region`` is multiplied by
    ``exp(log_fold)``; the same cell type in the other regions is untouched, so each
    patient carries a paired, within-patient difference (proxy P5 of CLAIMS.md).
    """

    region: str
    cell_type: str
    signature: str
    log_fold: float = 0.5


@dataclass(frozen=True)
class SimParams:
    """Everything that defines a simulated dataset; with ``seed``, the file is byte-identical.

    Parameters
    ----------
    n_patients, n_cells
        Patients, and cells in total (split as evenly as possible across patients).
    n_genes
        Genes kept (most expressed first; planted and marker genes always kept);
        ``None`` keeps all 21,341 genes of the fitted profiles.
    technology
        ``smartseq2`` (library sizes fitted on Darmanis 2015) or ``tenx`` (assumed UMI
        libraries, lower dispersion).
    composition
        Baseline fraction of each cell type (sums to 1).
    concentration
        Dirichlet precision of per-patient compositions (higher: patients more alike).
    state_composition
        Baseline fractions of malignant states MES/AC/OPC/NPC (sums to 1).
    patient_sd
        SD of per-patient, per-gene random effects on log expression.
    patient_neural_sd
        SD of the tumour-level neural score ``s_p`` (each malignant cell's latent neural
        input is ``z_i = s_p + e_i``, ``e_i ~ N(0, 1)``).
    neural_loading, mhc_effect, pdl1_effect
        Log-fold per unit ``z_i`` on the neural programme, MHC-I and PD-L1 genes of
        malignant cells (0: off).
    composition_effects
        Cell type -> change in log Dirichlet weight per unit ``s_p`` (e.g.
        ``{"T_CD8": -1.0, "Treg": 0.5, "MDSC": 0.5}``).
    lr_effects
        Ligand-receptor pairs to raise.
    regions
        Region labels (e.g. ``("HFC", "LFC")``): each patient's cells are split evenly at
        random between them (``obs["region"]``; ``obs["sample"]`` = patient_region), a
        paired within-patient design. Empty: no region column.
    region_effects
        Signature genes shifted in one cell type of one region (:class:`RegionEffect`).
    seed
        Seed of every random draw.
    chunk_size
        Cells simulated and written at a time (memory scales with it; the output does
        not depend on it only if kept equal, as chunks draw from their own streams).
    write_lognorm
        Write the harmonised ``.X`` (log1p CP10k) next to ``layers["counts"]``; when
        False, ``.X`` holds the counts and no layer is written (half the disk).
    """

    n_patients: int = 8
    n_cells: int = 2400
    n_genes: int | None = None
    technology: str = "smartseq2"
    composition: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COMPOSITION))
    concentration: float = 50.0
    state_composition: dict[str, float] = field(default_factory=lambda: {s: 0.25 for s in MALIGNANT_STATES})
    patient_sd: float = 0.3
    patient_neural_sd: float = 1.0
    neural_loading: float = 0.0
    mhc_effect: float = 0.0
    pdl1_effect: float = 0.0
    composition_effects: dict[str, float] = field(default_factory=dict)
    lr_effects: tuple[LREffect, ...] = ()
    regions: tuple[str, ...] = ()
    region_effects: tuple[RegionEffect, ...] = ()
    seed: int = 0
    chunk_size: int = 2000
    write_lognorm: bool = True

    def __post_init__(self) -> None:
        if self.n_patients < 1 or self.n_cells < 1:
            raise InputDataError(
                f"n_patients ({self.n_patients}) and n_cells ({self.n_cells}) must be positive."
            )
        if self.n_patients > self.n_cells:
            raise InputDataError(
                f"More patients ({self.n_patients}) than cells ({self.n_cells}): every patient "
                "needs at least one cell. Raise n_cells or lower n_patients."
            )
        if self.n_genes is not None and self.n_genes < 100:
            raise InputDataError(f"n_genes must be at least 100 (got {self.n_genes}).")
        if self.technology not in ("smartseq2", "tenx"):
            raise InputDataError(f"technology must be 'smartseq2' or 'tenx', not {self.technology!r}.")
        if self.chunk_size < 1:
            raise InputDataError(f"chunk_size must be positive (got {self.chunk_size}).")
        for name in ("concentration",):
            if not getattr(self, name) > 0:
                raise InputDataError(f"{name} must be positive (got {getattr(self, name)}).")
        for name in ("patient_sd", "patient_neural_sd"):
            if getattr(self, name) < 0:
                raise InputDataError(f"{name} cannot be negative (got {getattr(self, name)}).")
        _check_fractions("composition", self.composition, CELL_TYPES)
        _check_fractions("state_composition", self.state_composition, MALIGNANT_STATES)
        for t in self.composition_effects:
            if t not in CELL_TYPES:
                raise InputDataError(
                    f"composition_effects names unknown cell type {t!r}; known: {', '.join(CELL_TYPES)}."
                )
        for e in self.lr_effects:
            for t in (e.sender, e.receiver):
                if t not in CELL_TYPES:
                    raise InputDataError(
                        f"lr_effects names unknown cell type {t!r}; known: {', '.join(CELL_TYPES)}."
                    )

        if len(set(self.regions)) != len(self.regions) or len(self.regions) == 1:
            raise InputDataError(
                f"regions must be at least two distinct labels (got {list(self.regions)}); "
                "leave it empty for no regions."
            )
        for e in self.region_effects:
            if e.region not in self.regions:
                raise InputDataError(
                    f"region_effects names region {e.region!r}, not one of regions {list(self.regions)}."
                )
            if e.cell_type not in CELL_TYPES:
                raise InputDataError(
                    f"region_effects names unknown cell type {e.cell_type!r}; known: {', '.join(CELL_TYPES)}."
                )

    def to_dict(self) -> dict[str, Any]:
        """Plain-type record of the parameters (for ``.uns``)."""
        d = asdict(self)
        d["lr_effects"] = [asdict(e) for e in self.lr_effects]
        d["regions"] = ",".join(self.regions)
        d["region_effects"] = [asdict(e) for e in self.region_effects]
        d["n_genes"] = -1 if self.n_genes is None else self.n_genes
        return d


def _check_fractions(name: str, fractions: dict[str, float], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fractions) - set(allowed))
    if unknown:
        raise InputDataError(f"{name} names unknown cell types {unknown}; known: {', '.join(allowed)}.")
    if any(v < 0 for v in fractions.values()):
        raise InputDataError(f"{name} has negative fractions: {fractions}.")
    total = sum(fractions.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise InputDataError(f"{name} fractions sum to {total:.6g}, not 1; rescale them.")
