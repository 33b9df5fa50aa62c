"""A ReceiveMessage message becomes the SQS record Lambda would have delivered (sluice work)."""

from __future__ import annotations

from typing import Any

from sluice.runtime.sqs_event import (
    change_visibility,
    lambda_attribute,
    lambda_record,
    queue_arn_of,
)

URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/work"


def test_message_attributes_take_lambdas_lower_camel_shape() -> None:
    assert lambda_attribute({"DataType": "Number", "StringValue": "42"}) == {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
        "stringValue": "42",
    }
    assert lambda_attribute({"DataType": "Binary", "BinaryValue": b"\x00\x01"}) == {
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
        "binaryValue": "AAE=",
    }
    assert lambda_attribute({"StringValue": "x"})["dataType"] == "String"


def test_a_received_message_is_the_record_lambda_delivers() -> None:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "rh-1",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": "c-1"}},
    }
    record = lambda_record(message, queue_arn_of(URL, "eu-west-1"), "eu-west-1")
    assert record["eventSourceARN"] == "arn:aws:sqs:eu-west-1:123456789012:work"
    assert (record["messageId"], record["receiptHandle"], record["body"]) == ("m-1", "rh-1", "{}")
    assert record["attributes"] == {"ApproximateReceiveCount": "2"}
    assert record["messageAttributes"]["correlation_id"]["stringValue"] == "c-1"
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "eu-west-1")


def test_a_visibility_change_names_each_entry_of_a_call_apart() -> None:
    calls: list[list[dict[str, Any]]] = []

    class Sqs:
        def change_message_visibility_batch(self, QueueUrl: str, Entries: list[Any]) -> Any:
            calls.append(Entries)
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    handles = [f"h{i}" for i in range(12)]
    assert change_visibility(Sqs(), "https://sqs/1/q", handles, 30) == 12
    assert [[e["Id"] for e in call] for call in calls] == [[str(i) for i in range(10)], ["0", "1"]]
    assert [e["ReceiptHandle"] for call in calls for e in call] == handles
