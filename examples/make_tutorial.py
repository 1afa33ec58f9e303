"""Write examples/tutorial-shaanxi-fleet.ipynb (the cells below) and, with --execute, run it
in place so that the committed notebook carries its pictures.

    python examples/make_tutorial.py --execute

tests/test_tutorial.py executes the same notebook in a temporary folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "tutorial-shaanxi-fleet.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "md",
        """# Tutorial: a 1.1 GWh storage fleet in Shaanxi

This notebook walks through what a planner does with essdispatch, on the example fleet that
ships with it (`scenarios/shaanxi-fleet-1100mwh-week.yaml`: 8 solar + storage plants in
Yulin and Yan'an behind their export limits and a shared northern tie, and 3 C&I sites in
Xi'an and Xianyang on the Shaanxi time-of-use tariff; one summer week, hourly):

1. run the scenario and its no-storage baseline;
2. read the results: headline, per site, the report page;
3. compare carbon prices;
4. sweep storage durations;
5. operate on forecasts (a rolling-horizon run) and price perfect foresight.

Each step also has a command (`essdispatch run`, `report`, `compare`, `sweep`); the notebook
uses the same library calls. It runs in about a minute.""",
    ),
    (
        "code",
        """%matplotlib inline
import os
from pathlib import Path

import pandas as pd

import essdispatch

REPO = Path(os.environ.get("ESSDISPATCH_REPO", "..")).resolve()
SCENARIOS = REPO / "scenarios"
OUT = Path(os.environ.get("ESSDISPATCH_TUTORIAL_OUT", "tutorial-results")).resolve()
pd.set_option("display.width", 120)
print("essdispatch", essdispatch.__version__, "| results in", OUT.name)""",
    ),
    (
        "md",
        """## 1. Run the scenario

`run_scenario` loads and validates the file, solves the run (with storage) and the
baseline (the same fleet without storage), and writes a results folder: `summary.json`,
`dispatch.parquet`, `baseline.parquet` and the scenario itself. On the command line:
`essdispatch run scenarios/shaanxi-fleet-1100mwh-week.yaml --csv --xlsx`.""",
    ),
    (
        "code",
        """from essdispatch.run import run_scenario

week = run_scenario(SCENARIOS / "shaanxi-fleet-1100mwh-week.yaml", out=OUT)
summary = week.summary
print(week.folder.relative_to(OUT))
print(f"savings {summary['savings']:,.0f} {summary['currency']} over the week")""",
    ),
    (
        "md",
        """## 2. Read the results

The headline: what the storage saves, how much curtailment it absorbs and what emissions it
displaces, on the **average** basis (the grid's annual average factor) and on the
**marginal** basis (a proxy for the plant that actually ramps). The savings split into the
energy bill and the carbon value (the carbon price times the change in emissions on the
basis that steers dispatch), minus the cost of wearing the batteries.

The result **rests on a synthetic price**: the plants sell at a synthetic spot shape (no
hourly Shaanxi clearing prices are public) and the marginal factor is a low-confidence
proxy. `summary.json` names them under `data_caveats`, and the console and the report say so.""",
    ),
    (
        "code",
        """from essdispatch.analysis.report import headline

h = headline(summary)
for key in ("savings", "energy_bill_savings", "carbon_value", "degradation_cost", "curtailment_absorbed_mwh"):
    print(f"{key:28s} {h[key]:>14,.1f}")
for basis, value in h["emissions_displaced_tco2"].items():
    print(f"emissions displaced, {basis:8s} {value:>14,.1f} tCO2")
print(f"savings per kWh of storage, scaled to a year: {h['savings_per_kwh_year']:,.1f} CNY")
for caveat in summary["data_caveats"]:
    print("caution:", caveat["text"])
assert abs(h["savings"] - (h["energy_bill_savings"] + h["carbon_value"] - summary["degradation_cost"])) < 1e-3""",
    ),
    (
        "md",
        """Per site: every additive figure adds up to the fleet's. The PV plants save by moving
midday solar that the export limits would curtail into the evening peak; the C&I sites save
by shifting imports out of the peak of the time-of-use tariff.""",
    ),
    (
        "code",
        """from essdispatch.analysis.export import per_site_frame

sites = per_site_frame(week.folder).set_index("name")
cols = ["curtailment_absorbed_mwh", "emissions_displaced_tco2[average]", "emissions_displaced_tco2[marginal]", "savings"]
short = dict(zip(cols, ["absorbed [MWh]", "CO2 avg [t]", "CO2 marginal [t]", "savings [CNY]"], strict=True))
print(sites[cols].rename(columns=short).round(1).to_string())
assert abs(sites["savings"].sum() - summary["savings"]) < 1e-3 * abs(summary["savings"])""",
    ),
    (
        "md",
        """The dispatch of the whole fleet: sources above zero, sinks below; the fleet's state of
charge with the range over its 11 units; one price line per distinct tariff (the PV plants
sell at the spot shape, the C&I sites buy on the TOU tariff); carbon intensity on the right.""",
    ),
    (
        "code",
        """from essdispatch.analysis.plots import dispatch_figure, emissions_figure

dispatch_figure(week.folder, dpi=70)""",
    ),
    (
        "md",
        """Cumulative emissions displaced. The curve can dip below zero: the storage first takes
energy (solar that would otherwise have been exported, or grid imports) and gives it back
later; what counts is the value at the end of the week.""",
    ),
    ("code", "emissions_figure(week.folder, dpi=70)"),
    (
        "md",
        """The report page (`essdispatch report FOLDER`) puts all of this on one self-contained page
to send: the headline, the caveats, per-site and per-unit tables, binding limits with their
shadow prices, and an interactive chart of the whole horizon. Open `report.html` in a browser.""",
    ),
    (
        "code",
        """from essdispatch.analysis.report import write_report

page = write_report(week.folder)
print(page.relative_to(OUT), f"{page.stat().st_size / 1e6:.1f} MB")""",
    ),
    (
        "md",
        """## 3. Compare carbon prices

Two copies of the scenario differ only in `objective.carbon_price` (0 and 300 CNY/tCO2; the
base is 80). `compare_table` puts every figure side by side with differences against the
first run; `essdispatch compare A B C` prints the same table, 100 columns wide (runs lettered;
`--wide` for one wide table).""",
    ),
    (
        "code",
        """from essdispatch.analysis.compare import compare_table, format_table
from essdispatch.analysis.plots import compare_figure

runs = [week.folder]
for price in (0, 300):
    runs.append(run_scenario(SCENARIOS / f"shaanxi-fleet-1100mwh-week-carbon{price}.yaml", out=OUT).folder)
table = compare_table(runs)
text = format_table(table)
print(text)
assert max(len(line) for line in text.splitlines()) <= 100""",
    ),
    ("code", "compare_figure(table, dpi=70)"),
    (
        "md",
        """The carbon price moves money (the carbon cost) much more than dispatch: China publishes
annual (flat) factors only, so a carbon price changes the value of net exports at a flat rate
and moves dispatch only where λ·ci rivals the price spread.

## 4. Sweep storage durations

A sweep file runs many cases of one scenario; here three durations at the same power
(energy × 0.5, 1, 2: 1, 2 and 4 hours). `essdispatch sweep FILE` runs it on Dask;
`inline=True` runs the cases one by one in this process.""",
    ),
    (
        "code",
        """from essdispatch.sweeps.sweep import load_sweep, run_sweep
from essdispatch.sweeps.sweep_plots import (
    add_durations,
    format_sweep_table,
    plot_sweep,
    sweep_table,
)

sweep_file = OUT / "durations.yaml"
sweep_file.write_text(f'''name: fleet-durations
description: storage duration 1, 2 and 4 hours at the same power
base: {SCENARIOS / "shaanxi-fleet-1100mwh-week.yaml"}
grid:
  sites[*].storage[*].energy_mwh: {{scale: [0.5, 1, 2]}}
''', encoding="utf-8")
report = run_sweep(load_sweep(sweep_file), OUT, inline=True, progress=False)
cases = add_durations(report.folder, sweep_table(report.folder))
print(format_sweep_table(cases))
assert sorted(cases["storage duration [h]"].round(6)) == [1.0, 2.0, 4.0]""",
    ),
    ("code", "plot_sweep(report.folder, dpi=70)"),
    (
        "md",
        """## 5. Operate on forecasts: a rolling-horizon run

A perfect-foresight run is the best the fleet could ever do. An operator schedules day by
day on forecasts and is paid on what actually happens. The `operation:` key of
`shaanxi-fleet-1100mwh-week-rolling.yaml` commits 24 h at a time with 24 h of lookahead, on
solar and price forecasts with AR(1) errors. The **value of foresight** is what perfect
information would have been worth: the rolling run's total cost minus the perfect-foresight
run's, on the same actuals.""",
    ),
    (
        "code",
        """rolling = run_scenario(SCENARIOS / "shaanxi-fleet-1100mwh-week-rolling.yaml", out=OUT).summary
print("operation:", rolling["operation"])
print(f"value of foresight {rolling['value_of_foresight']:,.0f} CNY")
print(f"savings: rolling {rolling['savings']:,.0f} vs perfect foresight {summary['savings']:,.0f} CNY")
assert rolling["value_of_foresight"] >= -1e-6 * abs(rolling["total_cost"])
assert abs(rolling["savings"] - (summary["savings"] - rolling["value_of_foresight"])) < 1e-3 * abs(summary["savings"])""",
    ),
    (
        "md",
        """## Where next

- `essdispatch run SCENARIO --csv --xlsx` also writes `dispatch.csv`, `baseline.csv` and one
  workbook (summary, per site, per unit, dispatch, baseline and a units sheet).
- `essdispatch presets NAME` shows where every built-in number comes from
  (docs/DATA_SOURCES.md has the full list).
- The same fleet over a whole year: `scenarios/shaanxi-fleet-1100mwh-year.yaml`.""",
    ),
]


def build() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        new_markdown_cell(src) if kind == "md" else new_code_cell(src) for kind, src in CELLS
    ]
    return nb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--execute", action="store_true", help="run it and keep its outputs")
    args = parser.parse_args()
    nb = build()
    if args.execute:
        from nbclient import NotebookClient

        NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK}")


if __name__ == "__main__":
    main()
