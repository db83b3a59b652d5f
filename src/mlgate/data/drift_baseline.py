"""A drift baseline a pull request cannot move silently.

The drift check compares new data with a reference profile. If a pull request could rewrite that
profile (the `profile` DVC stage rebuilds it from the new data) and be judged against its own rewrite,
it would move its own baseline: drift could never be seen. So on pull requests:

- the check compares with the **base branch's** profile (`mlgate drift --profile <base copy>`, which the
  generated `ci.yml` takes with `git show "$BASE_SHA:data/reference_profile.json"`), and
- the pull request's own profile is passed as `--proposed-profile`. When it differs from the base's,
  the pull request changes the baseline: the report says so at the top, and the gate fails with
  `baseline-change-unapproved` unless the pull request carries the approval label
  (`drift.baseline_approval_label`, default `approve-baseline-change`). With the label, the new
  baseline is accepted and the data is compared with it (the report still says the baseline changed).

The labels come from the event payload, through `mlgate.github.Runner.pr_labels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mlgate.gate import GateInputError, GateResult

DEFAULT_APPROVAL_LABEL = "approve-baseline-change"
FAILURE_REASON = "baseline-change-unapproved"


@dataclass(frozen=True)
class BaselineChange:
    """The base branch's profile, the pull request's, and whether the change (if any) is approved."""

    base: Path
    proposed: Path
    changed: bool
    approved: bool
    label: str

    @property
    def judged_against(self) -> Path:
        """The profile the data is compared with: the base's, or the proposed one once approved."""
        return self.proposed if self.changed and self.approved else self.base

    def banner(self) -> str:
        """The line at the top of the report ("" when the pull request leaves the baseline alone)."""
        if not self.changed:
            return ""
        if self.approved:
            return (
                f"> ⚠️ **This pull request changes the drift baseline** `{self.proposed}`. Approved by the "
                f"`{self.label}` label: the data is compared with the new profile."
            )
        return (
            f"> ❌ **This pull request changes the drift baseline** `{self.proposed}`, which needs an "
            f"explicit approval: a maintainer adds the `{self.label}` label to the pull request. Until "
            f"then the data is compared with the base branch's profile and the check fails."
        )


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise GateInputError(
            f"{what} not found",
            file=path,
            fix="commit the reference profile (`make profile`); a pull request may not delete it",
            reason="missing-file",
        ) from None
    except OSError as exc:
        raise GateInputError(
            f"{what} cannot be read ({exc.strerror})", file=path, fix="check the file", reason="missing-file"
        ) from None


def baseline_change(base: Path, proposed: Path, labels: Sequence[str], label: str) -> BaselineChange:
    """Compare the two profiles byte for byte (the file a pull request would change) and look for the
    approval label among the pull request's labels."""
    changed = _read(base, "base branch's reference profile") != _read(proposed, "reference profile")
    return BaselineChange(base, proposed, changed, label in labels, label)


def with_baseline_change(result: GateResult, change: BaselineChange) -> GateResult:
    """The drift result with the baseline change on top: an unapproved change fails the gate with its own
    reason (ahead of `data-drift`); an approved one is reported and judged on the drift alone."""
    outputs = {**result.outputs, "baseline-changed": "true" if change.changed else "false"}
    data = {
        **result.data,
        "baseline": {
            "base_profile": str(change.base),
            "proposed_profile": str(change.proposed),
            "changed": change.changed,
            "approved": change.approved,
            "approval_label": change.label,
            "judged_against": str(change.judged_against),
        },
    }
    if not change.changed:
        return replace(result, outputs=outputs, data=data)
    summary = f"{change.banner()}\n\n{result.summary_md}"
    if change.approved:
        return replace(result, summary_md=summary, outputs=outputs, data=data)
    return replace(
        result, passed=False, failure_reason=FAILURE_REASON, summary_md=summary, outputs=outputs, data=data
    )
