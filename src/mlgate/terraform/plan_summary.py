"""What a Terraform plan changes, as data: the parsed plan model, its fingerprint, sensitive-value masking.

Pure functions over the JSON plan (`terraform show -json PLANFILE`):

- `summarize_plan(plan)` → `PlanSummary`: counts to add / change / destroy / replace / move / import /
  forget, output changes, changes made outside Terraform (`resource_drift`), per-resource entries
  (`ResourceChange`, `OutputChange`).
- `fingerprint` (on the summary): `sha256:` of the *normalized* resource and output changes — address,
  actions, the attributes that change (before/after, sensitive values masked, unknowns marked), moves,
  imports. Refresh noise (prior state, timestamps, unchanged attributes, no-op resources, drift) is not
  part of it, so re-planning an unchanged configuration gives the same fingerprint. `digests()` gives
  one digest per resource, so `tf-apply` can say *which* resources changed since review.
- masking: every value is masked where the plan marks it sensitive (`mask`), and `scrub` removes from
  the full plan text (Terraform's own rendering, already masked) any sensitive string the JSON plan
  knows about (`sensitive_strings`). A sensitive value that changes is shown as
  `(sensitive value changed)` on its attribute (Terraform's own plan shows `~ input`), and the
  fingerprint covers the planned sensitive values through one slow salted hash per plan
  (`sensitive_digest`, scrypt), so `tf-apply` refuses a secret change nobody reviewed while the
  fingerprint, the digests and the result never carry the value, nor a hash of it that is cheap to
  test guesses against.

The plan is checked against the shape of `terraform show -json` first (`plan_format.validate_plan`):
anything else is a `PlanFormatError`, never "No changes". How the summary is shown to a reviewer (the PR
comment and its hidden header) is `comments`.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mlgate.terraform.plan_format import validate_plan

SENSITIVE = "(sensitive value)"
SENSITIVE_CHANGED = "(sensitive value changed)"
UNKNOWN = "(known after apply)"
#: scrypt cost of the sensitive-value digest (one per plan): the interactive-login parameters, so the
#: published fingerprint is no cheap oracle for guessing a secret (docs/benchmarks.md)
SENSITIVE_DIGEST_COST = {"n": 2**14, "r": 8, "p": 1}
#: the entry of `PlanSummary.digests()` that stands for every planned sensitive value
SENSITIVE_ENTRY = "(sensitive values)"
_ABSENT = object()


# -- masking ------------------------------------------------------------------------------------------
def _any_marked(sensitive: Any) -> bool:
    if isinstance(sensitive, dict):
        return any(_any_marked(v) for v in sensitive.values())
    if isinstance(sensitive, list):
        return any(_any_marked(v) for v in sensitive)
    return sensitive is True


def mask(value: Any, sensitive: Any, other: Any = _ABSENT) -> Any:
    """`value` with every part that `sensitive` (Terraform's marker structure) flags replaced.

    With `other` (the value on the other side of the change), a flagged part that differs from its
    counterpart becomes `(sensitive value changed)`. A marker structure that does not fit the value's
    shape masks the whole value (fail closed: a value is shown only where the plan says it may be).
    """
    if sensitive is True:
        return SENSITIVE_CHANGED if other is not _ABSENT and other != value else SENSITIVE
    if isinstance(value, dict) and isinstance(sensitive, dict):
        others = other if isinstance(other, dict) else {}
        return {k: mask(v, sensitive.get(k, False), others.get(k, _ABSENT)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        others_list = other if isinstance(other, list) else []
        return [
            mask(
                v,
                sensitive[i] if i < len(sensitive) else False,
                others_list[i] if i < len(others_list) else _ABSENT,
            )
            for i, v in enumerate(value)
        ]
    if value is not None and _any_marked(sensitive):
        return SENSITIVE
    return value


def sensitive_parts(value: Any, sensitive: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every `(path, value)` that `sensitive` flags, in a stable order (what `sensitive_digest` hashes)."""
    if sensitive is True:
        return [(path, value)]
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return [
            part
            for key in sorted(value)
            for part in sensitive_parts(value[key], sensitive.get(key, False), f"{path}.{key}")
        ]
    if isinstance(value, list) and isinstance(sensitive, list):
        return [
            part
            for i, item in enumerate(value)
            for part in sensitive_parts(item, sensitive[i] if i < len(sensitive) else False, f"{path}[{i}]")
        ]
    if value is not None and _any_marked(sensitive):
        return [(path, value)]
    return []


def sensitive_digest(parts: dict[str, list[tuple[str, Any]]]) -> str:
    """One salted scrypt digest of every planned sensitive value, by address ('' when there is none).

    It goes into the fingerprint so that a changed secret changes it. One slow hash per plan (not per
    resource) keeps a plan with thousands of secrets fast, and keeps the published fingerprint from being
    a cheap test of guessed secrets: every guess costs one scrypt.
    """
    found = {name: items for name, items in parts.items() if items}
    if not found:
        return ""
    text = json.dumps(found, sort_keys=True, separators=(",", ":"), default=str).encode("utf-8")
    password = hashlib.sha256(text).digest()
    salt = b"mlgate-sensitive-v1"
    return hashlib.scrypt(password, salt=salt, dklen=16, maxmem=64 * 2**20, **SENSITIVE_DIGEST_COST).hex()


def mark_unknown(value: Any, unknown: Any) -> Any:
    """`value` with every part that `after_unknown` flags set to `(known after apply)` (added if absent)."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict) and any(unknown.values()):
        base = dict(value) if isinstance(value, dict) else {}
        for key, flag in unknown.items():
            if flag:
                base[key] = mark_unknown(base.get(key), flag)
        return base
    if isinstance(value, list) and isinstance(unknown, list):
        return [mark_unknown(v, unknown[i] if i < len(unknown) else False) for i, v in enumerate(value)]
    return value


def sensitive_strings(plan: dict[str, Any]) -> set[str]:
    """Every string value the plan marks sensitive (resources, outputs, sensitive root variables)."""
    found: set[str] = set()

    def collect(value: Any, sensitive: Any) -> None:
        if sensitive is True:
            for leaf in _leaves(value):
                if isinstance(leaf, str | int | float) and not isinstance(leaf, bool):
                    text = str(leaf)
                    if len(text) >= 4:
                        found.add(text)
        elif isinstance(value, dict) and isinstance(sensitive, dict):
            for key, item in value.items():
                collect(item, sensitive.get(key, False))
        elif isinstance(value, list) and isinstance(sensitive, list):
            for i, item in enumerate(value):
                collect(item, sensitive[i] if i < len(sensitive) else False)

    for entry in [*plan.get("resource_changes", []), *plan.get("resource_drift", [])]:
        change = entry.get("change", {})
        collect(change.get("before"), change.get("before_sensitive"))
        collect(change.get("after"), change.get("after_sensitive"))
    for change in plan.get("output_changes", {}).values():
        collect(change.get("before"), change.get("before_sensitive"))
        collect(change.get("after"), change.get("after_sensitive"))
    declared = ((plan.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, spec in declared.items():
        if isinstance(spec, dict) and spec.get("sensitive"):
            collect((plan.get("variables") or {}).get(name, {}).get("value"), True)
    return found


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def scrub(text: str, secrets: set[str]) -> str:
    """Replace every known sensitive string in `text` (longest first, so substrings can't leak).

    Thousands of secrets against a comment-sized text: a secret whose first 8 characters never occur
    in the text cannot occur either, so a set of the text's 8-grams skips most searches.
    """
    if not secrets:
        return text
    grams = {text[i : i + 8] for i in range(len(text) - 7)} if len(text) <= 300_000 else None
    for secret in sorted(secrets, key=len, reverse=True):
        if grams is not None and len(secret) >= 8 and secret[:8] not in grams:
            continue
        text = text.replace(secret, SENSITIVE)
    return text


# -- one resource change ----------------------------------------------------------------------------------
def action_label(actions: list[str]) -> str:
    """Terraform's action list → one label: create, update, delete, replace, read, forget or no-op."""
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1 and actions[0] in {"create", "update", "delete", "read", "forget", "no-op"}:
        return actions[0]
    return "-".join(actions) or "no-op"


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: str  # create, update, delete, replace, read, forget, no-op
    previous_address: str = ""
    import_id: str = ""
    reason: str = ""
    #: attribute -> (before, after), sensitive values masked, unknowns marked
    changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    normalized: dict[str, Any] = field(default_factory=dict)
    #: the planned sensitive values, `(path, value)` (only hashed, into `PlanSummary.sensitive_digest`)
    planned_sensitive: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    @property
    def moved(self) -> bool:
        return bool(self.previous_address) and self.previous_address != self.address

    @property
    def is_change(self) -> bool:
        return self.action not in {"no-op"} or self.moved or bool(self.import_id)

    #: sha256 of `normalized`, computed once
    sha: str = ""

    @property
    def digest(self) -> str:
        return self.sha[:16]


def _changed_attributes(change: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    raw_before = change.get("before")
    before = mask(raw_before, change.get("before_sensitive", False))
    after = mark_unknown(
        mask(
            change.get("after"),
            change.get("after_sensitive", False),
            raw_before if raw_before is not None else _ABSENT,
        ),
        change.get("after_unknown", False),
    )
    if not isinstance(before, dict):
        before = {}
    if not isinstance(after, dict):
        after = {}
    return {
        key: (before.get(key), after.get(key))
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def normalize_change(entry: dict[str, Any]) -> ResourceChange:
    """One `resource_changes` entry → what a reviewer approves (and what the fingerprint covers)."""
    change = entry.get("change", {})
    actions = list(change.get("actions", ["no-op"]))
    label = action_label(actions)
    address = str(entry.get("address", ""))
    previous = str(entry.get("previous_address", "") or "")
    importing = change.get("importing") or {}
    import_id = str(importing.get("id") or importing.get("identity") or "") if importing else ""
    if label == "delete":
        # the refreshed "before" of a resource being destroyed is noise: only the destroy is reviewed
        changed: dict[str, tuple[Any, Any]] = {}
    else:
        changed = _changed_attributes(change) if label not in {"no-op", "read", "forget"} else {}
    normalized: dict[str, Any] = {
        "address": address,
        "actions": actions,
        "changed": {k: list(v) for k, v in changed.items()},
    }
    if previous and previous != address:
        normalized["previous_address"] = previous
    if import_id:
        normalized["import_id"] = import_id
    if change.get("replace_paths"):
        normalized["replace_paths"] = change["replace_paths"]
    planned = []
    if label not in {"delete", "no-op", "read", "forget"}:
        planned = sensitive_parts(change.get("after"), change.get("after_sensitive"))
    return ResourceChange(
        sha=_sha256(normalized),
        address=address,
        action=label,
        previous_address=previous,
        import_id=import_id,
        reason=str(entry.get("action_reason", "") or ""),
        changed=changed,
        normalized=normalized,
        planned_sensitive=planned,
    )


@dataclass(frozen=True)
class OutputChange:
    name: str
    action: str
    before: Any
    after: Any
    #: the planned sensitive values, `(path, value)` (only hashed, into `PlanSummary.sensitive_digest`)
    planned_sensitive: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    @property
    def normalized(self) -> dict[str, Any]:
        return {"name": self.name, "action": self.action, "before": self.before, "after": self.after}


# -- the whole plan ---------------------------------------------------------------------------------------
@dataclass
class PlanSummary:
    resources: list[ResourceChange]
    outputs: list[OutputChange]
    drift: list[ResourceChange]
    errored: bool = False
    terraform_version: str = ""

    @property
    def changes(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.is_change]

    @property
    def counts(self) -> dict[str, int]:
        by_action = Counter(r.action for r in self.resources)
        return {
            "add": by_action["create"] + by_action["replace"],
            "change": by_action["update"],
            "destroy": by_action["delete"] + by_action["replace"],
            "replace": by_action["replace"],
            "move": sum(1 for r in self.resources if r.moved),
            "import": sum(1 for r in self.resources if r.import_id),
            "forget": by_action["forget"],
            "outputs": len(self.outputs),
            "drift": len(self.drift),
        }

    @property
    def has_changes(self) -> bool:
        return bool(self.outputs) or any(r.action != "read" for r in self.changes)

    @property
    def destructive(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.action in {"delete", "replace"}]

    @property
    def only_outputs(self) -> bool:
        return bool(self.outputs) and not any(r.action != "read" for r in self.changes)

    def normalized(self) -> dict[str, Any]:
        return {
            "resources": sorted((r.normalized for r in self.changes), key=lambda n: n["address"]),
            "outputs": sorted((o.normalized for o in self.outputs), key=lambda n: n["name"]),
        }

    @cached_property
    def sensitive_digest(self) -> str:
        """The scrypt digest of every planned sensitive value of the changes ('' when there is none)."""
        parts = {r.address: r.planned_sensitive for r in self.changes}
        parts.update({f"output.{o.name}": o.planned_sensitive for o in self.outputs})
        return sensitive_digest(parts)

    @cached_property
    def fingerprint(self) -> str:
        """sha256 over the sorted per-change sha256 digests (each of one normalized change), and the
        digest of the planned sensitive values when there are any."""
        resources = sorted((r.address, r.sha) for r in self.changes)
        outputs = sorted((o.name, _sha256(o.normalized)) for o in self.outputs)
        covered: dict[str, Any] = {"resources": resources, "outputs": outputs}
        if self.sensitive_digest:
            covered["sensitive"] = self.sensitive_digest
        return "sha256:" + _sha256(covered)

    def digests(self) -> dict[str, str]:
        """Per-resource (and `output.<name>`) digests: what `tf-apply` compares to name what changed;
        `(sensitive values)` stands for every planned sensitive value (which resource's is not said)."""
        found = {r.address: f"{r.action}:{r.digest}" for r in self.changes}
        found.update({f"output.{o.name}": f"{o.action}:{_sha256(o.normalized)[:16]}" for o in self.outputs})
        if self.sensitive_digest:
            found[SENSITIVE_ENTRY] = f"sensitive:{self.sensitive_digest[:16]}"
        return found


def summarize_plan(plan: Any, *, validated: bool = False) -> PlanSummary:
    """Terraform's JSON plan → `PlanSummary` (`PlanFormatError` when it is not one).

    `validated=True` skips the shape check for a plan that `plan_format.parse_plan` already returned.
    """
    if not validated:
        plan = validate_plan(plan)
    resources = [normalize_change(entry) for entry in plan.get("resource_changes") or []]
    drift = [normalize_change(entry) for entry in plan.get("resource_drift") or []]
    outputs = []
    for name, change in sorted((plan.get("output_changes") or {}).items()):
        label = action_label(list(change.get("actions", ["no-op"])))
        if label == "no-op":
            continue
        raw_before = change.get("before")
        before = mask(raw_before, change.get("before_sensitive", False))
        after = mask(
            change.get("after"),
            change.get("after_sensitive", False),
            raw_before if label != "create" else _ABSENT,
        )
        if change.get("after_unknown") is True:
            after = UNKNOWN
        parts = []
        if label != "delete":
            parts = sensitive_parts(change.get("after"), change.get("after_sensitive", False))
        outputs.append(OutputChange(name, label, before, after, parts))
    return PlanSummary(
        resources=resources,
        outputs=outputs,
        drift=[d for d in drift if d.action != "no-op"],
        errored=bool(plan.get("errored")),
        terraform_version=str(plan.get("terraform_version", "")),
    )


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
