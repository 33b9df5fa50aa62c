"""``sluice dlq export``, ``import`` and ``purge``: nothing leaves a queue before it is on disk."""

from __future__ import annotations

import json
from pathlib import Path

from sluice.ops.export import export, import_file
from tests.factories import payment, placed
from tests.functional.dlq_fixtures import Ops, cli, cli_json, ops_fixture  # noqa: F401

DLQ = "sluice-inventory-dlq"


def test_export_copies_and_leaves_the_dlq_as_it_was(ops: Ops, tmp_path: Path) -> None:
    events = [placed() for _ in range(13)]
    ops.dead_letter("inventory", events)
    file = tmp_path / "out.jsonl"

    count = export(ops.target, DLQ, file)

    lines = [json.loads(line) for line in file.read_text().splitlines()]
    assert count == 13
    assert sorted(line["envelope_id"] for line in lines) == sorted(e.id for e in events)
    assert all(line["failure"]["reason"] == "invalid_payload" for line in lines)
    assert all("sluice.failure_reason" not in line["attributes"] for line in lines)
    assert ops.visible(DLQ) == 13
    assert ops.audit() == []


def test_export_move_drains_and_import_sends_back(ops: Ops, tmp_path: Path) -> None:
    events = [placed() for _ in range(4)]
    ops.dead_letter("inventory", events)
    file = tmp_path / "drained.jsonl"

    moved = cli_json("export", DLQ, str(file), "--move")
    sent = cli_json("import", str(file), "--to", "sluice-inventory")

    assert moved["exported"] == 4
    assert ops.count(DLQ) == 0
    assert sent["sent"] == 4
    assert sent["skipped"] == []
    assert sorted(ops.envelope_ids("sluice-inventory")) == sorted(e.id for e in events)
    actions = sorted({a["action"] for a in ops.audit()})
    assert actions == ["export-move", "import"]
    assert file.exists()


def test_import_keeps_fifo_groups(ops: Ops, tmp_path: Path) -> None:
    events = [payment("acct-9", 1), payment("acct-9", 2)]
    ops.dead_letter("ledger", events, group_id="acct-9")
    file = tmp_path / "fifo.jsonl"
    export(ops.target, "sluice-ledger-dlq.fifo", file, move=True)

    report = import_file(ops.target, file, "sluice-ledger.fifo")

    assert report.sent == 2
    got = ops.pipeline.drain("sluice-ledger.fifo")
    assert [json.loads(m["Body"])["id"] for m in got] == [e.id for e in events]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"acct-9"}


def test_malformed_import_lines_are_skipped_with_the_reason(ops: Ops, tmp_path: Path) -> None:
    ops.dead_letter("inventory", [placed()])
    file = tmp_path / "mixed.jsonl"
    export(ops.target, DLQ, file)
    good = file.read_text()
    file.write_text(
        "{broken\n"
        + json.dumps({"no_body": True})
        + "\n\n"
        + good
        + json.dumps({"body": "x", "attributes": {"a": {"DataType": "String"}}})
        + "\n"
    )

    report = cli_json("import", str(file), "--to", "sluice-audit")

    assert report["sent"] == 1
    assert [s["line"] for s in report["skipped"]] == [1, 2, 5]
    assert "not JSON" in report["skipped"][0]["reason"]
    assert "needs a string 'body'" in report["skipped"][1]["reason"]
    assert "neither StringValue nor BinaryValue" in report["skipped"][2]["reason"]
    assert ops.count("sluice-audit") == 1
    assert ops.visible(DLQ) == 1  # import never deletes anything
    assert file.read_text().count("\n") == 5


def test_import_to_a_missing_destination_or_file_is_an_error(ops: Ops, tmp_path: Path) -> None:
    file = tmp_path / "one.jsonl"
    file.write_text(json.dumps({"body": placed().to_json()}) + "\n")

    missing = cli("import", str(file), "--to", "nowhere")
    no_file = cli("import", str(tmp_path / "absent.jsonl"), "--to", "sluice-audit")

    assert missing.exit_code == 2
    assert "neither a queue nor a topic" in missing.stderr
    assert no_file.exit_code == 2
    assert "does not exist" in no_file.stderr


def test_purge_asks_for_the_name_and_keeps_everything_on_a_wrong_answer(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed(), placed()])

    result = cli("purge", "inventory", input="sluice-receipts-dlq\n")

    assert result.exit_code == 2
    assert "nothing was deleted" in result.stderr
    assert ops.visible(DLQ) == 2


def test_purge_backs_up_first(ops: Ops, tmp_path: Path) -> None:
    events = [placed(), placed()]
    ops.dead_letter("inventory", events)

    result = cli("purge", "inventory", input=f"{DLQ}\n")

    assert result.exit_code == 0, result.output
    assert ops.count(DLQ) == 0
    [backup] = (ops.state / "backups").glob("sluice-inventory-dlq-*.jsonl")
    ids = [json.loads(line)["envelope_id"] for line in backup.read_text().splitlines()]
    assert sorted(ids) == sorted(e.id for e in events)
    assert {(a["action"], a["destination"]) for a in ops.audit()} == {("purge", str(backup))}


def test_purge_yes_no_backup(ops: Ops) -> None:
    ops.dead_letter("inventory", [placed() for _ in range(12)])

    report = cli_json("purge", DLQ, "--yes", "--no-backup")

    assert report == {"dlq": DLQ, "purged": 12, "backup": None}
    assert ops.count(DLQ) == 0
    assert not (ops.state / "backups").exists()
    assert len(ops.audit()) == 12


def test_export_to_a_folder_is_an_error_and_holds_nothing(ops: Ops, tmp_path: Path) -> None:
    ops.dead_letter("inventory", [placed(), placed()])

    result = cli("export", DLQ, str(tmp_path), "--move")

    assert result.exit_code == 2
    assert result.output.strip() == f"error: cannot append to {tmp_path}: Is a directory"
    assert ops.visible(DLQ) == 2  # nothing received: nothing hidden, nothing deleted
    assert ops.audit() == []


def test_import_exits_1_when_any_line_is_refused(ops: Ops, tmp_path: Path) -> None:
    good = json.dumps({"body": placed().to_json()}) + "\n"
    every_bad, partial, clean = (tmp_path / f"{n}.jsonl" for n in ("bad", "partial", "clean"))
    every_bad.write_text("{broken\n[1]\n")
    partial.write_text("{broken\n" + good)
    clean.write_text(good)

    refused = cli("import", str(every_bad), "--to", "sluice-audit")
    half = cli("import", str(partial), "--to", "sluice-audit")
    whole = cli("import", str(clean), "--to", "sluice-audit")

    assert (refused.exit_code, half.exit_code, whole.exit_code) == (1, 1, 0)
    assert refused.stdout.splitlines()[0] == f"sent 0 messages from {every_bad} to sluice-audit"
    assert half.stdout.splitlines()[0] == f"sent 1 messages from {partial} to sluice-audit"
    assert ops.count("sluice-audit") == 2
