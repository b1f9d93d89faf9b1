"""Monitoring: the vital signs and laboratory Observations that a person's conditions call for.

Each person has steady underlying levels (blood pressure, BMI, HbA1c, eGFR, ACR, cholesterol) drawn
once; each reading is that level plus measurement noise, at recall intervals from the data file.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from careweave.synth.build.codes import LABORATORY, UCUM, VITAL_SIGNS, VITALS
from careweave.synth.build.context import PersonContext


@dataclass(frozen=True, slots=True)
class Levels:
    sbp: float
    dbp: float
    bmi: float
    height: float
    hba1c: float
    egfr: float
    log_acr: float
    chol: float


def monitoring_kinds(p: PersonContext) -> set[str]:
    """The recalls due: for the person's conditions, and for the medicines that need monitoring."""
    run, has = p.run, p.has
    kinds: set[str] = set()
    for key in has:
        idx = run.keys[key]
        if idx < run.n_conditions:
            kinds.update(run.conditions[idx].monitoring)
    for kind, entry in run.mon.items():
        if not isinstance(entry, dict):
            continue
        if any(c in has for c in entry.get("conditions") or ()):
            kinds.add(kind)
        names = entry.get("for_medicines") or ()
        if names and any(n in m for m in p.medicines for n in names):
            kinds.add(kind)
    if p.low_egfr:
        kinds.add("egfr")
    return kinds


def add_monitoring(p: PersonContext) -> None:
    """Write the readings due for the person's conditions and medicines, or a one-off NHS Health Check.

    Not every recall is kept: some are missed, and for some people the recalls lapsed for the last
    6-18 months (`monitoring.completion`), so the record has people overdue as well as up to date.
    """
    run, rnd, has, age = p.run, p.rnd, p.has, p.age
    kinds = monitoring_kinds(p)
    once: set[str] = set()
    if age >= 18 and not kinds and rnd.random() < 0.35:
        once = {"bp", "bmi"} | ({"cholesterol"} if 40 <= age < 75 else set())  # NHS Health Check
    if not kinds and not once:
        return
    mon = run.mon
    completion = mon["completion"]
    missed = float(completion["missed_percent"]) / 100
    lapsed = rnd.random() * 100 < float(completion["lapsed_percent"])
    latest = p.end + (rnd.randint(183, 548) if lapsed else 0)
    levels = draw_levels(mon, rnd, has, age, p.female, p.on_statin, p.low_egfr)
    start, end, when = p.start, p.end, run.when
    for kind in sorted(kinds | once):
        interval = int(mon[kind]["interval_months"] * 30.4)
        jitter = min(30, interval // 3)
        if kind in once:
            days = [rnd.randint(end, start)]
        else:
            days = []
            d = start - rnd.randint(0, interval)
            while d >= end:
                if d >= latest and rnd.random() >= missed:
                    days.append(d)
                d -= interval + rnd.randint(-jitter, jitter)
        for d in days:
            obs: dict[str, Any] = {
                "resourceType": "Observation",
                "id": p.next_id("o"),
                "meta": run.meta,
                "status": "final",
                "category": VITAL_SIGNS if kind in VITALS else LABORATORY,
                "code": run.observation_code[kind],
                "subject": p.subject,
                "effectiveDateTime": when(d, rnd.randrange(480, 1080, 5)),
            }
            if kind == "bp":
                s = round(max(85.0, min(220.0, levels.sbp + rnd.gauss(0, 7))))
                dia = round(max(45.0, min(130.0, min(s - 20, levels.dbp + rnd.gauss(0, 5)))))
                obs["component"] = [
                    {
                        "code": run.bp_components[0],
                        "valueQuantity": {"value": s, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                    },
                    {
                        "code": run.bp_components[1],
                        "valueQuantity": {"value": dia, "unit": "mmHg", "system": UCUM, "code": "mm[Hg]"},
                    },
                ]
            else:
                unit = str(mon[kind]["unit"])
                value = reading(kind, levels, mon, rnd)
                obs["valueQuantity"] = {"value": value, "unit": unit, "system": UCUM, "code": unit}
            p.out.add("Observation", obs)


def draw_levels(
    mon: dict[str, Any],
    rnd: random.Random,
    has: set[str],
    age: int,
    female: bool,
    on_statin: bool,
    low_egfr: bool = False,
) -> Levels:
    sys_cfg, dia_cfg = mon["bp"]["systolic"], mon["bp"]["diastolic"]
    sbp = (
        sys_cfg["mean"]
        + 0.35 * max(0, age - 40)
        + sum(v for k, v in sys_cfg["with"].items() if k in has)
        + rnd.gauss(0, sys_cfg["sd"])
    )
    dbp = (
        dia_cfg["mean"] + sum(v for k, v in dia_cfg["with"].items() if k in has) + rnd.gauss(0, dia_cfg["sd"])
    )
    bmi_cfg = mon["bmi"]["value"]
    obese = "obesity" in has
    bmi = (
        rnd.gauss(bmi_cfg["obese_mean"], bmi_cfg["obese_sd"])
        if obese
        else min(29.9, rnd.gauss(bmi_cfg["mean"], bmi_cfg["sd"]))
    )
    bmi = max(float(bmi_cfg["min"]), min(float(bmi_cfg["max"]), bmi))
    height = rnd.gauss(1.62, 0.065) if female else rnd.gauss(1.76, 0.07)
    a1c_cfg = mon["hba1c"]["value"]
    diabetic = [v for k, v in a1c_cfg["with"].items() if k in has]
    hba1c = rnd.gauss(
        a1c_cfg["mean"] + (diabetic[0] if diabetic else 0),
        a1c_cfg["sd_with_condition"] if diabetic else a1c_cfg["sd"],
    )
    egfr_cfg = mon["egfr"]["value"]
    if low_egfr:
        egfr = rnd.uniform(15.0, 25.0)  # the methotrexate hazard: severe renal impairment
    elif "chronic_kidney_disease" in has:
        egfr = rnd.uniform(*egfr_cfg["ckd_range"])
    else:
        egfr = max(
            61.0,
            rnd.gauss(egfr_cfg["mean"] + egfr_cfg["age_slope_after_40"] * max(0, age - 40), egfr_cfg["sd"]),
        )
    acr_cfg = mon["acr"]["value"]
    log_acr = rnd.gauss(
        acr_cfg["log_mean"] + sum(v for k, v in acr_cfg["with"].items() if k in has), acr_cfg["log_sd"]
    )
    chol_cfg = mon["cholesterol"]["value"]
    chol = rnd.gauss(chol_cfg["mean"] + (chol_cfg["on_statin_shift"] if on_statin else 0.0), chol_cfg["sd"])
    return Levels(sbp, dbp, bmi, height, hba1c, egfr, log_acr, chol)


def _clip(v: float, cfg: dict[str, Any]) -> float:
    return max(float(cfg.get("min", -1e9)), min(float(cfg.get("max", 1e9)), v))


def reading(kind: str, levels: Levels, mon: dict[str, Any], rnd: random.Random) -> float:
    """One measurement of `kind` (not blood pressure, which has two components)."""
    if kind == "hba1c":
        return round(_clip(levels.hba1c + rnd.gauss(0, 4), mon["hba1c"]["value"]))
    if kind == "egfr":
        return round(_clip(levels.egfr + rnd.gauss(0, 3), mon["egfr"]["value"]))
    if kind == "acr":
        return round(_clip(math.exp(levels.log_acr + rnd.gauss(0, 0.3)), mon["acr"]["value"]), 1)
    if kind == "bmi":
        return round(levels.bmi + rnd.gauss(0, 0.4), 1)
    if kind == "weight":
        return round((levels.bmi + rnd.gauss(0, 0.4)) * levels.height * levels.height, 1)
    if kind == "cholesterol":
        return round(_clip(levels.chol + rnd.gauss(0, 0.3), mon["cholesterol"]["value"]), 1)
    cfg = mon[kind]["value"]
    if "log_mean" in cfg:
        return round(_clip(math.exp(rnd.gauss(cfg["log_mean"], cfg["log_sd"])), cfg), 2)
    return round(_clip(rnd.gauss(cfg["mean"], cfg["sd"]), cfg), 2)
