"""The numeric inputs of one dispatch problem: the hand-over from scenario to model.

:func:`essdispatch.scenario.load.prepare_inputs` turns a validated scenario into an
:class:`Inputs`; the model builders (:mod:`essdispatch.model.pyomo_view` for Pyomo,
:mod:`essdispatch.model.lp` for the vectorised matrix) read only this object. Symbols
refer to docs/MODEL.md. Arrays are float64 numpy arrays; ``S`` sites, ``B``
storage units (a unit with ``count: k`` is already scaled to k× power, energy
and aux), ``T`` periods, ``G`` groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from essdispatch.model.ageing import Ageing
    from essdispatch.model.econ import Economics

TERMINAL_MODES = ("at_least_initial", "cyclic", "free")


@dataclass(frozen=True, eq=False)
class Inputs:
    """All parameters of the dispatch LP, as arrays.

    Attributes (units in brackets)
    ------------------------------
    name : scenario name
    index : period starts, tz-aware ``DatetimeIndex`` of length T
    dt_h : period length Δt [h]
    currency : currency code of all money figures
    carbon_price : λ [currency/tCO2]
    steer_by : name of the carbon series in the objective (``average``/``marginal``)
    exclusive : ``exclusive_charge_discharge`` (MILP)
    voll : value of lost load [currency/MWh]
    site_names : S names
    pv, load : (S, T) available solar, site load [MW]
    buy_price, sell_price : (S, T) pb, ps [currency/MWh]
    carbon : series name -> (S, T) grid carbon intensity [tCO2/MWh]
    export_limit, import_limit : (S,) X[s], M[s] [MW]; ``inf`` when unlimited
    unit_names : B names; unit_site : (B,) index into ``site_names``
    count : (B,) number of identical units the row stands for (already scaled)
    power, charge_power : (B,) P, Pc [MW] (× count)
    energy : (B,) E [MWh] (× count)
    eta_charge, eta_discharge : (B,) ηc, ηd [-]
    self_discharge : (B,) σ [fraction of stored energy per hour]
    soc_min, soc_max, soc_initial : (B,) fractions of E
    availability : (B, T) 0..1 scaling P and Pc
    degradation_cost : (B,) cdeg [currency/MWh discharged]
    grid_charging : (B,) bool gc
    aux : (B,) auxiliary consumption [MW] (aux_mw × count)
    terminal : B strings from ``TERMINAL_MODES``
    group_names : G names; group_sites : G int arrays of site indices
    group_export_limit, group_import_limit : (G,) X[g], M[g] [MW]; ``inf`` when unlimited
    econ : the parameters of MODEL.md constraints 9–12 (:class:`essdispatch.model.econ.Economics`),
        ``None`` when the scenario uses none of them; a sized unit's ``power``,
        ``charge_power`` and ``energy`` hold its maximum ratings
    carbon_free_share : (S, T) carbon-free share of grid imports [fraction], or ``None`` when
        no site gives ``signals.carbon.carbon_free_share`` (reporting only: 24/7 matching)
    ageing : the parameters of MODEL.md 13–14 (depth-aware ageing cost, cycle limits) and
        of the life assessment (:class:`essdispatch.model.ageing.Ageing`), ``None`` when no unit
        has an ``ageing:`` block
    """

    name: str
    index: pd.DatetimeIndex
    dt_h: float
    currency: str
    carbon_price: float
    steer_by: str
    exclusive: bool
    voll: float
    site_names: tuple[str, ...]
    pv: np.ndarray
    load: np.ndarray
    buy_price: np.ndarray
    sell_price: np.ndarray
    carbon: dict[str, np.ndarray]
    export_limit: np.ndarray
    import_limit: np.ndarray
    unit_names: tuple[str, ...] = ()
    unit_site: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    power: np.ndarray = field(default_factory=lambda: np.zeros(0))
    charge_power: np.ndarray = field(default_factory=lambda: np.zeros(0))
    energy: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eta_charge: np.ndarray = field(default_factory=lambda: np.zeros(0))
    eta_discharge: np.ndarray = field(default_factory=lambda: np.zeros(0))
    self_discharge: np.ndarray = field(default_factory=lambda: np.zeros(0))
    soc_min: np.ndarray = field(default_factory=lambda: np.zeros(0))
    soc_max: np.ndarray = field(default_factory=lambda: np.zeros(0))
    soc_initial: np.ndarray = field(default_factory=lambda: np.zeros(0))
    availability: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    degradation_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    grid_charging: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    aux: np.ndarray = field(default_factory=lambda: np.zeros(0))
    terminal: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()
    group_sites: tuple[np.ndarray, ...] = ()
    group_export_limit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    group_import_limit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    econ: Economics | None = None
    carbon_free_share: np.ndarray | None = None
    ageing: Ageing | None = None

    # ------------------------------------------------------------------ sizes
    @property
    def n_sites(self) -> int:
        return len(self.site_names)

    @property
    def n_units(self) -> int:
        return len(self.unit_names)

    @property
    def n_periods(self) -> int:
        return len(self.index)

    @property
    def n_groups(self) -> int:
        return len(self.group_names)

    @property
    def n_months(self) -> int:
        """Calendar months touched by the horizon (0 without economics keys)."""
        return self.econ.n_months if self.econ is not None else 0

    @property
    def n_days(self) -> int:
        """Local calendar days touched by the horizon (0 without ``ageing:`` keys)."""
        return self.ageing.n_days(self.index) if self.ageing is not None else 0

    @property
    def n_segments(self) -> int:
        """SOC segments of the depth-aware units (MODEL.md 13; 0 without)."""
        return self.ageing.n_segments if self.ageing is not None else 0

    @property
    def segment_names(self) -> tuple[str, ...]:
        """``unit#j`` for each SOC segment (j = 1 is the shallowest)."""
        if self.ageing is None:
            return ()
        return tuple(
            f"{self.unit_names[b]}#{j + 1}"
            for b, j in zip(self.ageing.segment_unit, self.ageing.segment_pos, strict=True)
        )

    # ------------------------------------------------------------- derived
    @property
    def steer_carbon(self) -> np.ndarray:
        """(S, T) the carbon series that enters the objective, ``ci``."""
        return self.carbon[self.steer_by]

    @property
    def site_aux(self) -> np.ndarray:
        """(S,) ``aux[s] = Σ_{b∈B_s} aux_mw[b]·count[b]`` [MW]."""
        out = np.zeros(self.n_sites)
        np.add.at(out, self.unit_site, self.aux)
        return out

    def without_storage(self) -> Inputs:
        """The baseline: every storage unit removed, and its aux with it."""
        T = self.n_periods
        return replace(
            self,
            unit_names=(),
            unit_site=np.zeros(0, dtype=np.int64),
            count=np.zeros(0, dtype=np.int64),
            power=np.zeros(0),
            charge_power=np.zeros(0),
            energy=np.zeros(0),
            eta_charge=np.zeros(0),
            eta_discharge=np.zeros(0),
            self_discharge=np.zeros(0),
            soc_min=np.zeros(0),
            soc_max=np.zeros(0),
            soc_initial=np.zeros(0),
            availability=np.zeros((0, T)),
            degradation_cost=np.zeros(0),
            grid_charging=np.zeros(0, dtype=bool),
            aux=np.zeros(0),
            terminal=(),
            exclusive=False,
            econ=self.econ.without_units() if self.econ is not None else None,
            ageing=None,
        )

    def subset_periods(self, periods: slice) -> Inputs:
        """The sub-problem of a contiguous range of periods (exact only without storage,
        whose energy links periods: used to split storage-free problems in time)."""
        return replace(
            self,
            index=self.index[periods],
            pv=self.pv[:, periods],
            load=self.load[:, periods],
            buy_price=self.buy_price[:, periods],
            sell_price=self.sell_price[:, periods],
            carbon={k: v[:, periods] for k, v in self.carbon.items()},
            availability=self.availability[:, periods],
            carbon_free_share=None
            if self.carbon_free_share is None
            else self.carbon_free_share[:, periods],
        )

    def subset_sites(self, sites: np.ndarray) -> Inputs:
        """The sub-problem of the given site indices (their units, no groups)."""
        sites = np.asarray(sites, dtype=np.int64)
        remap = -np.ones(self.n_sites, dtype=np.int64)
        remap[sites] = np.arange(len(sites))
        keep = np.isin(self.unit_site, sites)
        pick = np.flatnonzero(keep)
        return replace(
            self,
            site_names=tuple(self.site_names[i] for i in sites),
            pv=self.pv[sites],
            load=self.load[sites],
            buy_price=self.buy_price[sites],
            sell_price=self.sell_price[sites],
            carbon={k: v[sites] for k, v in self.carbon.items()},
            carbon_free_share=None
            if self.carbon_free_share is None
            else self.carbon_free_share[sites],
            export_limit=self.export_limit[sites],
            import_limit=self.import_limit[sites],
            unit_names=tuple(self.unit_names[i] for i in pick),
            unit_site=remap[self.unit_site[pick]],
            count=self.count[pick],
            power=self.power[pick],
            charge_power=self.charge_power[pick],
            energy=self.energy[pick],
            eta_charge=self.eta_charge[pick],
            eta_discharge=self.eta_discharge[pick],
            self_discharge=self.self_discharge[pick],
            soc_min=self.soc_min[pick],
            soc_max=self.soc_max[pick],
            soc_initial=self.soc_initial[pick],
            availability=self.availability[pick],
            degradation_cost=self.degradation_cost[pick],
            grid_charging=self.grid_charging[pick],
            aux=self.aux[pick],
            terminal=tuple(self.terminal[i] for i in pick),
            group_names=(),
            group_sites=(),
            group_export_limit=np.zeros(0),
            group_import_limit=np.zeros(0),
            econ=self.econ.take(sites, pick) if self.econ is not None else None,
            ageing=self.ageing.take(pick) if self.ageing is not None else None,
        )


def default_voll(buy_price: np.ndarray) -> float:
    """MODEL.md default: ``max(10 000, 10 × the highest buy price)`` [currency/MWh]."""
    top = float(np.max(buy_price)) if np.size(buy_price) else 0.0
    return max(10_000.0, 10.0 * top)
