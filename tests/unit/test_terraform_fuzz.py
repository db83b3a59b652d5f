"""Property tests (hypothesis) for the parsers of plan JSON and of the event payload (issue 11).

For any input, each parser either accepts it — and then everything downstream works on it: the summary,
the fingerprint, the comment, the PR number — or refuses it with one clear line (`PlanFormatError`,
`EventPayloadError`), never another exception. And a changed sensitive value always changes the
fingerprint without its value appearing in the comment, the header or the digests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mlgate.event_payload import EventPayloadError, parse_event
from mlgate.gate import GateInputError
from mlgate.github import Runner
from mlgate.terraform.comments import encode_header, render_plan_details, render_plan_summary
from mlgate.terraform.plan_format import PlanFormatError, parse_plan
from mlgate.terraform.plan_summary import summarize_plan

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
markers = st.recursive(
    st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abc"), inner, max_size=3),
    max_leaves=8,
)
valid_actions = [["create"], ["update"], ["delete"], ["no-op"], ["read"], ["forget"], ["delete", "create"]]
actions = st.sampled_from([*valid_actions, ["create", "delete"], ["destroy"], [], "update", None])
attribute_values = st.dictionaries(st.sampled_from("abc"), json_values, max_size=3) | json_values


@st.composite
def plan_like(draw: st.DrawFn) -> Any:
    """Mostly plan-shaped JSON with junk in any field, so both sides of the parser are exercised."""
    change = st.fixed_dictionaries(
        {"actions": actions},
        optional={
            "before": attribute_values,
            "after": attribute_values,
            "before_sensitive": markers | json_values,
            "after_sensitive": markers | json_values,
            "after_unknown": markers,
            "importing": st.none() | st.fixed_dictionaries({"id": st.text(max_size=5)}),
            "replace_paths": st.none() | st.lists(st.lists(st.text(max_size=3), max_size=2), max_size=2),
        },
    )
    resource = st.fixed_dictionaries(
        {"address": st.text(min_size=1, max_size=10), "change": change},
        optional={"previous_address": st.none() | st.text(max_size=10), "action_reason": st.text(max_size=5)},
    )
    if draw(st.booleans()):  # plan-shaped: the header right, any of the rest
        required = {"format_version": st.just("1.2"), "terraform_version": st.just("1.11.4")}
        lists = st.lists(resource, max_size=4)
        outputs = st.dictionaries(st.text(max_size=5), change, max_size=3)
    else:  # junk anywhere
        required = {}
        lists = st.lists(resource | json_values, max_size=4) | json_values
        outputs = st.dictionaries(st.text(max_size=5), change, max_size=3) | json_values
    plan = draw(
        st.fixed_dictionaries(
            required,
            optional={
                **(
                    {}
                    if required
                    else {
                        "format_version": st.sampled_from(["1.0", "1.2", "2.0", "", 1.2]),
                        "terraform_version": st.just("1.11.4") | scalars,
                    }
                ),
                "resource_changes": lists,
                "resource_drift": st.lists(resource, max_size=2),
                "output_changes": outputs,
                "variables": st.dictionaries(
                    st.text(max_size=5), st.fixed_dictionaries({"value": json_values}), max_size=2
                ),
                "errored": st.booleans() | scalars,
            },
        )
    )
    return draw(st.just(plan) | json_values) if not required and draw(st.booleans()) else plan


def check_accepted_plan(plan: dict[str, Any]) -> None:
    summary = summarize_plan(plan)
    assert summary.fingerprint.startswith("sha256:")
    text = render_plan_summary(summary, title="x") + render_plan_details(summary, "text", budget=20_000)
    assert isinstance(text, str)
    assert encode_header(summary, key="k")


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_are_a_plan_or_one_clear_error(raw: bytes | str) -> None:
    try:
        plan = parse_plan(raw)
    except PlanFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    check_accepted_plan(plan)


@FUZZ
@given(value=plan_like())
def test_any_json_is_a_plan_or_one_clear_error(value: Any) -> None:
    raw = json.dumps(value)
    try:
        plan = parse_plan(raw)
    except PlanFormatError as exc:
        assert str(exc) and "\n" not in str(exc)
        event("refused")
        return
    event("accepted")
    assert plan["format_version"].startswith("1")
    check_accepted_plan(plan)


# upper case and a prefix: never a word or a (lower-case hex) digest of the rendered comment by chance
secrets = st.from_regex(r"ZQ[0-9A-Z]{6,14}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(old=secrets, first=secrets, second=secrets)
def test_a_changed_secret_always_changes_the_fingerprint_and_never_shows(
    old: str, first: str, second: str
) -> None:
    def plan(value: str) -> dict[str, Any]:
        change = {
            "actions": ["update"],
            "before": {"name": "db", "password": old},
            "after": {"name": "db", "password": value},
            "before_sensitive": {"password": True},
            "after_sensitive": {"password": True},
        }
        return {
            "format_version": "1.2",
            "terraform_version": "1.11.4",
            "resource_changes": [{"address": "aws_db_instance.main", "change": change}],
        }

    a, b = summarize_plan(plan(first)), summarize_plan(plan(second))
    assert (a.fingerprint == b.fingerprint) == (first == second)
    for summary, value in ((a, first), (b, second)):
        shown = render_plan_summary(summary, title="x") + render_plan_details(summary, "", budget=20_000)
        shown += encode_header(summary, key="k") + json.dumps(summary.digests())
        assert value not in shown and old not in shown
        if value != old:
            assert "(sensitive value changed)" in shown


@FUZZ
@given(raw=st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_are_an_event_or_one_clear_error(raw: bytes | str) -> None:
    try:
        event = parse_event(raw)
    except EventPayloadError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(event, dict)


event_like = st.fixed_dictionaries(
    {},
    optional={
        "pull_request": json_values | st.fixed_dictionaries({"number": json_values}),
        "issue": json_values | st.fixed_dictionaries({"number": json_values}),
        "head_commit": json_values | st.fixed_dictionaries({"message": json_values}),
    },
)


@FUZZ
@given(value=event_like | json_values)
def test_any_event_json_gives_a_pr_number_or_one_clear_error(value: Any, tmp_path_factory: Any) -> None:
    path: Path = tmp_path_factory.mktemp("event") / "event.json"
    path.write_text(json.dumps(value), encoding="utf-8")
    runner = Runner(env={"GITHUB_EVENT_PATH": str(path)})
    try:
        number = runner.pr_number()
    except GateInputError as exc:
        assert exc.message.startswith(str(path)) and "\n" not in exc.message
        return
    assert number is None or number > 0


@pytest.mark.parametrize("raw", ["[]", '{"foo": 1}', '"str"', "", "\ufeff{}"])
def test_the_reported_non_plans_are_never_no_changes(raw: str) -> None:
    with pytest.raises(PlanFormatError):
        summarize_plan(json.loads(raw) if raw.strip() and not raw.startswith("\ufeff") else raw)
