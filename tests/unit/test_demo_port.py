"""The demo port: how ``sluice demo`` finds an app's demo, and what it derives for it."""

from __future__ import annotations

from dataclasses import replace

import pytest
from typer.testing import CliRunner

from app import APP
from demo import OrdersDemo
from events import ORDER_CANCELLED, ORDER_PLACED
from sluice.cli import build
from sluice.demo import Demo, fan_out, load_demo
from sluice.runtime import ConfigurationError


def test_the_declared_demo_is_made_fresh_for_each_run() -> None:
    first, second = load_demo(APP), load_demo(APP)

    assert isinstance(first, OrdersDemo)
    assert isinstance(first, Demo)
    assert first is not second


def test_an_app_without_a_demo_is_told_what_to_declare() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_demo(replace(APP, demo=None))

    assert str(caught.value) == (
        "the app 'orders' declares no demo: set App(demo='module:ClassName') to a "
        "sluice.demo.Demo subclass (see sluice/demo/base.py for what it provides)"
    )


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("demo:Nowhere", "gives nothing, not a sluice.demo.Demo subclass"),
        ("sluice.demo:fan_out", "gives function, not a sluice.demo.Demo subclass"),
        ("events:CATALOG", "gives Catalog, not a sluice.demo.Demo subclass"),
        ("no_such_module:Demo", "cannot import it"),
    ],
)
def test_a_demo_setting_that_names_no_demo_fails_with_the_setting(setting: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_demo(replace(APP, demo=setting))

    assert says in str(caught.value)


def test_sluice_demo_without_a_demo_fails_before_starting_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sluice.commands.sandbox.load_app", lambda: replace(APP, demo=None))

    result = CliRunner().invoke(build(), ["demo"])

    assert isinstance(result.exception, ConfigurationError)
    assert "declares no demo" in str(result.exception)


def test_fan_out_counts_what_each_subscription_lets_through() -> None:
    expected = fan_out(APP.registry, {ORDER_PLACED: 7, ORDER_CANCELLED: 2})

    assert expected == {"audit": 9, "inventory": 9, "receipts": 7, "stocktake": 0}
