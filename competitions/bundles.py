"""Reading and checking competition bundles (docs/bundles.md), and writing them back.

``bundle_read(path)`` turns a bundle folder into a :class:`BundleSpec` or raises
:class:`BundleInvalid` with every mistake it found, each naming the field path and what was
expected. Nothing here touches the database: storing a checked bundle is
``competitions.services.competition_import``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evaluation.games.config import OPTION as GAME_OPTION
from evaluation.games.config import game_config_read
from evaluation.metrics import hierarchy_csv, hierarchy_from_csv, hierarchy_read
from evaluation.task_types import TASK_TYPES, get_task

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
COLUMN_TYPES = ("numeric", "categorical", "date")
COLUMN_FIELDS = ("name", "type", "min", "max", "categories", "hierarchy")
HIERARCHY_MAX_ROWS = 200_000  # ICD-10-CM, the largest code list in use, has about 75,000 codes
HIERARCHY_MAX_LEVELS = 32
HIERARCHY_MAX_BYTES = 64 * 2**20  # read whole: ICD-10-CM's codes with their groups take about 5 MiB
LIMIT_FIELDS = {"wall_seconds": float, "memory_mb": int, "cpus": float, "gpus": int, "output_mb": int}
DEFAULT_LIMITS = {"wall_seconds": 600, "memory_mb": 2048, "cpus": 1, "gpus": 0, "output_mb": 100}


class BundleInvalid(Exception):
    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors))

    def as_dict(self) -> dict[str, str]:
        return {path: message for path, message in self.errors}


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    start: dt.datetime
    end: dt.datetime | None
    max_submissions_per_day: int
    max_submissions_total: int | None
    max_final_selections: int
    max_team_size: int
    public_fraction: float
    check_run: bool
    limits: dict[str, Any]


@dataclass(frozen=True)
class DataSpec:
    name: str
    file: str  # relative to the bundle root
    visibility: str
    description: str


@dataclass(frozen=True)
class BundleMetric:
    """A metric as a bundle's manifest declares it (the task type's own is a ``MetricSpec``)."""

    task: str
    key: str
    label: str
    direction: str
    precision: int
    primary: bool
    description: str = ""


@dataclass(frozen=True)
class BaselineSpec:
    name: str
    role: str
    task: str
    path: str  # relative to the bundle root
    description: str


@dataclass
class BundleSpec:
    root: Path
    slug: str
    title: str
    description: str
    description_file: str
    scenario: str
    task: str
    attack_tasks: list[str]
    published: bool
    options: dict[str, Any]
    schema: dict[str, Any]
    data: list[DataSpec] = field(default_factory=list)
    phases: list[PhaseSpec] = field(default_factory=list)
    metrics: list[BundleMetric] = field(default_factory=list)
    baselines: list[BaselineSpec] = field(default_factory=list)
    starting_kit: str | None = None


class _Checker:
    """Collects every mistake instead of stopping at the first, so an organizer fixes all at once."""

    def __init__(self, root: Path):
        self.root = root
        self.errors: list[tuple[str, str]] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def mapping(self, value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping, got {_show(value)}")
            return {}
        return value

    def listing(self, value: Any, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, f"expected a list, got {_show(value)}")
            return []
        return value

    def text(self, raw: dict, key: str, path: str, *, required: bool = True, default: str = "") -> str:
        value = raw.get(key)
        if value is None:
            if required:
                self.error(_join(path, key), "is required")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(_join(path, key), f"expected a non-empty text, got {_show(value)}")
            return default
        return value

    def integer(self, raw: dict, key: str, path: str, *, default: int | None, minimum: int = 0, nullable: bool = False):
        if key not in raw:
            return default
        value = raw[key]
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            expected = "a positive integer" if minimum > 0 else "an integer ≥ 0"
            self.error(_join(path, key), f"expected {expected}{' or null' if nullable else ''}, got {_show(value)}")
            return default
        return value

    def number(self, raw: dict, key: str, path: str, *, default: float, low: float, high: float, open_low: bool = False):
        if key not in raw:
            return default
        value = raw[key]
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if not bad:
            bad = value > high or (value <= low if open_low else value < low)
        if bad:
            bracket = "(" if open_low else "["
            self.error(_join(path, key), f"expected a number in {bracket}{low}, {high}], got {_show(value)}")
            return default
        return float(value)

    def boolean(self, raw: dict, key: str, path: str, *, default: bool) -> bool:
        value = raw.get(key, default)
        if not isinstance(value, bool):
            self.error(_join(path, key), f"expected true or false, got {_show(value)}")
            return default
        return value

    def moment(self, raw: dict, key: str, path: str, *, required: bool) -> dt.datetime | None:
        value = raw.get(key)
        if value is None:
            if required:
                self.error(_join(path, key), "is required (an ISO 8601 date and time, e.g. 2026-01-01T00:00:00Z)")
            return None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                self.error(_join(path, key), f"expected an ISO 8601 date and time, got {_show(value)}")
                return None
        else:
            self.error(_join(path, key), f"expected an ISO 8601 date and time, got {_show(value)}")
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)

    def inside(self, relative: Any, path: str, *, kind: str = "file") -> str | None:
        """A path named by the bundle must stay inside it and exist."""
        if not isinstance(relative, str) or not relative.strip():
            self.error(path, f"expected a path inside the bundle, got {_show(relative)}")
            return None
        candidate = Path(relative)
        if candidate.is_absolute() or ".." in candidate.parts:
            self.error(path, f"'{relative}' must be a relative path inside the bundle")
            return None
        full = (self.root / candidate).resolve()
        if not full.is_relative_to(self.root.resolve()):
            self.error(path, f"'{relative}' points outside the bundle")
            return None
        if kind == "file" and not full.is_file():
            self.error(path, f"file '{relative}' is not in the bundle")
            return None
        if kind == "dir" and not full.is_dir():
            self.error(path, f"folder '{relative}' is not in the bundle")
            return None
        if kind == "any" and not full.exists():
            self.error(path, f"'{relative}' is not in the bundle")
            return None
        return candidate.as_posix()


def bundle_read(root: Path) -> BundleSpec:  # noqa: C901 - one check per manifest field, each naming what was wrong
    """Read and check the bundle in folder ``root``."""
    root = Path(root)
    manifest = root / "competition.yaml"
    if not manifest.is_file():
        raise BundleInvalid([("competition.yaml", "the bundle has no competition.yaml at its root")])
    try:
        raw = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise BundleInvalid([("competition.yaml", f"is not valid YAML: {exc}")]) from exc

    c = _Checker(root)
    raw = c.mapping(raw, "competition.yaml")
    if not raw:
        raise BundleInvalid(c.errors or [("competition.yaml", "is empty")])

    known = {
        "slug", "title", "description", "scenario", "task", "attack_tasks", "published", "options",
        "schema", "data", "phases", "metrics", "baselines", "starting_kit",
    }
    for key in raw:
        if key not in known:
            c.error(str(key), f"unknown field (expected one of: {', '.join(sorted(known))})")

    slug = c.text(raw, "slug", "")
    if slug and not SLUG_RE.match(slug):
        c.error("slug", f"expected lowercase letters, digits and single dashes, got {_show(slug)}")
    title = c.text(raw, "title", "")

    description, description_file = "", ""
    if raw.get("description") is not None:
        description_file = c.inside(raw.get("description"), "description") or ""
        if description_file:
            try:
                description = (root / description_file).read_text(encoding="utf-8")
            except UnicodeDecodeError:
                c.error("description", f"'{description_file}' is not UTF-8 text")

    task = c.text(raw, "task", "")
    if task and task not in TASK_TYPES:
        c.error("task", f"unknown task type {_show(task)} (known: {', '.join(sorted(TASK_TYPES))})")
        task = ""
    attack_tasks = []
    for i, name in enumerate(c.listing(raw.get("attack_tasks"), "attack_tasks")):
        if name not in TASK_TYPES or get_task(name).role != "attack":
            attacks = sorted(n for n, t in TASK_TYPES.items() if t.role == "attack")
            c.error(f"attack_tasks[{i}]", f"expected an attack task type ({', '.join(attacks)}), got {_show(name)}")
        else:
            attack_tasks.append(name)
    if attack_tasks and task and get_task(task).role != "defense":
        c.error("attack_tasks", f"an arena pairs attacks with a defense task, but task is {task!r}")

    published = c.boolean(raw, "published", "", default=False)
    options = c.mapping(raw.get("options") or {}, "options")
    schema = _check_schema(c, raw.get("schema"))
    data = _check_data(c, raw.get("data"))
    phases = _check_phases(c, raw.get("phases"))
    tasks = [t for t in [task, *attack_tasks] if t]
    metrics = _check_metrics(c, raw.get("metrics"), tasks)
    baselines = _check_baselines(c, raw.get("baselines"), tasks)
    starting_kit = None
    if raw.get("starting_kit") is not None:
        starting_kit = c.inside(raw["starting_kit"], "starting_kit", kind="dir")

    names = {d.name for d in data}
    for name in tasks:
        for required, visibility in get_task(name).data_names.items():
            if required in names:
                given = next(d.visibility for d in data if d.name == required)
                if given != visibility:
                    c.error("data", f"dataset '{required}' must be {visibility} for task {name}, not {given}")
            elif not attack_tasks or name == task:
                c.error("data", f"task {name} needs a dataset named '{required}' ({visibility})")
    if attack_tasks and "identities" not in names and "reidentification" in attack_tasks:
        c.error("data", "an arena with reidentification attacks needs a hidden dataset named 'identities'")
    _, game_errors = game_config_read(options, datasets=names,
                                      baseline_attacks={b.name for b in baselines if b.role == "attack"})
    for path, message in game_errors:
        c.error(path, message)
    if game_errors == [] and GAME_OPTION in options and task and get_task(task).role != "defense":
        c.error(f"options.{GAME_OPTION}", f"a membership game replays a defense, but task is {task!r}")

    if c.errors:
        raise BundleInvalid(c.errors)

    spec = BundleSpec(
        root=root, slug=slug, title=title, description=description, description_file=description_file,
        scenario=raw.get("scenario") or "", task=task, attack_tasks=attack_tasks,
        published=published, options=options, schema=schema,
        data=data, phases=phases, metrics=metrics, baselines=baselines, starting_kit=starting_kit,
    )
    return spec


def _check_schema(c: _Checker, raw: Any) -> dict[str, Any]:
    raw = c.mapping(raw, "schema")
    if not raw:
        return {}
    id_column = c.text(raw, "id_column", "schema")
    columns = []
    names: set[str] = set()
    for i, col in enumerate(c.listing(raw.get("columns"), "schema.columns")):
        col = c.mapping(col, f"schema.columns[{i}]")
        name = c.text(col, "name", f"schema.columns[{i}]")
        kind = col.get("type")
        if kind not in COLUMN_TYPES:
            c.error(f"schema.columns[{i}].type", f"expected one of {', '.join(COLUMN_TYPES)}, got {_show(kind)}")
        if name in names:
            c.error(f"schema.columns[{i}].name", f"column '{name}' is listed twice")
        for key in col:
            if key not in COLUMN_FIELDS:
                c.error(f"schema.columns[{i}].{key}", f"unknown field (expected one of: {', '.join(COLUMN_FIELDS)})")
        if name:
            names.add(name)
            domain = _check_domain(c, col, kind, f"schema.columns[{i}]")
            hierarchy = _check_hierarchy(c, col, kind, f"schema.columns[{i}]", name, domain.get("categories"))
            columns.append({"name": name, "type": kind, **domain, **({"hierarchy": hierarchy} if hierarchy else {})})
    if not columns and "columns" in raw:
        c.error("schema.columns", "expected at least one column")
    elif "columns" not in raw:
        c.error("schema.columns", "is required")

    def subset(key: str) -> list[str]:
        picked = []
        for i, name in enumerate(c.listing(raw.get(key), f"schema.{key}")):
            if name not in names:
                c.error(f"schema.{key}[{i}]", f"'{name}' is not a column of schema.columns")
            else:
                picked.append(name)
        return picked

    quasi = subset("quasi_identifiers")
    if not quasi and "quasi_identifiers" not in raw:
        c.error("schema.quasi_identifiers", "is required (the columns an attacker may know)")
    sensitive = subset("sensitive")
    target = raw.get("target")
    if target is not None and target not in names:
        c.error("schema.target", f"'{target}' is not a column of schema.columns")
    return {"id_column": id_column, "columns": columns, "quasi_identifiers": quasi, "sensitive": sensitive, "target": target}


def _check_domain(c: _Checker, col: dict, kind: Any, path: str) -> dict[str, Any]:  # noqa: C901 (one check per domain field and kind, each naming its path)
    """A column's optional public domain: ``min``/``max`` (numeric, date) or ``categories``.

    It is metadata anyone may know (a code list, a plausible range), never read from the
    hidden records: differentially private defenses take it as given (docs/bundles.md).
    """
    domain: dict[str, Any] = {}
    if kind in ("numeric", "date"):
        if "categories" in col:
            c.error(f"{path}.categories", f"only categorical columns list categories; this one is {kind}")
        for key in ("min", "max"):
            if key not in col:
                continue
            value = col[key]
            if kind == "numeric" and (isinstance(value, bool) or not isinstance(value, (int, float))):
                c.error(f"{path}.{key}", f"expected a number, got {_show(value)}")
            elif kind == "date":
                value = _iso_date(value)
                if value is None:
                    c.error(f"{path}.{key}", f"expected a date like 2025-01-01, got {_show(col[key])}")
            if value is not None:
                domain[key] = value
        if "min" in domain and "max" in domain and domain["min"] >= domain["max"]:
            c.error(f"{path}.max", f"must be greater than min ({domain['min']}), got {domain['max']}")
    elif kind == "categorical":
        for key in ("min", "max"):
            if key in col:
                c.error(f"{path}.{key}", "only numeric and date columns have bounds; list categories instead")
        if "categories" in col:
            values = col["categories"]
            if not isinstance(values, list) or not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                c.error(f"{path}.categories", f"expected a non-empty list of values, got {_show(values)}")
            elif len({str(v) for v in values}) != len(values):
                c.error(f"{path}.categories", "lists a value twice")
            else:
                domain["categories"] = [str(v) for v in values]
    return domain


def _check_hierarchy(  # noqa: C901 - one check per way a hierarchy can be wrong, each naming its path
    c: _Checker, col: dict, kind: Any, path: str, column: str, categories: list[str] | None
) -> list[list[str]] | None:
    """A categorical column's optional generalisation hierarchy (docs/bundles.md): a CSV file
    of the bundle or a list of rows, each ``[value, group 1, …, root]``. Public, like the
    domain: every team reads it in schema.json."""
    if "hierarchy" not in col:
        return None
    path = f"{path}.hierarchy"
    if kind != "categorical":
        c.error(path, f"only categorical columns take a hierarchy; this one is {kind} (it generalises to intervals)")
        return None
    raw = col["hierarchy"]
    if isinstance(raw, str):
        relative = c.inside(raw, path)
        if relative is None:
            return None
        size = (c.root / relative).stat().st_size
        if size > HIERARCHY_MAX_BYTES:
            c.error(path, f"'{relative}' is {size / 2**20:.0f} MiB; a hierarchy file may hold at most {HIERARCHY_MAX_BYTES // 2**20} MiB")
            return None
        try:
            rows = hierarchy_from_csv((c.root / relative).read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            c.error(path, f"'{relative}' is not UTF-8 text")
            return None
        except csv.Error as exc:
            c.error(path, f"'{relative}' is not valid CSV: {exc}")
            return None
        where = f"'{relative}'"
    elif isinstance(raw, list) and all(isinstance(r, list) for r in raw):
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for r in raw for v in r):
            c.error(path, "expected rows of text values [value, group 1, …, root]")
            return None
        rows = [[str(v).strip() for v in r] for r in raw]
        where = "the list"
    else:
        c.error(path, f"expected a CSV file inside the bundle or a list of rows [value, group 1, …, root], got {_show(raw)}")
        return None
    if len(rows) > HIERARCHY_MAX_ROWS:
        c.error(path, f"{where} has {len(rows)} rows; at most {HIERARCHY_MAX_ROWS} values are supported")
        return None
    if rows and len(rows[0]) > HIERARCHY_MAX_LEVELS + 1:
        c.error(path, f"{where} has {len(rows[0]) - 1} levels of groups; at most {HIERARCHY_MAX_LEVELS} are supported")
        return None
    try:
        hierarchy = hierarchy_read(rows, column)
    except ValueError as exc:
        c.error(path, f"{where}: {exc}")
        return None
    ambiguous = hierarchy.ambiguous_labels()
    if ambiguous:
        c.error(path, f"{where}: {_show(ambiguous[:5])} name(s) both a value and a group of other values; "
                      "a release cell holding one could mean either: rename the group")
    if categories is not None:
        unlisted = [v for v in categories if v not in hierarchy.leaves]
        if unlisted:
            c.error(path, f"{where} has no row for the categories {_show(unlisted[:10])}; every category needs one")
    return [list(r) for r in hierarchy.rows]


def file_stem(text: str) -> str:
    """``text`` as a file name of a bundle: letters, digits, ``-`` and ``_``, the rest ``_``."""
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text) or "_"


def hierarchy_files_write(schema: dict, dest: Path) -> dict:
    """``schema`` as competition.yaml gives it, each column's hierarchy rows written to
    ``hierarchies/<column>.csv`` under ``dest`` (the layout :func:`_check_hierarchy` reads)."""
    if not schema:
        return schema
    columns = []
    used: set[str] = set()
    for column in schema.get("columns", []):
        if column.get("hierarchy"):
            name = file_stem(column["name"])
            while name.lower() in used:  # two names that differ only in case or odd characters
                name += "_"
            used.add(name.lower())
            relative = f"hierarchies/{name}.csv"
            (dest / "hierarchies").mkdir(parents=True, exist_ok=True)
            (dest / relative).write_text(hierarchy_csv(column["hierarchy"]), encoding="utf-8")
            column = {**column, "hierarchy": relative}
        columns.append(column)
    return {**schema, "columns": columns}


def _iso_date(value: Any) -> str | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            return None
    return None


def _check_data(c: _Checker, raw: Any) -> list[DataSpec]:
    data: list[DataSpec] = []
    items = c.listing(raw, "data")
    if raw is None:
        c.error("data", "is required (the files of the competition)")
    seen: set[str] = set()
    for i, item in enumerate(items):
        path = f"data[{i}]"
        item = c.mapping(item, path)
        name = c.text(item, "name", path)
        if name and not re.match(r"^[a-z][a-z0-9_]*$", name):
            c.error(f"{path}.name", f"expected lowercase letters, digits and underscores, got {_show(name)}")
        if name in seen:
            c.error(f"{path}.name", f"dataset '{name}' is listed twice")
        seen.add(name)
        visibility = item.get("visibility")
        if visibility not in ("public", "hidden"):
            c.error(f"{path}.visibility", f"expected public or hidden, got {_show(visibility)}")
        file = c.inside(item.get("file"), f"{path}.file")
        if name and file and visibility in ("public", "hidden"):
            data.append(DataSpec(name=name, file=file, visibility=visibility, description=item.get("description") or ""))
    return data


def _check_phases(c: _Checker, raw: Any) -> list[PhaseSpec]:
    phases: list[PhaseSpec] = []
    items = c.listing(raw, "phases")
    if not items:
        c.error("phases", "expected at least one phase")
    names: set[str] = set()
    for i, item in enumerate(items):
        path = f"phases[{i}]"
        item = c.mapping(item, path)
        name = c.text(item, "name", path)
        if name in names:
            c.error(f"{path}.name", f"phase '{name}' is listed twice")
        names.add(name)
        start = c.moment(item, "start", path, required=True)
        end = c.moment(item, "end", path, required=False)
        if start and end and end <= start:
            c.error(f"{path}.end", "must be after start")
        limits_raw = c.mapping(item.get("limits") or {}, f"{path}.limits")
        limits = dict(DEFAULT_LIMITS)
        for key, value in limits_raw.items():
            kind = LIMIT_FIELDS.get(key)
            if kind is None:
                c.error(f"{path}.limits.{key}", f"unknown limit (expected one of: {', '.join(LIMIT_FIELDS)})")
                continue
            bad = isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int))
            minimum = -1 if key == "gpus" else 0
            if bad or value < minimum or (key != "gpus" and value == 0):
                expected = "an integer" if kind is int else "a number"
                c.error(f"{path}.limits.{key}", f"expected {expected} > 0{' (or -1 for all GPUs, 0 for none)' if key == 'gpus' else ''}, got {_show(value)}")
                continue
            limits[key] = kind(value)
        phases.append(
            PhaseSpec(
                name=name,
                start=start or dt.datetime.now(dt.timezone.utc),
                end=end,
                max_submissions_per_day=c.integer(item, "max_submissions_per_day", path, default=5, minimum=1),
                max_submissions_total=c.integer(item, "max_submissions_total", path, default=None, minimum=1, nullable=True),
                max_final_selections=c.integer(item, "max_final_selections", path, default=2, minimum=1),
                max_team_size=c.integer(item, "max_team_size", path, default=5, minimum=1),
                public_fraction=c.number(item, "public_fraction", path, default=0.5, low=0.0, high=1.0, open_low=True),
                check_run=c.boolean(item, "check_run", path, default=True),
                limits=limits,
            )
        )
    return phases


def _check_metrics(c: _Checker, raw: Any, tasks: list[str]) -> list[BundleMetric]:
    """Organizer metrics override the task's defaults by key; unknown keys are mistakes."""
    overrides: dict[tuple[str, str], dict] = {}
    for i, item in enumerate(c.listing(raw, "metrics")):
        path = f"metrics[{i}]"
        item = c.mapping(item, path)
        key = c.text(item, "key", path)
        task = item.get("task") or (tasks[0] if tasks else "")
        if task not in tasks:
            c.error(f"{path}.task", f"expected one of the competition's tasks ({', '.join(tasks)}), got {_show(task)}")
            continue
        known = {m.key for m in get_task(task).metrics}
        if key and key not in known:
            c.error(f"{path}.key", f"task {task} computes no metric {_show(key)} (it computes: {', '.join(sorted(known))})")
            continue
        direction = item.get("direction")
        if direction is not None and direction not in ("higher", "lower"):
            c.error(f"{path}.direction", f"expected higher or lower, got {_show(direction)}")
        if "precision" in item:
            c.integer(item, "precision", path, default=4, minimum=0)
        if "primary" in item:
            c.boolean(item, "primary", path, default=False)
        overrides[(task, key)] = item

    metrics: list[BundleMetric] = []
    for task in tasks:
        defaults = get_task(task).metrics
        task_overrides = {k: v for (t, k), v in overrides.items() if t == task}
        any_primary = any(v.get("primary") is True for v in task_overrides.values())
        for spec in defaults:
            o = task_overrides.get(spec.key, {})
            metrics.append(
                BundleMetric(
                    task=task,
                    key=spec.key,
                    label=o.get("label") or spec.label,
                    direction=o.get("direction") or spec.direction,
                    precision=o.get("precision", spec.precision),
                    primary=bool(o.get("primary")) if any_primary else spec.primary,
                    description=o.get("description") or spec.description,
                )
            )
        if sum(m.primary for m in metrics if m.task == task) != 1:
            c.error("metrics", f"task {task} needs exactly one primary metric")
    return metrics


def _check_baselines(c: _Checker, raw: Any, tasks: list[str]) -> list[BaselineSpec]:
    baselines: list[BaselineSpec] = []
    names: set[str] = set()
    for i, item in enumerate(c.listing(raw, "baselines")):
        path = f"baselines[{i}]"
        item = c.mapping(item, path)
        name = c.text(item, "name", path)
        if name in names:
            c.error(f"{path}.name", f"baseline '{name}' is listed twice")
        names.add(name)
        role = item.get("role")
        if role not in ("defense", "attack"):
            c.error(f"{path}.role", f"expected defense or attack, got {_show(role)}")
            continue
        role_tasks = [t for t in tasks if get_task(t).role == role]
        task = item.get("task") or (role_tasks[0] if len(role_tasks) == 1 else None)
        if task not in role_tasks:
            c.error(f"{path}.task", f"expected one of this competition's {role} tasks ({', '.join(role_tasks) or 'none'}), got {_show(task)}")
            continue
        location = c.inside(item.get("path"), f"{path}.path", kind="any")
        if name and location:
            baselines.append(BaselineSpec(name=name, role=role, task=task, path=location, description=item.get("description") or ""))
    return baselines


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
