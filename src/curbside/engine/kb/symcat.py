"""Import SymCAT into a curbside knowledge-base pack (``curbside kb import-symcat``).

SymCAT (symcat.com, AHEAD Research 2011) summarises the US CDC ambulatory-care surveys (NAMCS and
NHAMCS) as two tables: for each condition, the share of its patients who report each of up to 12
symptoms, P(s | c); for each symptom, the share of patients with it who have each of up to 8 common
causes, P(c | s); both with age and sex odds. SymCAT has no ICD-10-CM codes, triage levels or
patient questions, so a hand-written curation table (``content/kb-sources/symcat/``) selects the
conditions and symptoms to import and adds them.

The import is a pure function of its inputs: :func:`build_pack` returns the YAML documents and the
alias table, :func:`write_pack` writes them, :func:`import_symcat` does both and validates the
result together with the anchor pack. Derivation of the priors (see ``docs/symcat.md``): for every
(condition, symptom) pair that appears in both tables, Bayes' rule gives
``log P(c) - log P(s) = log P(c|s) - log P(s|c)``; the least-squares solution of that system gives
the relative frequency of each condition among ambulatory visits, which the conditions shared with
the anchor pack put on the pack scale (people per 100,000 per year).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from curbside.engine.kb.icd10 import icd10_problem, icd10_title
from curbside.engine.kb.knowledge import build_knowledge_base, read_alias_table
from curbside.engine.kb.load import Pack, Problem, read_pack
from curbside.engine.kb.schema import AGE_BANDS, FindingKind, TriageLevel

FloatArray = npt.NDArray[np.float64]

SYMCAT = "SYMCAT"
SYMCAT_DERIVED = "SYMCAT_DERIVED"
SYMCAT_TEXT = "SYMCAT_TEXT"
PACK_ID = "symcat"

#: SymCAT's age slugs, in the order of :data:`AGE_BANDS` (one to one).
AGE_SLUGS: dict[str, str] = dict(zip(
    ("age-1-years", "age-1-4-years", "age-5-14-years", "age-15-29-years", "age-30-44-years",
     "age-45-59-years", "age-60-74-years", "age-75-years"), AGE_BANDS, strict=True))
SEX_SLUGS: dict[str, str] = {"sex-male": "male", "sex-female": "female"}

LIKELIHOOD_MIN = 0.01
LIKELIHOOD_MAX = 0.99
#: SymCAT rounds odds to one decimal, so 0.0 means "below 0.05" (or a sex-specific condition).
AGE_ODDS_FLOOR = 0.01
SEX_ODDS_FLOOR = 0.001
#: Finding backgrounds: the median symptom lands here; the rest keep SymCAT's spread, clipped.
BACKGROUND_MEDIAN = 0.02
BACKGROUND_MIN = 0.005
BACKGROUND_MAX = 0.2

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class SymcatError(ValueError):
    """Bad input to the importer; the message says which file and row, and what to fix."""


# ---------------------------------------------------------------------------------------------
# SymCAT's two tables


@dataclass(frozen=True)
class SymcatCondition:
    slug: str
    name: str
    description: str
    symptoms: dict[str, float]  # symptom slug -> % of patients with the condition who report it
    age_odds: dict[str, float]  # curbside age band -> odds
    sex_odds: dict[str, float]  # male/female -> odds


@dataclass(frozen=True)
class SymcatSymptom:
    slug: str
    name: str
    causes: dict[str, float]  # condition slug -> % of patients with the symptom who have it


@dataclass(frozen=True)
class SymcatData:
    conditions: dict[str, SymcatCondition]
    symptoms: dict[str, SymcatSymptom]


def slug_id(slug: str) -> str:
    """SymCAT slug -> curbside identifier (``kidney-stone`` -> ``kidney_stone``)."""
    return re.sub(r"_+", "_", slug.replace("-", "_")).strip("_")


def _find_json(directory: Path, word: str) -> Path:
    matches = sorted(p for p in directory.glob("*.json") if word in p.name.lower())
    if len(matches) != 1:
        found = ", ".join(p.name for p in matches) or "none"
        raise SymcatError(f"{directory}: expected exactly one *{word}*.json file (SymCAT's parsed "
                          f"{word} table), found {found}")
    return matches[0]


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SymcatError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SymcatError(f"{path}: not UTF-8 text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SymcatError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno}: "
                          f"{exc.msg}") from None


def read_symcat(directory: Path) -> SymcatData:
    """Read SymCAT's parsed tables from ``directory`` (one ``*conditions*.json``, one
    ``*symptoms*.json``, as in the symcat-to-synthea sample output)."""
    if not directory.is_dir():
        raise SymcatError(f"{directory}: not a directory (expected SymCAT's parsed JSON tables)")
    conditions_file = _find_json(directory, "conditions")
    symptoms_file = _find_json(directory, "symptoms")
    return parse_symcat(_load_json(conditions_file), _load_json(symptoms_file),
                        str(conditions_file), str(symptoms_file))


def _number(value: Any, where: str, problems: list[str], low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problems.append(f"{where}: expected a number, got {value!r}")
        return None
    if not low <= value <= high:
        problems.append(f"{where}: {value} is outside {low:g}-{high:g}")
        return None
    return float(value)


def _odds(raw: Any, slugs: Mapping[str, str], where: str, problems: list[str]) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping of odds")
        return {}
    odds: dict[str, float] = {}
    for key, entry in raw.items():
        if key not in slugs:
            problems.append(f"{where}.{key}: unknown group (known: {', '.join(slugs)})")
            continue
        value = entry.get("odds") if isinstance(entry, dict) else None
        number = _number(value, f"{where}.{key}.odds", problems, 0.0, 1000.0)
        if number is not None:
            odds[slugs[key]] = number
    return odds


def _text(entry: Mapping[str, Any], key: str, where: str, problems: list[str],
          required: bool = True) -> str:
    value = entry.get(key)
    if isinstance(value, str) and (value.strip() or not required):
        return value.strip()
    if value is None and not required:
        return ""
    problems.append(f"{where}.{key}: expected {'a non-empty ' if required else 'a '}string")
    return ""


def _raise(problems: list[str]) -> None:
    if problems:
        shown = "\n  ".join(problems[:15])
        more = f"\n  ... and {len(problems) - 15} more" if len(problems) > 15 else ""
        raise SymcatError(f"{len(problems)} problem(s) in the input:\n  {shown}{more}")


def parse_symcat(conditions_raw: Any, symptoms_raw: Any, conditions_where: str = "conditions",
                 symptoms_where: str = "symptoms") -> SymcatData:
    """Validate SymCAT's two JSON tables (already decoded) into :class:`SymcatData`."""
    problems: list[str] = []
    conditions: dict[str, SymcatCondition] = {}
    symptoms: dict[str, SymcatSymptom] = {}
    if not isinstance(conditions_raw, dict) or not conditions_raw:
        problems.append(f"{conditions_where}: expected a non-empty object {{slug: condition}}")
        conditions_raw = {}
    if not isinstance(symptoms_raw, dict) or not symptoms_raw:
        problems.append(f"{symptoms_where}: expected a non-empty object {{slug: symptom}}")
        symptoms_raw = {}
    for slug, entry in conditions_raw.items():
        where = f"{conditions_where}: {slug}"
        if not isinstance(entry, dict) or not _SLUG.match(slug):
            problems.append(f"{where}: expected a lower-case slug mapped to an object")
            continue
        listed: dict[str, float] = {}
        raw_symptoms = entry.get("symptoms")
        if not isinstance(raw_symptoms, dict):
            problems.append(f"{where}.symptoms: expected an object {{slug: {{probability}}}}")
            raw_symptoms = {}
        for symptom, value in raw_symptoms.items():
            p = value.get("probability") if isinstance(value, dict) else None
            number = _number(p, f"{where}.symptoms.{symptom}.probability", problems, 0.0, 100.0)
            if number is not None and number > 0:
                listed[symptom] = number
        conditions[slug] = SymcatCondition(
            slug=slug,
            name=_text(entry, "condition_name", where, problems),
            description=_text(entry, "condition_description", where, problems, required=False),
            symptoms=listed,
            age_odds=_odds(entry.get("age"), AGE_SLUGS, f"{where}.age", problems),
            sex_odds=_odds(entry.get("sex"), SEX_SLUGS, f"{where}.sex", problems),
        )
    for slug, entry in symptoms_raw.items():
        where = f"{symptoms_where}: {slug}"
        if not isinstance(entry, dict) or not _SLUG.match(slug):
            problems.append(f"{where}: expected a lower-case slug mapped to an object")
            continue
        causes: dict[str, float] = {}
        raw_causes = entry.get("common_causes") or {}
        if not isinstance(raw_causes, dict):
            problems.append(f"{where}.common_causes: expected an object {{cause-slug: ...}}")
            raw_causes = {}
        for cause, value in raw_causes.items():
            p = value.get("probability") if isinstance(value, dict) else None
            number = _number(p, f"{where}.common_causes.{cause}.probability", problems, 0.0, 100.0)
            if number is not None and number > 0:
                causes[cause.removeprefix("cause-")] = number
        symptoms[slug] = SymcatSymptom(slug=slug, name=_text(entry, "name", where, problems),
                                       causes=causes)
    _raise(problems)
    return SymcatData(conditions=conditions, symptoms=symptoms)


# ---------------------------------------------------------------------------------------------
# The curation tables


@dataclass(frozen=True)
class CuratedCondition:
    slug: str
    name: str
    icd10: tuple[str, ...]
    default_triage: TriageLevel
    specialty: str
    canonical_id: str | None
    note: str

    @property
    def id(self) -> str:
        return self.canonical_id or slug_id(self.slug)


@dataclass(frozen=True)
class CuratedSymptom:
    slug: str
    name: str
    finding_id: str
    kind: FindingKind
    question: str
    synonyms: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class Curation:
    conditions: dict[str, CuratedCondition]
    symptoms: dict[str, CuratedSymptom]


CONDITION_COLUMNS = ("slug", "name", "icd10", "default_triage", "specialty")
CONDITION_OPTIONAL = ("canonical_id", "note")
SYMPTOM_COLUMNS = ("slug", "name", "finding_id", "kind", "question")
SYMPTOM_OPTIONAL = ("synonyms", "note")


def _read_csv(path: Path, required: Sequence[str],
              optional: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    if not path.is_file():
        raise SymcatError(f"{path}: curation table not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SymcatError(f"{path}: cannot read: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in required if c not in columns]
    if missing:
        raise SymcatError(f"{path}: missing column(s) {', '.join(missing)}; the columns are "
                          f"{', '.join([*required, *optional])} (the last {len(optional)} optional)")
    rows: list[tuple[int, dict[str, str]]] = []
    for row in reader:
        values = {(k or "").strip(): (v or "").strip() for k, v in row.items()
                  if not isinstance(v, list)}
        if not any(values.values()) or values.get("slug", "").startswith("#"):
            continue
        rows.append((reader.line_num, values))
    return rows


def _split(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in value.split(";") if part.strip()))


def read_curation(directory: Path) -> Curation:
    """Read ``conditions.csv`` and ``symptoms.csv``; every ICD-10-CM code is checked."""
    problems: list[str] = []
    conditions: dict[str, CuratedCondition] = {}
    symptoms: dict[str, CuratedSymptom] = {}
    path = directory / "conditions.csv"
    for line, row in _read_csv(path, CONDITION_COLUMNS, CONDITION_OPTIONAL):
        where = f"{path.name} line {line} ({row['slug'] or 'no slug'})"
        slug = row["slug"]
        if not _SLUG.match(slug):
            problems.append(f"{where}: slug must be a SymCAT slug (lower-case, hyphens)")
        if slug in conditions:
            problems.append(f"{where}: slug listed twice")
        codes = _split(row["icd10"])
        for code in codes:
            message = icd10_problem(code)
            if message:
                problems.append(f"{where}: {message}")
        if not codes and not row.get("note"):
            problems.append(f"{where}: no ICD-10-CM code; give codes or say why in 'note'")
        try:
            triage = TriageLevel(row["default_triage"])
        except ValueError:
            problems.append(f"{where}: default_triage {row['default_triage']!r} is not one of "
                            f"{', '.join(t.value for t in TriageLevel)}")
            triage = TriageLevel.consultation
        if not _IDENTIFIER.match(row["specialty"]):
            problems.append(f"{where}: specialty {row['specialty']!r} is not an identifier "
                            "(lower case, digits, underscores)")
        canonical = row.get("canonical_id") or None
        if canonical is not None and not _IDENTIFIER.match(canonical):
            problems.append(f"{where}: canonical_id {canonical!r} is not an identifier")
        conditions[slug] = CuratedCondition(
            slug=slug, name=row["name"], icd10=codes, default_triage=triage,
            specialty=row["specialty"], canonical_id=canonical, note=row.get("note", ""))
    path = directory / "symptoms.csv"
    for line, row in _read_csv(path, SYMPTOM_COLUMNS, SYMPTOM_OPTIONAL):
        where = f"{path.name} line {line} ({row['slug'] or 'no slug'})"
        slug = row["slug"]
        if not _SLUG.match(slug):
            problems.append(f"{where}: slug must be a SymCAT slug (lower-case, hyphens)")
        if slug in symptoms:
            problems.append(f"{where}: slug listed twice")
        if not _IDENTIFIER.match(row["finding_id"]):
            problems.append(f"{where}: finding_id {row['finding_id']!r} is not an identifier")
        try:
            kind = FindingKind(row["kind"])
        except ValueError:
            problems.append(f"{where}: kind {row['kind']!r} is not one of "
                            f"{', '.join(k.value for k in FindingKind)}")
            kind = FindingKind.symptom
        if len(row["question"]) < 5:
            problems.append(f"{where}: the question is missing or too short")
        symptoms[slug] = CuratedSymptom(
            slug=slug, name=row["name"], finding_id=row["finding_id"], kind=kind,
            question=row["question"], synonyms=_split(row.get("synonyms", "")),
            note=row.get("note", ""))
    _raise(problems)
    return Curation(conditions=conditions, symptoms=symptoms)


# ---------------------------------------------------------------------------------------------
# Relative frequencies from Bayes' rule


@dataclass(frozen=True)
class FrequencyFit:
    """Relative frequencies on one gauge: conditions sum to 1 over all SymCAT conditions (the
    share of ambulatory visits), symptoms are the share of visits that present them."""

    condition: dict[str, float]
    condition_method: dict[str, str]  # "lsq" | "bound" | "median"
    symptom: dict[str, float]
    symptom_method: dict[str, str]  # "lsq" | "total"
    pairs: int  # pairs in both tables
    fitted_pairs: int  # of them, in the largest connected component
    components: int
    rms_residual: float  # natural-log units, over the fitted pairs
    recovered_share: float  # median share of P(s) that the partial total-probability sum finds


def _pairs(data: SymcatData) -> list[tuple[str, str, float, float]]:
    """(condition, symptom, P(s|c), P(c|s)) for every pair in both tables, sorted."""
    pairs = []
    for c_slug in sorted(data.conditions):
        for s_slug, p_s_given_c in sorted(data.conditions[c_slug].symptoms.items()):
            symptom = data.symptoms.get(s_slug)
            if symptom is not None and c_slug in symptom.causes:
                pairs.append((c_slug, s_slug, p_s_given_c / 100, symptom.causes[c_slug] / 100))
    return pairs


def _components(pairs: Sequence[tuple[str, str, float, float]]) -> list[set[str]]:
    """Connected components of the bipartite pair graph (nodes 'c:slug' and 's:slug'), largest
    first (by number of pairs, then by name, so the choice is deterministic)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for c_slug, s_slug, _, _ in pairs:
        a, b = root("c:" + c_slug), root("s:" + s_slug)
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[str, set[str]] = {}
    for node in parent:
        groups.setdefault(root(node), set()).add(node)
    size = {r: sum(1 for c, _, _, _ in pairs if root("c:" + c) == r) for r in groups}
    return [groups[r] for r in sorted(groups, key=lambda r: (-size[r], r))]


def fit_frequencies(data: SymcatData) -> FrequencyFit:
    """Solve ``log P(c) - log P(s) = log P(c|s) - log P(s|c)`` in the least-squares sense.

    Only the largest connected component of the pair graph shares one gauge (a constant added to
    every log P(c) and log P(s) of a component leaves its equations unchanged), so only it is
    solved; one extra row, ``sum log P(c) = 0``, fixes the gauge without touching the fit.
    Conditions outside it get an upper bound: a condition that a symptom's list of common causes
    leaves out has P(c|s) at most the smallest listed share, so
    ``P(c) <= P(s) * min_share(s) / P(s|c)``; the tightest bound is used, capped at the median
    solved P(c). Symptoms outside it get the law of total probability over the conditions that list
    them, divided by the median share of P(s) that this partial sum recovers on solved symptoms.
    Finally every frequency is divided by the sum over all conditions, so conditions sum to 1.
    """
    pairs = _pairs(data)
    if not pairs:
        raise SymcatError("no (condition, symptom) pair appears in both SymCAT tables: the priors "
                          "cannot be derived")
    components = _components(pairs)
    main = components[0]
    fitted = [p for p in pairs if "c:" + p[0] in main]
    conds = sorted(n[2:] for n in main if n.startswith("c:"))
    syms = sorted(n[2:] for n in main if n.startswith("s:"))
    c_index = {s: i for i, s in enumerate(conds)}
    s_index = {s: i for i, s in enumerate(syms)}
    n_c, n_s, m = len(conds), len(syms), len(fitted)
    rows = np.arange(m)
    ci = np.array([c_index[p[0]] for p in fitted])
    si = np.array([s_index[p[1]] for p in fitted])
    p_s_c = np.array([p[2] for p in fitted])
    p_c_s = np.array([p[3] for p in fitted])
    design = np.zeros((m + 1, n_c + n_s))
    design[rows, ci] = 1.0
    design[rows, n_c + si] = -1.0
    design[m, :n_c] = 1.0  # gauge
    target = np.concatenate([np.log(p_c_s) - np.log(p_s_c), [0.0]])
    solution: FloatArray = np.linalg.lstsq(design, target, rcond=None)[0]
    residual = design[:m] @ solution - target[:m]
    p_c: dict[str, float] = dict(zip(conds, np.exp(solution[:n_c]).tolist(), strict=True))
    p_s: dict[str, float] = dict(zip(syms, np.exp(solution[n_c:]).tolist(), strict=True))
    condition_method = dict.fromkeys(conds, "lsq")
    symptom_method = dict.fromkeys(syms, "lsq")

    cap = median(p_c.values())
    for c_slug in sorted(set(data.conditions) - set(p_c)):
        bounds = []
        for s_slug, percent in data.conditions[c_slug].symptoms.items():
            symptom = data.symptoms.get(s_slug)
            if s_slug in p_s and symptom is not None and symptom.causes:
                smallest = min(symptom.causes.values()) / 100
                bounds.append(p_s[s_slug] * smallest / (percent / 100))
        if bounds and min(bounds) < cap:
            p_c[c_slug], condition_method[c_slug] = min(bounds), "bound"
        else:
            p_c[c_slug], condition_method[c_slug] = cap, "median"

    total = math.fsum(p_c.values())
    p_c = {k: v / total for k, v in p_c.items()}
    p_s = {k: v / total for k, v in p_s.items()}

    partial: dict[str, float] = {}
    for c_slug, condition in data.conditions.items():
        for s_slug, percent in condition.symptoms.items():
            partial[s_slug] = partial.get(s_slug, 0.0) + percent / 100 * p_c[c_slug]
    shares = [partial[s] / p_s[s] for s in syms if partial.get(s, 0.0) > 0]
    recovered = median(shares) if shares else 1.0
    for s_slug in sorted(set(partial) - set(p_s)):
        if partial[s_slug] > 0:
            p_s[s_slug] = partial[s_slug] / recovered
            symptom_method[s_slug] = "total"
    return FrequencyFit(
        condition=p_c, condition_method=condition_method, symptom=p_s,
        symptom_method=symptom_method, pairs=len(pairs), fitted_pairs=m,
        components=len(components), rms_residual=float(np.sqrt(np.mean(residual ** 2))),
        recovered_share=recovered)


# ---------------------------------------------------------------------------------------------
# Building the pack


@dataclass(frozen=True)
class Anchor:
    condition_id: str
    slug: str
    anchor_rate: float
    share: float

    @property
    def ratio(self) -> float:
        return self.anchor_rate / self.share


@dataclass
class ImportResult:
    documents: dict[str, dict[str, Any]]  # file name -> YAML document
    aliases: dict[str, dict[str, list[str]]]
    anchors: list[Anchor]
    scale: float
    background_scale: float
    fit: FrequencyFit
    skipped_symptoms: dict[str, list[str]] = field(default_factory=dict)  # slug -> conditions
    unused_symptoms: list[str] = field(default_factory=list)
    implicit_merges: list[str] = field(default_factory=list)  # slug id is an anchor condition id
    dropped_conditions: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # from validating the written pack

    @property
    def counts(self) -> tuple[int, int, int]:
        conditions = len(self.documents["conditions.yaml"]["conditions"])
        findings = len(self.documents["findings.yaml"]["findings"])
        likelihoods = sum(len(r) for r in self.documents["likelihoods.yaml"]["likelihoods"].values())
        return conditions, findings, likelihoods


def _sig(value: float, digits: int = 3) -> float | int:
    """Round to significant digits, so the YAML shows stable, short numbers (1200, not 1200.0)."""
    rounded = float(f"{value:.{digits}g}")
    return int(rounded) if rounded >= 1 and rounded.is_integer() else rounded


_ABBREVIATIONS = re.compile(r"(?:\b(?:e\.g|i\.e|etc|vs|approx|Dr|St|Mr|Mrs|No|U\.S|U\.K|ca)|"
                            r"\b[A-Z])\.$")
_GENERIC = {"disease", "disorder", "syndrome", "infection", "other", "with", "from", "acute",
            "chronic", "the", "and", "idiopathic", "injury", "cancer", "condition"}


def _drop_foreign_asides(text: str) -> str:
    """Remove top-level parentheses that hold letters outside ASCII (etymologies and
    pronunciations: "Myopia (Greek: ...) is ...", "(from the Latin rēnēs ...)")."""
    spans: list[tuple[int, int]] = []
    depth, start = 0, 0
    for i, char in enumerate(text):
        if char == "(":
            if depth == 0:
                start = i
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if depth == 0 and any(c.isalpha() and ord(c) > 0x7F for c in text[start:i]):
                spans.append((start, i + 1))
    for begin, end in reversed(spans):
        text = text[:begin].rstrip() + text[end:]
    return text


def short_description(name: str, text: str, symcat_name: str = "") -> str | None:
    """The first one or two sentences of SymCAT's description, or None when they do not look
    like a description of this condition (disambiguation pages, placeholders, wrong articles)."""
    text = re.sub(r"\[\d+\]", "", text)
    text = re.sub(r"\s*/[^/]*[^\x00-\x7f][^/]*/", "", text)  # IPA pronunciations
    text = _drop_foreign_asides(text)
    text = re.sub(r"\s+", " ", text).strip()
    lowered = text.lower()
    if not text or "may refer to" in lowered or "symcat" in lowered:
        return None
    sentences: list[str] = []
    start = 0
    for match in re.finditer(r"[.!?](?=\s+[A-Z(\"])", text):
        if _ABBREVIATIONS.search(text[start:match.end()]):
            continue
        sentences.append(text[start:match.end()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    result = sentences[0]
    if len(result) < 60 and len(sentences) > 1:
        result = f"{result} {sentences[1]}"
    if len(result) > 400:
        result = result[:400].rsplit(" ", 1)[0].rstrip(",;:") + " ..."
    words = {w for w in re.findall(r"[a-z]{4,}", f"{name} {symcat_name}".lower())} - _GENERIC
    if len(result) < 25 or (words and not any(w[:5] in result.lower() for w in words)):
        return None
    if not result.endswith((".", "!", "?", "...")):
        result += "."
    return result


def _neutral_description(name: str, codes: Sequence[str]) -> str:
    """A plain description from the ICD-10-CM title, when SymCAT's text will not do."""
    if codes:
        title = icd10_title(codes[0])
        if title:
            return f"{name} (ICD-10-CM {codes[0]}: {title})."
    return f"{name}, a condition of the SymCAT ambulatory-care tables."


def _modifier(odds: Mapping[str, float], order: Sequence[str], floor: float) -> dict[str, Any]:
    values = {k: float(f"{max(odds[k], floor):.3g}") for k in order if k in odds}
    return {"values": values, "source": [SYMCAT], "estimate": "md_symcat_odds"}


def _check_ids(data: SymcatData, curation: Curation, anchor: Pack) -> None:
    problems: list[str] = []
    for slug in sorted(curation.conditions):
        if slug not in data.conditions:
            problems.append(f"conditions.csv: slug {slug!r} is not a SymCAT condition")
    for slug in sorted(curation.symptoms):
        if slug not in data.symptoms:
            problems.append(f"symptoms.csv: slug {slug!r} is not a SymCAT symptom")
    anchor_conditions = {c.id for c in anchor.conditions}
    anchor_findings = {f.id for f in anchor.findings}
    by_id: dict[str, str] = {}
    for slug, condition in sorted(curation.conditions.items()):
        if condition.id in by_id:
            problems.append(f"conditions.csv: {slug!r} and {by_id[condition.id]!r} both become "
                            f"condition {condition.id!r}; give one of them another canonical_id")
        by_id[condition.id] = slug
        if condition.canonical_id and condition.canonical_id not in anchor_conditions:
            problems.append(f"conditions.csv: {slug!r}: canonical_id {condition.canonical_id!r} "
                            f"is not a condition of the anchor pack {anchor.path}")
        own = slug_id(slug)
        if condition.canonical_id and own != condition.canonical_id and own in anchor_conditions:
            problems.append(f"conditions.csv: {slug!r} would alias {own!r}, which the anchor "
                            f"pack already uses for another condition")
    for slug, symptom in sorted(curation.symptoms.items()):
        own = slug_id(slug)
        if own != symptom.finding_id and own in anchor_findings:
            problems.append(f"symptoms.csv: {slug!r} would alias {own!r}, which the anchor pack "
                            f"already uses for another finding")
    _raise(problems)


def _rationales(fit: FrequencyFit, anchors: Sequence[Anchor], scale: float,
                background_scale: float) -> dict[str, str]:
    anchor_text = "; ".join(f"{a.condition_id} {a.anchor_rate:g} / {a.share:.3g} = {a.ratio:.3g}"
                            for a in anchors)
    return {
        "pr_symcat_lsq": (
            "Derived from SymCAT by Bayes' rule (docs/symcat.md). For each of the "
            f"{fit.fitted_pairs} (condition, symptom) pairs listed in both SymCAT tables (of "
            f"{fit.pairs} in {fit.components} connected groups; the largest group is solved), "
            "log P(c) - log P(s) = log P(c|s) - log P(s|c); the least-squares solution gives each "
            "condition's share of US ambulatory-care visits (root-mean-square residual "
            f"{fit.rms_residual:.2f} in natural-log units). Shares are put on the pack scale (people "
            "per 100,000 per year with an episode that might bring them to a symptom checker) by "
            f"the conditions shared with the anchor pack (anchor rate / SymCAT share: {anchor_text}"
            f"); rate = share x {scale:.3g}, the median ratio. Visits are not episodes: conditions "
            "that bring people back often (chronic care) are over-counted and self-limiting ones "
            "that seldom reach a doctor under-counted; read the rate as an order of magnitude."),
        "pr_symcat_bound": (
            "The condition is in no pair of the solved group (no symptom lists it among its common "
            "causes). A symptom's list of common causes leaves out every cause with a smaller share "
            "than its last entry, so P(c|s) <= that share and P(c) <= P(s) x share / P(s|c); the "
            "tightest bound over the condition's symptoms is used, then scaled like pr_symcat_lsq. "
            "It is an upper bound: the true rate may be lower."),
        "pr_symcat_median": (
            "The condition is in no pair of the solved group and its symptoms give no bound below "
            "the median, so it gets the median share of the solved conditions, scaled like "
            "pr_symcat_lsq. A placeholder, not a measurement."),
        "md_symcat_odds": (
            "SymCAT's age and sex odds (the condition's frequency in the group relative to all "
            "visits). SymCAT rounds them to one decimal, so 0.0 means below 0.05: it is raised to "
            f"{AGE_ODDS_FLOOR} for age bands (rare but possible) and {SEX_ODDS_FLOOR} for sex "
            "(practically never; mostly conditions of one sex's anatomy), because a modifier of 0 "
            "makes a condition impossible."),
        "bg_symcat_lsq": (
            "From the symptom's share of ambulatory visits, P(s), solved together with the "
            "condition shares (pr_symcat_lsq). A visit records only the main reasons for it, and a "
            "patient asked about a symptom says yes more often than the survey records, so the "
            f"shares are multiplied by {background_scale:.3g}, which puts the median symptom at "
            f"{BACKGROUND_MEDIAN} and keeps SymCAT's spread, then clipped to {BACKGROUND_MIN}-"
            f"{BACKGROUND_MAX}. The factor is a judgement, chosen so the range matches the "
            "hand-curated packs."),
        "bg_symcat_total": (
            "The symptom is outside the solved group: P(s) is the sum of P(s|c) x P(c) over the "
            "conditions that list it, divided by the median share of P(s) that this partial sum "
            f"recovers on solved symptoms ({fit.recovered_share:.2f}); then scaled and clipped "
            "like bg_symcat_lsq."),
        "lk_symcat_clip": (
            f"SymCAT gives 0% or 100%; clipped to {LIKELIHOOD_MIN}-{LIKELIHOOD_MAX} because a "
            "likelihood of 0 or 1 would let one answer rule a condition in or out for good."),
    }


def build_pack(data: SymcatData, curation: Curation, anchor: Pack,
               existing_aliases: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
               ) -> ImportResult:
    """The YAML documents of the SymCAT pack and the alias table (no files are written)."""
    _check_ids(data, curation, anchor)
    fit = fit_frequencies(data)

    # likelihoods: SymCAT percentages of curated conditions and symptoms
    likelihoods: dict[str, dict[str, dict[str, Any]]] = {}
    skipped: dict[str, list[str]] = {}
    used: dict[str, list[str]] = {}  # finding id -> symptom slugs
    dropped: list[str] = []
    for c_slug in sorted(curation.conditions, key=lambda s: curation.conditions[s].id):
        condition = curation.conditions[c_slug]
        row: dict[str, dict[str, Any]] = {}
        for s_slug, percent in sorted(data.conditions[c_slug].symptoms.items()):
            symptom = curation.symptoms.get(s_slug)
            if symptom is None:
                skipped.setdefault(s_slug, []).append(c_slug)
                continue
            value = min(max(percent / 100, LIKELIHOOD_MIN), LIKELIHOOD_MAX)
            previous = row.get(symptom.finding_id)
            if previous is not None and previous["value"] >= value:
                continue  # two SymCAT symptoms mean one finding: keep the larger share
            cell: dict[str, Any] = {"value": _sig(value), "source": [SYMCAT]}
            if value != percent / 100:
                cell["estimate"] = "lk_symcat_clip"
                cell["note"] = f"SymCAT: {percent:g}%"
            row[symptom.finding_id] = cell
            if s_slug not in used.setdefault(symptom.finding_id, []):
                used[symptom.finding_id].append(s_slug)
        if row:
            likelihoods[condition.id] = dict(sorted(row.items()))
        else:
            dropped.append(c_slug)

    # priors: shares of visits, put on the anchor pack's scale
    anchor_rates = {c.id: c.prior.rate.value for c in anchor.conditions}
    anchors = sorted(
        (Anchor(c.id, c.slug, anchor_rates[c.id], fit.condition[c.slug])
         for c in curation.conditions.values()
         if c.id in anchor_rates and fit.condition_method[c.slug] == "lsq"
         and c.slug not in dropped),
        key=lambda a: a.condition_id)
    implicit = sorted(c.slug for c in curation.conditions.values()
                      if c.canonical_id is None and c.id in anchor_rates)
    if not anchors:
        raise SymcatError(
            "no anchor: no curated condition with a canonical_id of the anchor pack "
            f"({anchor.path}) is in the solved group, so the rates cannot be put on the pack scale")
    scale = float(median(a.ratio for a in anchors))

    conditions: list[dict[str, Any]] = []
    for c_slug in sorted(curation.conditions, key=lambda s: curation.conditions[s].id):
        if c_slug in dropped:
            continue
        condition = curation.conditions[c_slug]
        raw = data.conditions[c_slug]
        share = fit.condition[c_slug]
        prior: dict[str, Any] = {"rate": {
            "value": _sig(share * scale), "source": [SYMCAT_DERIVED],
            "estimate": f"pr_symcat_{fit.condition_method[c_slug]}",
            "note": f"share of SymCAT visits {share:.3g}"}}
        if raw.age_odds:
            prior["age"] = _modifier(raw.age_odds, AGE_BANDS, AGE_ODDS_FLOOR)
        if raw.sex_odds:
            prior["sex"] = _modifier(raw.sex_odds, ("male", "female"), SEX_ODDS_FLOOR)
        name = condition.name or raw.name
        description = short_description(name, raw.description, raw.name)
        entry: dict[str, Any] = {"id": condition.id, "name": name}
        entry["icd10"] = list(condition.icd10)
        if not condition.icd10:
            entry["icd10_note"] = condition.note
        entry |= {
            "default_triage": condition.default_triage.value,
            "specialty": condition.specialty,
            "description": description or _neutral_description(name, condition.icd10),
            "sources": [SYMCAT, SYMCAT_TEXT] if description else [SYMCAT],
            "prior": prior,
        }
        conditions.append(entry)

    # findings: one per finding id used by a likelihood
    solved = [fit.symptom[s] for s, m in fit.symptom_method.items() if m == "lsq"]
    background_scale = BACKGROUND_MEDIAN / median(solved)
    findings: list[dict[str, Any]] = []
    for finding_id in sorted(used):
        slugs = sorted(used[finding_id])
        first = curation.symptoms[slugs[0]]
        synonyms = list(dict.fromkeys(
            [*(x for s in slugs for x in curation.symptoms[s].synonyms),
             *(data.symptoms[s].name.lower() for s in slugs[1:])]))
        shares = [fit.symptom[s] for s in slugs if s in fit.symptom]
        if shares:
            method = "lsq" if any(fit.symptom_method[s] == "lsq" for s in slugs) else "total"
            value = min(max(max(shares) * background_scale, BACKGROUND_MIN), BACKGROUND_MAX)
        else:  # no condition lists the symptom: not reachable for a used finding
            method, value = "total", BACKGROUND_MIN
        item: dict[str, Any] = {"id": finding_id, "kind": first.kind.value,
                                "name": data.symptoms[slugs[0]].name, "question": first.question}
        if synonyms:
            item["synonyms"] = synonyms
        item["background"] = {"value": _sig(value, 2), "source": [SYMCAT_DERIVED],
                              "estimate": f"bg_symcat_{method}"}
        findings.append(item)
    unused = sorted(s for s, c in curation.symptoms.items() if c.finding_id not in used)

    documents = _documents(data, curation, fit, anchors, scale, background_scale,
                           conditions, findings, likelihoods)
    aliases = _aliases(data, curation, anchor, existing_aliases or {})
    return ImportResult(documents=documents, aliases=aliases, anchors=anchors, scale=scale,
                        background_scale=background_scale, fit=fit, implicit_merges=implicit,
                        skipped_symptoms={k: sorted(v) for k, v in sorted(skipped.items())},
                        unused_symptoms=unused, dropped_conditions=dropped)


def _documents(data: SymcatData, curation: Curation, fit: FrequencyFit, anchors: Sequence[Anchor],
               scale: float, background_scale: float, conditions: list[dict[str, Any]],
               findings: list[dict[str, Any]],
               likelihoods: dict[str, dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    digest = hashlib.sha256(json.dumps(
        [conditions, findings, likelihoods], sort_keys=True).encode()).hexdigest()[:10]
    info = {
        "id": PACK_ID,
        "title": "SymCAT general ambulatory care",
        "version": f"1.0+{digest}",
        "description": (
            f"{len(conditions)} conditions and {len(findings)} symptoms of general ambulatory care "
            "imported from SymCAT with curbside's curation tables (content/kb-sources/symcat/: "
            "ICD-10-CM codes, triage levels, specialties, patient questions). Likelihoods are "
            "SymCAT's shares of patients reporting each of a condition's (at most 12) listed "
            "symptoms; priors are derived by Bayes' rule (docs/symcat.md). Generated by "
            "'curbside kb import-symcat': edit the curation tables, not these files."),
        "licence": (
            "Data: SymCAT (symcat.com, AHEAD Research 2011), built from the US CDC National "
            "Ambulatory Medical Care Survey and National Hospital Ambulatory Medical Care Survey "
            "(NAMCS/NHAMCS). Taken from the parsed tables of the symcat-to-synthea repository "
            "(sample_output, commit c896c846), which has no licence file; SymCAT's own terms of "
            "use are unknown. Treat as a research reference and clear the licence before shipping "
            "this pack in a product. Condition descriptions are SymCAT's text, which SymCAT drew "
            "from Wikipedia (CC BY-SA). The curation tables and the derivation are curbside's."),
        "attribution": "SymCAT, AHEAD Research (2011), from CDC NAMCS/NHAMCS data.",
        "reviewed_by": "not clinician-reviewed (machine import of curated tables)",
    }
    sources = {
        SYMCAT: {
            "citation": "SymCAT symptom-based, computer-assisted triage. AHEAD Research, 2011. "
                        "Condition and symptom tables built from CDC NAMCS/NHAMCS.",
            "url": "http://www.symcat.com/",
            "tier": "B",
            "note": "Read through the parsed tables of github.com/teliov/symcat-to-synthea "
                    "(sample_output/conditions.json and symptoms.json, commit c896c846; "
                    f"{len(data.conditions)} conditions, {len(data.symptoms)} symptoms). No "
                    "licence file; SymCAT's terms unknown.",
        },
        SYMCAT_DERIVED: {
            "citation": "curbside: priors and background rates derived from SymCAT by Bayes' rule "
                        "and least squares (docs/symcat.md).",
            "tier": "C",
            "note": f"{fit.fitted_pairs} of {fit.pairs} pairs solved; {len(anchors)} anchor "
                    f"conditions; scale factor {scale:.3g}; background factor "
                    f"{background_scale:.3g}.",
        },
        SYMCAT_TEXT: {
            "citation": "SymCAT condition descriptions (first sentences), which SymCAT took from "
                        "Wikipedia.",
            "url": "https://en.wikipedia.org/",
            "tier": "C",
            "note": "Wikipedia text is CC BY-SA; used for the short descriptions only.",
        },
    }
    header = ("Generated by 'curbside kb import-symcat' from SymCAT and the curation tables in "
              "content/kb-sources/symcat/. Do not edit: change the curation and re-run.")
    return {
        "pack.yaml": {"#": header, "pack": info},
        "sources.yaml": {"#": header, "sources": sources},
        "estimates.yaml": {"#": header,
                           "estimates": _rationales(fit, anchors, scale, background_scale)},
        "conditions.yaml": {"#": header, "conditions": conditions},
        "findings.yaml": {"#": header, "findings": findings},
        "likelihoods.yaml": {"#": header, "likelihoods": likelihoods},
    }


def symcat_ids(data: SymcatData) -> set[str]:
    """Every id the importer could derive from a SymCAT slug (its share of the alias table)."""
    return {slug_id(s) for s in [*data.conditions, *data.symptoms]}


def _aliases(data: SymcatData, curation: Curation, anchor: Pack,
             existing: Mapping[str, Mapping[str, Sequence[str]]]) -> dict[str, dict[str, list[str]]]:
    """The alias table: SymCAT slug ids -> anchor-pack ids; entries of other packs are kept.

    Only anchor-pack ids are canonical ids here: the table is read whatever packs are loaded, and
    a canonical id that no loaded pack defines is an error, so an alias to a SymCAT-only id would
    break loading the anchor pack on its own."""
    anchor_findings = {f.id for f in anchor.findings}
    ours = symcat_ids(data)
    table: dict[str, dict[str, list[str]]] = {"conditions": {}, "findings": {}}
    for section in table:
        for canonical, aliases in (existing.get(section) or {}).items():
            kept = [a for a in aliases if a not in ours]
            if kept:
                table[section].setdefault(str(canonical), []).extend(kept)
    for condition in curation.conditions.values():
        own = slug_id(condition.slug)
        if condition.canonical_id and own != condition.canonical_id:
            table["conditions"].setdefault(condition.canonical_id, []).append(own)
    for symptom in curation.symptoms.values():
        own = slug_id(symptom.slug)
        if own != symptom.finding_id and symptom.finding_id in anchor_findings:
            table["findings"].setdefault(symptom.finding_id, []).append(own)
    return {section: {k: sorted(set(v)) for k, v in sorted(entries.items())}
            for section, entries in table.items()}


# ---------------------------------------------------------------------------------------------
# YAML output


_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc, valid-type]
    """Block style for structure, flow style for leaves (``{value: 0.5, source: [SYMCAT]}``)."""


def _is_leaf(value: Any) -> bool:
    """A list of scalars, or a mapping of scalars and lists of scalars."""
    if isinstance(value, list):
        return all(isinstance(v, str | int | float) for v in value)
    if isinstance(value, dict):
        return all(isinstance(v, str | int | float) or (isinstance(v, list) and _is_leaf(v))
                   for v in value.values())
    return False


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    width = sum(len(str(k)) + len(str(v)) + 4 for k, v in data.items())
    numbers = all(isinstance(v, int | float) for v in data.values())
    flow = _is_leaf(data) and (numbers or width <= 84)
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = _is_leaf(data) and sum(len(str(v)) for v in data) < 80
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def to_yaml(document: Mapping[str, Any]) -> str:
    """A document as YAML; a key ``#`` becomes a header comment."""
    header = document.get("#")
    body = {k: v for k, v in document.items() if k != "#"}
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110,
                     default_flow_style=False)
    if header:
        lines = _wrap(str(header), 98)
        text = "".join(f"# {line}\n" for line in lines) + text
    return text


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines


def write_pack(result: ImportResult, out: Path, alias_file: Path | None) -> None:
    """Write the pack (removing YAML files of an earlier import) and the alias table."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in sorted([*out.glob("*.yaml"), *out.glob("*.yml")]):
        if stale.name not in result.documents:
            stale.unlink()
    for name, document in result.documents.items():
        (out / name).write_text(to_yaml(document), encoding="utf-8")
    if alias_file is not None:
        header = ("Ids that name one node in several packs: canonical id -> aliases. The SymCAT "
                  "entries are generated by 'curbside kb import-symcat' from the curation tables "
                  "(canonical_id, finding_id); entries of other packs are kept on re-import.")
        alias_file.parent.mkdir(parents=True, exist_ok=True)
        alias_file.write_text(to_yaml({"#": header, **result.aliases}), encoding="utf-8")


def read_existing_aliases(path: Path) -> dict[str, dict[str, list[str]]]:
    if not path.is_file():
        return {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SymcatError(f"{path}: cannot read the alias table: {exc}") from None
    if not isinstance(raw, dict):
        raise SymcatError(f"{path}: the alias table must be a mapping")
    table: dict[str, dict[str, list[str]]] = {}
    for section, mapping in raw.items():
        if isinstance(mapping, dict):
            table[str(section)] = {str(k): [str(a) for a in v] for k, v in mapping.items()
                                   if isinstance(v, list)}
    return table


def import_symcat(symcat_dir: Path, curation_dir: Path, out: Path, anchor_dir: Path,
                  alias_file: Path | None) -> ImportResult:
    """Read, build, write, then validate the written pack merged with the anchor pack."""
    data = read_symcat(symcat_dir)
    curation = read_curation(curation_dir)
    if not anchor_dir.is_dir():
        raise SymcatError(f"{anchor_dir}: the anchor pack is not a directory")
    anchor, anchor_problems = read_pack(anchor_dir)
    if any(p.severity == "error" for p in anchor_problems):
        raise SymcatError(f"{anchor_dir}: the anchor pack does not load; run 'curbside kb check "
                          f"{anchor_dir}'")
    existing = read_existing_aliases(alias_file) if alias_file is not None else {}
    result = build_pack(data, curation, anchor, existing)
    write_pack(result, out, alias_file)
    result.problems = validate(out, anchor, alias_file)
    return result


def validate(out: Path, anchor: Pack, alias_file: Path | None) -> list[Problem]:
    """Problems of the written pack alone, then of the anchor pack and it merged via the aliases
    (the way ``CURBSIDE_PACKS='["thigh-groin","symcat"]' curbside kb check`` reads them)."""
    pack, problems = read_pack(out)
    _, alone = build_knowledge_base([pack])
    aliases, alias_problems = (read_alias_table(alias_file) if alias_file is not None
                               else (None, []))
    _, merged = build_knowledge_base([anchor, pack], aliases)
    return list(dict.fromkeys([*problems, *alone, *alias_problems, *merged]))
