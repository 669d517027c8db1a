"""AccessPolicy: file validation, the default ceilings per level, per-tier ceilings, exact visa matching,
small-count protection.

Expected ceilings are typed in by hand from issue #4: PUBLIC - everyone record; REGISTERED - anonymous
boolean, registered and granted record; CONTROLLED - anonymous boolean, registered count, granted record.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from beacon.auth import ANONYMOUS, AccessPolicy, PolicyError, Principal, SecurityLevel
from beacon.auth.policy import policy_schema_path
from beacon.query.granularity import Granularity
from beacon.query.responses import CountProtection, DatasetResult

BOOLEAN, COUNT, RECORD = Granularity.BOOLEAN, Granularity.COUNT, Granularity.RECORD
EGA_VISA = "https://ega-archive.org/datasets/EGAD00001000001"
OTHER_VISA = "https://ega-archive.org/datasets/EGAD00001000002"

ISSUE_EXAMPLE = """\
default_level: CONTROLLED          # for datasets the file does not name
datasets:
  goe-af:   {level: PUBLIC}
  cineca:   {level: REGISTERED}
  egad001:  {level: CONTROLLED, visas: ["https://ega-archive.org/datasets/EGAD00001000001"],
             granularity: {anonymous: boolean, registered: count, controlled: record}}
"""

REGISTERED = Principal(subject="alice@test", registered=True, grants=frozenset())
AUTHENTICATED = Principal(subject="bob@test", registered=False, grants=frozenset())


def granted(*values: str, registered: bool = True) -> Principal:
    """A caller holding verified grants for `values`."""
    return Principal(subject="carol@test", registered=registered, grants=frozenset(values))


def write(tmp_path: Path, text: str, name: str = "access.yaml") -> Path:
    """A policy file in a temp dir."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def issue_policy(tmp_path: Path) -> AccessPolicy:
    """The example policy of issue #4, plus one dataset for each level with visas."""
    extra = """\
  reg-granted: {level: REGISTERED, visas: ["https://ega-archive.org/datasets/EGAD00001000002"]}
  pub-granted: {level: PUBLIC, visas: ["https://ega-archive.org/datasets/EGAD00001000002"]}
  hidden-anon: {level: CONTROLLED, visas: ["https://ega-archive.org/datasets/EGAD00001000002"],
                granularity: {anonymous: none}}
"""
    return AccessPolicy.load(write(tmp_path, ISSUE_EXAMPLE + extra))


def test_no_file_is_secure_default() -> None:
    """Without a file everything is CONTROLLED: anonymous boolean, registered count, nobody granted."""
    policy = AccessPolicy.load(None)
    assert policy.secure_default is True
    assert policy.security_level("anything") == SecurityLevel.CONTROLLED == "CONTROLLED"
    assert policy.ceiling(ANONYMOUS, "anything") is BOOLEAN
    assert policy.ceiling(REGISTERED, "anything") is COUNT
    assert policy.ceiling(granted("anything"), "anything") is COUNT
    assert policy.security_attributes() == {"defaultGranularity": "boolean", "securityLevels": ["CONTROLLED"]}


def test_issue_example_loads(issue_policy: AccessPolicy) -> None:
    """The example file of the issue is valid and says what it means."""
    assert issue_policy.secure_default is False
    assert issue_policy.security_level("goe-af") == "PUBLIC"
    assert issue_policy.security_level("cineca") == "REGISTERED"
    assert issue_policy.security_level("egad001") == "CONTROLLED"
    assert issue_policy.security_level("not-named") == "CONTROLLED"
    assert issue_policy.security_levels() == ["PUBLIC", "REGISTERED", "CONTROLLED"]


@pytest.mark.parametrize(
    ("dataset", "principal", "ceiling"),
    [
        ("goe-af", ANONYMOUS, RECORD),
        ("goe-af", AUTHENTICATED, RECORD),
        ("goe-af", REGISTERED, RECORD),
        ("pub-granted", granted(OTHER_VISA), RECORD),
        ("cineca", ANONYMOUS, BOOLEAN),
        ("cineca", AUTHENTICATED, BOOLEAN),
        ("cineca", REGISTERED, RECORD),
        ("reg-granted", granted(OTHER_VISA, registered=False), RECORD),
        ("egad001", ANONYMOUS, BOOLEAN),
        ("egad001", AUTHENTICATED, BOOLEAN),
        ("egad001", REGISTERED, COUNT),
        ("egad001", granted(EGA_VISA), RECORD),
        ("egad001", granted(EGA_VISA, registered=False), RECORD),
        ("not-named", REGISTERED, COUNT),
        ("hidden-anon", ANONYMOUS, None),
        ("hidden-anon", REGISTERED, COUNT),
        ("hidden-anon", granted(OTHER_VISA), RECORD),
    ],
)
def test_ceilings_per_level_and_tier(
    issue_policy: AccessPolicy, dataset: str, principal: Principal, ceiling: Granularity | None
) -> None:
    """Default ceilings by level and tier; 'none' hides a dataset from a tier."""
    assert issue_policy.ceiling(principal, dataset) is ceiling


@pytest.mark.parametrize(
    "variant",
    [
        EGA_VISA.upper(),
        EGA_VISA.replace("EGAD", "egad"),
        EGA_VISA + "/",
        EGA_VISA + " ",
        EGA_VISA.replace("https://", "http://"),
        EGA_VISA.removesuffix("1"),
        EGA_VISA + "0",
    ],
)
def test_visa_value_must_match_exactly(issue_policy: AccessPolicy, variant: str) -> None:
    """Case, trailing-slash, whitespace, scheme or prefix variants of the configured value grant nothing."""
    caller = granted(variant)
    assert issue_policy.is_granted(caller, "egad001") is False
    assert issue_policy.ceiling(caller, "egad001") is COUNT


def test_grant_for_one_dataset_is_not_a_grant_for_another(issue_policy: AccessPolicy) -> None:
    """A's grant replayed against B: B's ceiling stays at the registered tier."""
    caller = granted(OTHER_VISA)
    assert issue_policy.is_granted(caller, "hidden-anon") is True
    assert issue_policy.is_granted(caller, "egad001") is False
    assert issue_policy.ceiling(caller, "egad001") is COUNT
    assert issue_policy.ceiling(granted(OTHER_VISA, registered=False), "egad001") is BOOLEAN


def test_grants_without_a_subject_count_for_nothing(issue_policy: AccessPolicy) -> None:
    """Only an authenticated Principal can be granted, whatever its grants say."""
    forged = Principal(subject=None, registered=True, grants=frozenset({EGA_VISA}))
    assert issue_policy.is_granted(forged, "egad001") is False
    assert issue_policy.ceiling(forged, "egad001") is BOOLEAN


def test_json_file_is_the_same_policy(tmp_path: Path) -> None:
    """JSON and YAML files load the same way."""
    document = {"default_level": "PUBLIC", "datasets": {"egad001": {"level": "CONTROLLED", "visas": [EGA_VISA]}}}
    policy = AccessPolicy.load(write(tmp_path, json.dumps(document), "access.json"))
    assert policy.ceiling(ANONYMOUS, "other") is RECORD
    assert policy.ceiling(granted(EGA_VISA), "egad001") is RECORD
    assert policy.security_attributes() == {"defaultGranularity": "record", "securityLevels": ["PUBLIC", "CONTROLLED"]}


def test_default_level_when_omitted_is_controlled(tmp_path: Path) -> None:
    """A file that names some datasets leaves the others CONTROLLED."""
    policy = AccessPolicy.load(write(tmp_path, "datasets:\n  a: {level: PUBLIC}\n"))
    assert policy.security_level("b") == "CONTROLLED"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("datasets:\n  x: {level: SECRET}\n", "datasets.x.level"),
        ("datasets:\n  x: {level: public}\n", "datasets.x.level"),
        ("datasets:\n  x: {visas: [a]}\n", "datasets.x:"),
        ("datasets:\n  x: {level: PUBLIC, granularity: {admin: record}}\n", "datasets.x.granularity"),
        ("datasets:\n  x: {level: PUBLIC, granularity: {anonymous: full}}\n", "datasets.x.granularity.anonymous"),
        ("datasets:\n  x: {level: CONTROLLED, granularity: {anonymous: record}}\n", "datasets.x.granularity.anonymous"),
        (
            "datasets:\n  x: {level: CONTROLLED, granularity: {registered: record}}\n",
            "datasets.x.granularity.registered",
        ),
        ("datasets:\n  x: {level: REGISTERED, granularity: {anonymous: count}}\n", "datasets.x.granularity.anonymous"),
        (
            "datasets:\n  x: {level: CONTROLLED, granularity: {anonymous: boolean, registered: none}}\n",
            "datasets.x.granularity.registered",
        ),
        ("datasets:\n  x: {level: CONTROLLED, visas: a-string}\n", "datasets.x.visas"),
        ("datasets:\n  x: {level: CONTROLLED, visas: ['']}\n", "datasets.x.visas.0"),
        ("datasets:\n  x: {level: CONTROLLED, visas: [a, a]}\n", "datasets.x.visas"),
        ("datasets:\n  x: {level: CONTROLLED, visa: [a]}\n", "datasets.x:"),
        ("dataset:\n  x: {level: PUBLIC}\n", "(top level)"),
        ("default_level: OPEN\n", "default_level"),
        ("datasets:\n  123: {level: PUBLIC}\n", "datasets:"),
        ("datasets: [a, b]\n", "datasets:"),
        ("- a\n- b\n", "(top level)"),
        ("", "(top level)"),
        ("datasets: {x: {level: PUBLIC}\n", "not valid YAML"),
        ("rare_alleles: {member_budget: {answers: 0}}\n", "rare_alleles.member_budget.answers"),
        ("rare_alleles: {member_budget: {window: 60}}\n", "rare_alleles.member_budget"),
        ("rare_alleles: {member_budget: {answers: 1, windw: 60}}\n", "rare_alleles.member_budget"),
    ],
)
def test_invalid_files_name_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    """Every invalid policy is refused at load, naming the file and the offending field."""
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as refused:
        AccessPolicy.load(path)
    assert str(refused.value).startswith(f"{path}: ")
    assert field in str(refused.value)


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    """Unparseable JSON and a missing file are PolicyErrors naming the file."""
    broken = write(tmp_path, '{"datasets": ', "access.json")
    with pytest.raises(PolicyError, match=rf"^{broken}: not valid JSON"):
        AccessPolicy.load(broken)
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError, match=rf"^{missing}: cannot read"):
        AccessPolicy.load(missing)


def test_policy_schema_is_a_valid_json_schema() -> None:
    """schemas/access-policy.schema.json is itself valid Draft 2020-12."""
    schema = json.loads(policy_schema_path().read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    assert policy_schema_path().parent.name == "schemas"


# --- small-count protection (`min_count`, `count_precision`) -----------------------------------

PROTECTED = """\
datasets:
  floor: {level: CONTROLLED, min_count: 5}
  tens: {level: REGISTERED, count_precision: 10}
  both: {level: CONTROLLED, min_count: 3, count_precision: 100}
  plain: {level: CONTROLLED}
"""


@pytest.fixture
def protected_policy(tmp_path: Path) -> AccessPolicy:
    """One dataset per kind of small-count protection, and one without."""
    return AccessPolicy.load(write(tmp_path, PROTECTED))


def count_result(count: int) -> DatasetResult:
    """A count-level result of `count` matches."""
    return DatasetResult("d", COUNT, count)


@pytest.mark.parametrize(
    ("dataset", "count", "reported", "adjusted_to", "precision"),
    [
        ("floor", 1, 5, (5,), "imprecise"),
        ("floor", 4, 5, (5,), "imprecise"),
        ("floor", 5, 5, (), None),
        ("floor", 123, 123, (), None),
        ("floor", 0, 0, (), None),
        ("tens", 1, 10, ("next multiple of 10",), "rounded"),
        ("tens", 10, 10, ("next multiple of 10",), "rounded"),
        ("tens", 11, 20, ("next multiple of 10",), "rounded"),
        ("tens", 0, 0, (), None),
        ("both", 2, 100, (3, "next multiple of 100"), "imprecise"),
        ("both", 3, 100, ("next multiple of 100",), "rounded"),
        ("both", 250, 300, ("next multiple of 100",), "rounded"),
        ("plain", 2, 2, (), None),
        ("not-named", 2, 2, (), None),
    ],
)
def test_count_protection_by_hand(
    protected_policy: AccessPolicy,
    dataset: str,
    count: int,
    reported: int,
    adjusted_to: tuple[object, ...],
    precision: str | None,
) -> None:
    """Counts below min_count become min_count; rounding is always up, so matches never report 0."""
    result = protected_policy.count_protection(dataset).apply(count_result(count))
    assert (result.count, result.count_adjusted_to, result.count_precision) == (reported, adjusted_to, precision)
    assert result.exists is (count > 0)


def test_no_file_means_exact_counts() -> None:
    """The secure default changes ceilings, not counts."""
    assert AccessPolicy.load(None).count_protection("anything") == CountProtection()


def test_count_options_read_from_json_are_whole_numbers(tmp_path: Path) -> None:
    """JSON `10.0` is a valid integer for the schema and is reported as 10."""
    document = {"datasets": {"x": {"level": "CONTROLLED", "min_count": 5.0, "count_precision": 10.0}}}
    policy = AccessPolicy.load(write(tmp_path, json.dumps(document), "access.json"))
    result = policy.count_protection("x").apply(count_result(3))
    assert result.count == 10
    assert type(result.count) is int
    assert result.count_adjusted_to == (5, "next multiple of 10")


@pytest.mark.parametrize(
    "option",
    ["min_count: 1", "min_count: 0", "min_count: -5", "min_count: 2.5", "min_count: five", "min_count: true",
     "count_precision: 1", "count_precision: 0", "count_precision: 10000001", "count_precision: '10'",
     "count_precision: null"],
)  # fmt: skip
def test_invalid_count_options_are_refused(tmp_path: Path, option: str) -> None:
    """Protection below 2, fractional, textual or boolean values are refused at load, naming the field."""
    path = write(tmp_path, f"datasets:\n  x: {{level: CONTROLLED, {option}}}\n")
    with pytest.raises(PolicyError) as refused:
        AccessPolicy.load(path)
    assert f"datasets.x.{option.split(':')[0]}" in str(refused.value)
