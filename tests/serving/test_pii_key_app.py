"""The service hashes personal data with the key outside the store (``predlog.keys``)."""

from __future__ import annotations

import time

from factories import churn_records
from inprocess import AppMaker

import steadyml
from steadyml.config.keyfile import KEY_FILE
from steadyml.predlog import hmac_values
from steadyml.predlog.keys import OLD_KEY_ROW
from steadyml.store.secret_rows import find_secret


def test_the_service_hashes_with_the_key_file_and_keeps_no_key_in_the_store(
    make_server: AppMaker,
) -> None:
    srv = make_server("\nserving:\n  pii_handling: hash\n")
    (record,) = churn_records(srv.root, 1)
    record["email"] = "served.person@example.org"
    res = srv.post("/v1/predict", json={"records": [record]},
                   headers={"X-API-Key": srv.keys["predict"]})  # fmt: skip
    assert res.status_code == 200, res.text
    request_id = res.json()["results"][0]["request_id"]
    deadline = time.monotonic() + 20
    with steadyml.open(srv.root, env={}) as project:
        while not (found := project.store.list_predictions(request_ids=[request_id])):
            assert time.monotonic() < deadline, "the answer was not logged"
            time.sleep(0.1)
        assert find_secret(project.store, OLD_KEY_ROW) is None
    key = (srv.root / KEY_FILE).read_text().strip()
    assert found[0].inputs["email"] == hmac_values(["served.person@example.org"], key)[0]
