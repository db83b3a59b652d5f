"""The pure core of the Terraform gates: summary, fingerprint, masking, header, diff and comment size."""

from __future__ import annotations

import copy
from typing import Any

from mlgate.github import COMMENT_LIMIT, render_comment
from mlgate.terraform.checkov import parse_report
from mlgate.terraform.comments import (
    OUTCOME_END,
    OUTCOME_START,
    diff_reviewed,
    encode_header,
    read_plan_header,
    render_plan_details,
    render_plan_summary,
    with_outcome,
)
from mlgate.terraform.plan_summary import (
    SENSITIVE,
    SENSITIVE_CHANGED,
    SENSITIVE_ENTRY,
    UNKNOWN,
    mark_unknown,
    mask,
    sensitive_strings,
    summarize_plan,
)


def change(
    address: str, actions: list[str], before: Any = None, after: Any = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "actions": actions,
        "before": before,
        "after": after,
        "after_unknown": extra.pop("after_unknown", {}),
        "before_sensitive": extra.pop("before_sensitive", {}),
        "after_sensitive": extra.pop("after_sensitive", {}),
    }
    body.update(extra.pop("change", {}))
    return {"address": address, "mode": "managed", "change": body, **extra}


def sample_plan() -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "timestamp": "2026-11-26T23:00:00Z",
        "prior_state": {"values": {"whatever": 1}},
        "resource_changes": [
            change("terraform_data.new", ["create"], None, {"input": "x"}, after_unknown={"id": True}),
            change(
                "terraform_data.upd",
                ["update"],
                {"id": "1", "input": {"name": "a", "password": "hunter22"}, "tags": {"t": "same"}},
                {"id": "1", "input": {"name": "b", "password": "hunter22"}, "tags": {"t": "same"}},
                before_sensitive={"input": {"password": True}},
                after_sensitive={"input": {"password": True}},
            ),
            change("terraform_data.gone", ["delete"], {"id": "2", "input": "bye"}, None),
            change(
                "terraform_data.rep",
                ["delete", "create"],
                {"id": "3", "triggers_replace": [1]},
                {"triggers_replace": [2]},
                after_unknown={"id": True},
                change={"replace_paths": [["triggers_replace"]]},
                action_reason="replace_because_cannot_update",
            ),
            change("terraform_data.same", ["no-op"], {"id": "4", "input": "k"}, {"id": "4", "input": "k"}),
            change(
                "terraform_data.moved_to",
                ["no-op"],
                {"id": "5"},
                {"id": "5"},
                previous_address="terraform_data.moved_from",
            ),
        ],
        "output_changes": {
            "url": {"actions": ["update"], "before": "a", "after": "b"},
            "token": {
                "actions": ["create"],
                "before": None,
                "after": "s3cr3t-token",
                "after_sensitive": True,
            },
            "same": {"actions": ["no-op"], "before": "x", "after": "x"},
        },
        "resource_drift": [
            change(
                "terraform_data.upd", ["update"], {"id": "1", "input": "old"}, {"id": "1", "input": "drifted"}
            )
        ],
    }


def test_counts_follow_terraform_and_add_replace_move_outputs_drift() -> None:
    summary = summarize_plan(sample_plan())
    counts = summary.counts
    # like "Plan: 2 to add, 1 to change, 2 to destroy": a replace counts once in add and once in destroy
    assert (counts["add"], counts["change"], counts["destroy"]) == (2, 1, 2)
    assert (counts["replace"], counts["move"], counts["import"]) == (1, 1, 0)
    assert [o.name for o in summary.outputs] == ["token", "url"]  # the no-op output is not a change
    assert counts["drift"] == 1
    assert summary.has_changes and not summary.only_outputs
    assert [r.address for r in summary.destructive] == ["terraform_data.gone", "terraform_data.rep"]


def test_mask_and_unknown_follow_the_plans_own_markers() -> None:
    value = {"a": "open", "b": {"c": "secret", "d": ["x", "y"]}}
    assert mask(value, {"b": {"c": True, "d": [False, True]}}) == {
        "a": "open",
        "b": {"c": SENSITIVE, "d": ["x", SENSITIVE]},
    }
    assert mask("whole", True) == SENSITIVE
    assert mark_unknown({"name": "n"}, {"id": True, "name": False}) == {"name": "n", "id": UNKNOWN}
    assert mark_unknown({"input": None}, {"input": {}}) == {"input": None}


def test_sensitive_values_never_reach_the_rendered_comment() -> None:
    plan = sample_plan()
    plan["configuration"] = {"root_module": {"variables": {"db_password": {"sensitive": True}}}}
    plan["variables"] = {"db_password": {"value": "pa55word-from-var"}}
    secrets = sensitive_strings(plan)
    assert {"hunter22", "s3cr3t-token", "pa55word-from-var"} <= secrets
    summary = summarize_plan(plan)
    text = render_plan_summary(summary, title="x") + render_plan_details(summary, "plan text", budget=50_000)
    assert "hunter22" not in text and "s3cr3t-token" not in text
    assert SENSITIVE in text  # the reviewer sees that something sensitive changes
    assert '"name": "b"' in text  # non-sensitive values are shown


def test_fingerprint_ignores_refresh_noise() -> None:
    plan = sample_plan()
    noisy = copy.deepcopy(plan)
    noisy["timestamp"] = "2027-01-01T00:00:00Z"
    noisy["prior_state"] = {"values": {"other": 2}}
    noisy["resource_drift"] = []
    # a no-op resource whose refreshed state moved, an unchanged attribute of an updated resource that
    # moved, and the refreshed "before" of a resource being destroyed: none of it is what is reviewed
    noisy["resource_changes"][4]["change"]["before"]["input"] = "refreshed"
    noisy["resource_changes"][4]["change"]["after"]["input"] = "refreshed"
    noisy["resource_changes"][2]["change"]["before"]["input"] = "refreshed"
    noisy["resource_changes"].reverse()
    assert summarize_plan(noisy).fingerprint == summarize_plan(plan).fingerprint


def test_fingerprint_changes_with_any_reviewed_change() -> None:
    base = summarize_plan(sample_plan()).fingerprint
    variants = []
    p = sample_plan()
    p["resource_changes"][0]["change"]["after"]["input"] = "y"  # a created value
    variants.append(p)
    p = sample_plan()
    p["resource_changes"][2]["change"]["actions"] = ["no-op"]  # no longer destroyed
    variants.append(p)
    p = sample_plan()
    p["resource_changes"].append(change("terraform_data.extra", ["create"], None, {"input": 1}))
    variants.append(p)
    p = sample_plan()
    p["output_changes"]["url"]["after"] = "c"
    variants.append(p)
    prints = {summarize_plan(v).fingerprint for v in variants}
    assert base not in prints and len(prints) == len(variants)


def test_header_round_trip_and_resource_level_diff() -> None:
    reviewed_summary = summarize_plan(sample_plan())
    body = "<!-- mlgate:tf-plan:envs/prod@default -->\n" + encode_header(
        reviewed_summary, key="envs/prod@default", sha="abc"
    )
    reviewed = read_plan_header(body)
    assert reviewed is not None
    assert reviewed.fingerprint == reviewed_summary.fingerprint and reviewed.sha == "abc"
    assert reviewed.changes and reviewed.destroy

    later = sample_plan()
    later["resource_changes"][0]["change"]["after"]["input"] = "changed"
    later["resource_changes"][2]["change"]["actions"] = ["no-op"]
    later["resource_changes"].append(change("terraform_data.sneaky", ["delete"], {"id": "9"}, None))
    diff = diff_reviewed(reviewed, summarize_plan(later))
    assert any("terraform_data.new" in line and "different values" in line for line in diff)
    assert any("terraform_data.gone" in line and "not planned now" in line for line in diff)
    assert any("terraform_data.sneaky" in line and "not in the reviewed plan" in line for line in diff)
    assert len(diff) == 3
    assert read_plan_header("no header here") is None
    assert read_plan_header("<!-- mlgate:tf-plan:header not-base64! -->") is None


def big_plan(n: int) -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "resource_changes": [
            change(f'module.m.terraform_data.r["item-{i:05d}"]', ["create"], None, {"input": f"value-{i}"})
            for i in range(n)
        ],
    }


def test_a_huge_plan_fits_the_comment_and_keeps_summary_and_fingerprint() -> None:
    summary = summarize_plan(big_plan(10_000))
    plan_text = "\n".join(f"  + resource {i}" for i in range(200_000))
    head = encode_header(summary, key="k")
    top = head + "\n" + render_plan_summary(summary, title="k")
    details = render_plan_details(summary, plan_text, budget=COMMENT_LIMIT - len(top) - 3_100)
    body = render_comment("<!-- mlgate:tf-plan:k -->", top, details)
    assert len(body) <= COMMENT_LIMIT
    assert "plan cut to fit" in body and "+ resource 0" in body and "+ resource 199999" in body
    reviewed = read_plan_header(body)
    assert reviewed is not None and reviewed.fingerprint == summary.fingerprint
    assert reviewed.digests is None  # too many resources for per-resource digests: said, not hidden
    assert "too large" in diff_reviewed(reviewed, summary)[0]
    assert "**10000** to add" in body


def test_outcome_block_is_inserted_after_the_marker_and_replaced() -> None:
    body = "<!-- mlgate:tf-plan:k -->\nheader\n### Terraform plan"
    once = with_outcome(body, "**Apply:** refused")
    twice = with_outcome(once, "**Apply:** applied")
    assert twice.startswith("<!-- mlgate:tf-plan:k -->\n" + OUTCOME_START)
    assert twice.count(OUTCOME_START) == 1 and twice.count(OUTCOME_END) == 1
    assert "applied" in twice and "refused" not in twice and twice.endswith("### Terraform plan")


def test_checkov_report_parsing_soft_fail_by_id() -> None:
    raw = [
        {
            "check_type": "terraform",
            "results": {
                "failed_checks": [
                    {
                        "check_id": "CKV_AWS_18",
                        "check_name": "logging",
                        "resource": "aws_s3_bucket.b",
                        "file_path": "/main.tf",
                        "file_line_range": [3, 9],
                    },
                    {
                        "check_id": "CKV2_AWS_6",
                        "check_name": "pab",
                        "resource": "aws_s3_bucket.b",
                        "file_path": "/main.tf",
                        "file_line_range": [3, 9],
                    },
                ]
            },
            "summary": {"passed": 4, "failed": 2, "skipped": 1},
        },
        {"check_type": "secrets", "results": {"failed_checks": []}, "summary": {"passed": 1, "skipped": 0}},
    ]
    findings, passed, skipped = parse_report(raw, soft_fail=["ckv_aws_18"])
    assert (passed, skipped) == (5, 1)
    assert [(f.check_id, f.soft, f.file, f.line) for f in findings] == [
        ("CKV_AWS_18", True, "main.tf", 3),
        ("CKV2_AWS_6", False, "main.tf", 3),
    ]
    # checkov prints a bare summary (no "results") when a directory has nothing to scan
    assert parse_report({"passed": 0, "failed": 0}) == ([], 0, 0)


# -- a change of a sensitive value only (issue 11: it used to drop out of the comment and the fingerprint) --


def secret_change(before: str, after: str) -> dict[str, Any]:
    plan = sample_plan()
    plan["resource_changes"] = [
        change(
            "aws_db_instance.main",
            ["update"],
            {"id": "db-1", "name": "orders", "password": before},
            {"id": "db-1", "name": "orders", "password": after},
            before_sensitive={"password": True},
            after_sensitive={"password": True},
        )
    ]
    plan["output_changes"] = {
        "dsn": {
            "actions": ["update"],
            "before": f"postgres://u:{before}@db",
            "after": f"postgres://u:{after}@db",
            "before_sensitive": True,
            "after_sensitive": True,
        }
    }
    return plan


def test_a_changed_sensitive_value_is_shown_as_changed_and_changes_the_fingerprint() -> None:
    reviewed = summarize_plan(secret_change("old-pa55word", "new-pa55word"))
    (db,) = reviewed.changes
    assert db.changed == {"password": (SENSITIVE, SENSITIVE_CHANGED)}
    assert [(o.before, o.after) for o in reviewed.outputs] == [(SENSITIVE, SENSITIVE_CHANGED)]
    text = render_plan_summary(reviewed, title="x") + render_plan_details(reviewed, "", budget=50_000)
    assert "`password`: `(sensitive value)` → `(sensitive value changed)`" in text
    assert "pa55word" not in text

    # the same secret planned again: same fingerprint; another secret: another fingerprint
    assert summarize_plan(secret_change("old-pa55word", "new-pa55word")).fingerprint == reviewed.fingerprint
    other = summarize_plan(secret_change("old-pa55word", "other-pa55word"))
    assert other.fingerprint != reviewed.fingerprint
    # which secret changed is not said (a per-resource hash would be a cheap oracle): one entry for all
    assert other.digests()["aws_db_instance.main"] == reviewed.digests()["aws_db_instance.main"]
    assert other.digests()[SENSITIVE_ENTRY] != reviewed.digests()[SENSITIVE_ENTRY]
    reviewed_header = read_plan_header(encode_header(reviewed, key="k"))
    assert reviewed_header is not None
    (line,) = diff_reviewed(reviewed_header, other)
    assert line.startswith("~ a value the plan marks sensitive differs")
    # neither the header nor the digests carry the secret
    header = encode_header(other, key="k")
    assert "pa55word" not in header and "pa55word" not in str(other.digests())


def test_an_unchanged_sensitive_value_is_not_reported_as_changed() -> None:
    summary = summarize_plan(secret_change("same-pa55word", "same-pa55word"))
    assert summary.changes[0].changed == {}
    assert summary.outputs[0].after == SENSITIVE


def test_markers_that_do_not_fit_the_value_mask_all_of_it() -> None:
    assert mask("s3cr3t", {"password": True}) == SENSITIVE
    assert mask(["s3cr3t"], {"0": True}) == SENSITIVE
    assert mask({"a": "open"}, [True]) == SENSITIVE
    assert mask("open", {}) == "open"
    assert mask(None, {"password": True}) is None
