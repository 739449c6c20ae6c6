"""Every way a policy file can be wrong is reported as FILE:LINE:COLUMN: path: message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import ValidationError

from governor.policy import Policy, PolicyError, load_policies

VALID = """\
- name: ok
  resource: branch
  filters:
    - protected: false
"""


def problems(tmp_path: Path, text: str, name: str = "policies.yaml") -> list[str]:
    """The problem lines for a file holding ``text``, with the file name shortened."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies([path])
    lines = str(raised.value).splitlines()
    assert lines == [str(problem) for problem in raised.value.problems]
    return [line.replace(str(path), "FILE") for line in lines]


def one_problem(tmp_path: Path, text: str) -> str:
    [line] = problems(tmp_path, text)
    return line


def policy_text(**lines: str) -> str:
    """A valid branch policy with some top-level keys replaced (value as YAML text)."""
    fields = {
        "name": "ok",
        "resource": "branch",
        "filters": "[{protected: false}]",
        "action": "{type: none}",
    }
    fields.update(lines)
    body = "\n".join(f"  {key}: {value}" for key, value in fields.items() if value != "")
    return "-" + body[1:] + "\n"


OPERATORS_HELP = (
    "valid operators are eq, ne, in, gt, gte, lt, lte, glob, regex, present, absent, "
    "older_than, newer_than"
)
DURATION_HELP = "write a number and a unit, e.g. 30d, 6h or 1d12h (units: s m h d w)"
ACTION_TYPES_HELP = (
    "valid types are: none, suspend, resize, set_autosuspend, set_expiry, delete, revoke, "
    "set_retention, set_project_defaults, delete_snapshot, set_backup_retention, "
    "delete_project, delete_endpoint, disable_compute"
)

# case: (file text, one expected problem line)
CASES = {
    "yaml syntax": (
        "- name: [oops\n",
        (
            "FILE:2:1: (top level): invalid YAML: while parsing a flow sequence, "
            "expected ',' or ']', but got '<stream end>'"
        ),
    ),
    "two documents": (
        "- name: a\n---\n- name: b\n",
        (
            "FILE:2:1: (top level): invalid YAML: expected a single document in the"
            " stream, but found another document"
        ),
    ),
    "empty file": ("", ("FILE:1:1: (top level): the file is empty; expected a list of policies")),
    "only comments": (
        "# nothing yet\n",
        ("FILE:1:1: (top level): the file is empty; expected a list of policies"),
    ),
    "top level mapping": (
        "name: x\nresource: branch\n",
        (
            "FILE:1:1: (top level): expected a list of policies (each starting with"
            " '- name: ...'), got a mapping"
        ),
    ),
    "empty list": (
        "[]\n",
        (
            "FILE:1:1: (top level): expected a list of policies (each starting with"
            " '- name: ...'), got an empty list"
        ),
    ),
    "item not a mapping": (
        "- just a string\n",
        (
            "FILE:1:3: [0]: expected a policy (a mapping with name, resource, "
            "filters and action), got a string"
        ),
    ),
    "unknown key": (
        policy_text(severty="high"),
        (
            "FILE:5:3: [0].severty: unknown key 'severty'; did you mean 'severity'?"
            " valid keys are: name, description, resource, filters, action, mode, "
            "grace, severity, schedule, window, limits, exclude, evidence"
        ),
    ),
    "missing resource": (
        policy_text(resource=""),
        ("FILE:1:3: [0].resource: required key 'resource' is missing"),
    ),
    "bad resource": (
        policy_text(resource="branches"),
        (
            "FILE:2:13: [0].resource: 'branches' is not one of organization, project, "
            "branch, endpoint, api_key, snapshot; did you mean 'branch'?"
        ),
    ),
    "bad name": (
        policy_text(name="'stale branches'"),
        (
            "FILE:1:9: [0].name: 'stale branches' is not a valid policy name: use "
            "letters, digits, '-', '_' and '.', starting with a letter or digit, at"
            " most 64 characters"
        ),
    ),
    "name not a string": (
        policy_text(name="42"),
        ("FILE:1:9: [0].name: expected a string, got a number"),
    ),
    "bad mode": (
        policy_text(mode="automatic"),
        (
            "FILE:5:9: [0].mode: 'automatic' is not one of report, approve, auto; "
            "did you mean 'auto'?"
        ),
    ),
    "bad severity": (
        policy_text(severity="critical"),
        ("FILE:5:13: [0].severity: 'critical' is not one of low, medium, high"),
    ),
    "description not text": (
        policy_text(description="[a, b]"),
        ("FILE:5:16: [0].description: expected a string, got a list"),
    ),
    "duplicate yaml key": (
        "- name: a\n  name: b\n  resource: branch\n  filters: {protected: false}\n",
        ("FILE:2:3: [0].name: duplicate key 'name'"),
    ),
    "unknown action type": (
        policy_text(action="{type: destroy}"),
        ("FILE:4:18: [0].action.type: unknown action type 'destroy'; ") + ACTION_TYPES_HELP,
    ),
    "action without type": (
        policy_text(action="{seconds: 300}"),
        ("FILE:4:11: [0].action: an action needs a type; ") + ACTION_TYPES_HELP,
    ),
    "action not a mapping": (
        policy_text(action="delete"),
        ("FILE:4:11: [0].action: expected a mapping, got a string"),
    ),
    "action unknown key": (
        policy_text(resource="endpoint", action="{type: resize, min: 1}"),
        (
            "FILE:4:26: [0].action.min: unknown key 'min'; did you mean 'min_cu'? "
            "valid keys are: type, min_cu, max_cu, lower_max"
        ),
    ),
    "resize missing min": (
        policy_text(resource="endpoint", action="{type: resize}"),
        ("FILE:4:11: [0].action.min_cu: required key 'min_cu' is missing"),
    ),
    "resize too small": (
        policy_text(resource="endpoint", action="{type: resize, min_cu: 0.1}"),
        ("FILE:4:34: [0].action.min_cu: input should be greater than or equal to 0.25 (got 0.1)"),
    ),
    "resize backwards": (
        policy_text(resource="endpoint", action="{type: resize, min_cu: 4, max_cu: 2}"),
        ("FILE:4:11: [0].action: max_cu (2) is below min_cu (4)"),
    ),
    "autosuspend range": (
        policy_text(resource="endpoint", action="{type: set_autosuspend, seconds: 30}"),
        (
            "FILE:4:44: [0].action.seconds: 30 is not a valid suspend timeout: use "
            "0 (Neon's default) or 60 to 604800 seconds"
        ),
    ),
    "autosuspend text": (
        policy_text(resource="endpoint", action="{type: set_autosuspend, seconds: '300'}"),
        ("FILE:4:44: [0].action.seconds: expected a whole number, got a string"),
    ),
    "expiry too far": (
        policy_text(action="{type: set_expiry, after: 31d}"),
        (
            "FILE:4:37: [0].action.after: 31d is out of range: Neon accepts an "
            "expiry from just after now up to 30d ahead"
        ),
    ),
    "expiry not a duration": (
        policy_text(action="{type: set_expiry, after: soon}"),
        ("FILE:4:37: [0].action.after: 'soon' is not a duration; ") + DURATION_HELP,
    ),
    "grace without unit": (
        policy_text(grace="3600"),
        ("FILE:5:10: [0].grace: 3600 has no unit; ") + DURATION_HELP,
    ),
    "grace months": (
        policy_text(grace="1mo"),
        ("FILE:5:10: [0].grace: '1mo' is not a duration; ") + DURATION_HELP,
    ),
    "cron field count": (
        policy_text(schedule="'0 6 * *'"),
        (
            "FILE:5:13: [0].schedule: '0 6 * *' is neither a cron expression nor an"
            " interval; write a five-field cron expression such as '0 6 * * *' or "
            "an interval such as 6h"
        ),
    ),
    "cron out of range": (
        policy_text(schedule="'0 24 * * *'"),
        ("FILE:5:13: [0].schedule: cron hour field: 24 is outside 0-23"),
    ),
    "cron backwards": (
        policy_text(schedule="'0 6 * * fri-mon'"),
        ("FILE:5:13: [0].schedule: cron day of week field: the range 'fri-mon' runs backwards"),
    ),
    "cron bad name": (
        policy_text(schedule="'0 6 * foo *'"),
        ("FILE:5:13: [0].schedule: cron month field: 'foo' is not a number or a known name"),
    ),
    "cron zero step": (
        policy_text(schedule="'*/0 * * * *'"),
        ("FILE:5:13: [0].schedule: cron minute field: the step in '*/0' must be at least 1"),
    ),
    "cron garbage": (
        policy_text(schedule="'0 6 * * 1,,2'"),
        ("FILE:5:13: [0].schedule: cron day of week field: '' is not a value, range or step"),
    ),
    "zero interval": (
        policy_text(schedule="0s"),
        ("FILE:5:13: [0].schedule: an interval must be longer than zero"),
    ),
    "schedule number": (
        policy_text(schedule="60"),
        ("FILE:5:13: [0].schedule: expected a string, got a number"),
    ),
    "limits unknown key": (
        policy_text(limits="{max_actions: 5}"),
        (
            "FILE:5:12: [0].limits.max_actions: unknown key 'max_actions'; did you "
            "mean 'max_actions_per_run'? valid keys are: max_actions_per_run"
        ),
    ),
    "limits zero": (
        policy_text(limits="{max_actions_per_run: 0}"),
        (
            "FILE:5:33: [0].limits.max_actions_per_run: input should be greater "
            "than or equal to 1 (got 0)"
        ),
    ),
    "limits boolean": (
        policy_text(limits="{max_actions_per_run: yes}"),
        ("FILE:5:33: [0].limits.max_actions_per_run: expected a whole number, got a boolean"),
    ),
    "exclude unknown key": (
        policy_text(exclude="{project: [p1]}"),
        (
            "FILE:5:13: [0].exclude.project: unknown key 'project'; did you mean "
            "'projects'? valid keys are: names, ids, projects, organizations"
        ),
    ),
    "exclude id boolean": (
        policy_text(exclude="{ids: [1, true]}"),
        ("FILE:5:22: [0].exclude.ids[1]: expected a string, got a boolean"),
    ),
    "exclude names not a list": (
        policy_text(exclude="{names: main}"),
        ("FILE:5:20: [0].exclude.names: expected a list, got a string"),
    ),
    "filters missing": (
        policy_text(filters=""),
        ("FILE:1:3: [0].filters: required key 'filters' is missing"),
    ),
    "filters empty": (
        policy_text(filters="[]"),
        ("FILE:3:12: [0].filters: filters are empty; a policy must say which resources it selects"),
    ),
    "filters scalar": (
        policy_text(filters="protected"),
        (
            "FILE:3:12: [0].filters: expected a condition such as {protected: "
            "false} or a list of them, got a string"
        ),
    ),
    "unknown operator": (
        policy_text(filters="[{created_at: {older: 30d}}]"),
        (
            "FILE:3:27: [0].filters[0].created_at.older: unknown operator 'older'; "
            "did you mean 'older_than'? "
        )
        + OPERATORS_HELP,
    ),
    "nested instead of dotted": (
        policy_text(filters="[{settings: {pg_settings: {eq: 1}}}]"),
        (
            "FILE:3:25: [0].filters[0].settings.pg_settings: unknown operator "
            "'pg_settings'; for a nested field write a dotted path such as "
            "settings.pg_settings; "
        )
        + OPERATORS_HELP,
    ),
    "no operator": (
        policy_text(filters="[{name: {}}]"),
        ("FILE:3:20: [0].filters[0].name: no operator given; ") + OPERATORS_HELP,
    ),
    "bad regex": (
        policy_text(filters="[{name: {regex: 'a(b'}}]"),
        (
            "FILE:3:28: [0].filters[0].name.regex: regex: invalid regular "
            "expression 'a(b': missing ) (RE2 syntax: no backreferences or lookaround, so "
            "matching can never hang)"
        ),
    ),
    "bad older_than": (
        policy_text(filters="[{created_at: {older_than: 30}}]"),
        ("FILE:3:39: [0].filters[0].created_at.older_than: older_than: 30 has no unit; ")
        + DURATION_HELP,
    ),
    "bad newer_than": (
        policy_text(filters="[{created_at: {newer_than: 6 hours}}]"),
        (
            "FILE:3:39: [0].filters[0].created_at.newer_than: newer_than: '6 hours'"
            " is not a duration; "
        )
        + DURATION_HELP,
    ),
    "in not a list": (
        policy_text(filters="[{current_state: {in: ready}}]"),
        (
            "FILE:3:34: [0].filters[0].current_state.in: in: expected a non-empty "
            "list of values, got a string"
        ),
    ),
    "in empty": (
        policy_text(filters="[{current_state: {in: []}}]"),
        (
            "FILE:3:34: [0].filters[0].current_state.in: in: expected a non-empty "
            "list of values, got a list"
        ),
    ),
    "in with a mapping": (
        policy_text(filters="[{current_state: {in: [{a: 1}]}}]"),
        (
            "FILE:3:34: [0].filters[0].current_state.in: in: expected a string, "
            "number or boolean, got a mapping"
        ),
    ),
    "gt text": (
        policy_text(filters="[{logical_size: {gt: big}}]"),
        (
            "FILE:3:33: [0].filters[0].logical_size.gt: gt: expected a number or a "
            "timestamp such as 2026-01-31T00:00:00Z, got 'big'"
        ),
    ),
    "glob number": (
        policy_text(filters="[{name: {glob: 5}}]"),
        ("FILE:3:27: [0].filters[0].name.glob: glob: expected a string, got a number"),
    ),
    "present text": (
        policy_text(filters="[{expires_at: {present: maybe}}]"),
        (
            "FILE:3:36: [0].filters[0].expires_at.present: present: expected true "
            "or false, got a string"
        ),
    ),
    "eq list": (
        policy_text(filters="[{name: {eq: [a, b]}}]"),
        ("FILE:3:25: [0].filters[0].name.eq: eq: expected a string, number or boolean, got a list"),
    ),
    "shorthand null": (
        policy_text(filters="[{expires_at: null}]"),
        (
            "FILE:3:26: [0].filters[0].expires_at: null never matches; write "
            "{absent: true} to select a missing value"
        ),
    ),
    "shorthand list": (
        policy_text(filters="[{current_state: [ready, init]}]"),
        (
            "FILE:3:29: [0].filters[0].current_state: a list is ambiguous here: "
            "write {in: [...]} to match any of these values"
        ),
    ),
    "field typo": (
        policy_text(filters="[{protectd: false}]"),
        (
            "FILE:3:14: [0].filters[0].protectd: unknown field 'protectd' for a "
            "branch; did you mean 'protected'?"
        ),
    ),
    "derived field typo": (
        policy_text(resource="endpoint", filters="[{brnch_name: main}]"),
        (
            "FILE:3:14: [0].filters[0].brnch_name: unknown field 'brnch_name' for "
            "an endpoint; did you mean 'branch_name'?"
        ),
    ),
    "field name syntax": (
        policy_text(filters="[{'created at': {present: true}}]"),
        (
            "FILE:3:14: [0].filters[0].created at: 'created at' is not a field name"
            " (letters, digits and _, with dots between nested names)"
        ),
    ),
    "all not a list": (
        policy_text(filters="{all: {protected: false}}"),
        ("FILE:3:18: [0].filters.all: all takes a list of filters, got a mapping"),
    ),
    "any empty": (
        policy_text(filters="[{any: []}]"),
        ("FILE:3:19: [0].filters[0].any: any needs at least one filter"),
    ),
    "not scalar": (
        policy_text(filters="[{not: true}]"),
        (
            "FILE:3:19: [0].filters[0].not: expected a condition such as "
            "{protected: false} or a list of them, got a boolean"
        ),
    ),
    "empty condition": (
        policy_text(filters="[{}]"),
        ("FILE:3:13: [0].filters[0]: an empty mapping selects nothing; write a condition"),
    ),
    "python tag": (
        "- name: !!python/name:os.system x\n",
        ("FILE:1:9: [0].name: unsupported YAML tag tag:yaml.org,2002:python/name:os.system"),
    ),
    "list as key": (
        "- [a]: 1\n",
        ("FILE:1:3: [0]: a key must be a plain name, not a list or mapping"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_mistake_is_reported_with_file_line_column_and_field(
    tmp_path: Path, case: str
) -> None:
    text, expected = CASES[case]
    assert expected in problems(tmp_path, text)


@pytest.mark.parametrize(
    ("resource", "action", "fits"),
    [
        ("endpoint", "delete", "branch"),
        ("endpoint", "set_expiry, after: 1d", "branch"),
        ("project", "delete", "branch"),
        ("branch", "suspend", "endpoint"),
        ("branch", "resize, min_cu: 1", "endpoint"),
        ("api_key", "set_autosuspend, seconds: 300", "endpoint"),
        ("branch", "revoke", "api_key"),
        ("project", "revoke", "api_key"),
    ],
)
def test_an_action_must_fit_the_resource(
    tmp_path: Path, resource: str, action: str, fits: str
) -> None:
    text = policy_text(
        resource=resource, filters="[{id: {present: true}}]", action=f"{{type: {action}}}"
    )
    line = one_problem(tmp_path, text)
    action_type = action.split(",", maxsplit=1)[0]
    assert line == (
        f"FILE:4:18: [0].action.type: action {action_type} does not fit resource {resource}; "
        f"it applies to: {fits}"
    )


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
        - name: first
          resource: branch
          filters: [{protectd: false}, {created_at: {older_than: 30}}]
          action: {type: suspend}
        - name: second
          resource: nothing
          filters: [{name: {regex: '('}}]
        """
    lines = problems(tmp_path, text)
    assert [line.split(": ")[1] for line in lines] == [
        "[0].filters[0].protectd",
        "[0].filters[1].created_at.older_than",
        "[0].action.type",
        "[1].resource",
        "[1].filters[0].name.regex",
    ]
    assert [line.split(":")[1] for line in lines] == ["3", "3", "4", "6", "7"]


def test_duplicate_names_across_files_point_at_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "b.yml").write_text("# again\n" + VALID, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies([tmp_path])
    assert str(raised.value) == (
        f"{tmp_path / 'b.yml'}:2:9: [0].name: duplicate policy name 'ok' "
        f"(first defined at {tmp_path / 'a.yaml'}:1:9)"
    )


def test_problems_from_several_files_are_all_listed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- 1\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("", encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies([tmp_path])
    assert [problem.file for problem in raised.value.problems] == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
    ]


def test_missing_paths_and_empty_folders_are_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not a policy", encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert str(raised.value).splitlines() == [
        f"{tmp_path / 'nope.yaml'}: no such file or folder",
        f"{tmp_path / 'empty'}: the folder holds no *.yaml or *.yml file",
    ]


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("- name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(PolicyError, match=r"latin1.yaml: not UTF-8 text \(invalid"):
        load_policies([path])


def test_an_alias_bomb_is_stopped(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 7)]
    found = problems(tmp_path, "\n".join(lines) + "\n")
    assert any("the file expands to more than 100000 values" in line for line in found)


def test_a_self_referencing_alias_is_reported(tmp_path: Path) -> None:
    assert "FILE:1:3: [0][0]: an alias refers to itself" in problems(tmp_path, "- &loop [*loop]\n")


def test_yaml_merge_keys_and_anchors_work(tmp_path: Path) -> None:
    path = tmp_path / "merged.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            - &base
              name: first
              resource: branch
              severity: high
              filters: [{protected: false}]
            - <<: *base
              name: second
            """
        ),
        encoding="utf-8",
    )
    _, second = load_policies([path])
    assert (second.name, second.severity, second.resource) == ("second", "high", "branch")
    assert second.origin == f"{path}:7:9"


def test_timestamps_and_yaml_11_booleans_are_read_as_written(tmp_path: Path) -> None:
    path = tmp_path / "times.yaml"
    path.write_text(
        policy_text(filters="[{created_at: {gt: 2026-01-01}}, {protected: no}]"), encoding="utf-8"
    )
    [loaded] = load_policies([path])
    assert loaded.model_dump(mode="json")["filters"] == {
        "all": [{"created_at": {"gt": "2026-01-01"}}, {"protected": {"eq": False}}]
    }


def test_building_a_policy_in_code_reports_filter_problems_too() -> None:
    with pytest.raises(ValidationError, match=r"filters\.0\.protectd: unknown field"):
        Policy.model_validate({"name": "x", "resource": "branch", "filters": [{"protectd": False}]})
