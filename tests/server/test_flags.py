"""`mlxk serve` and `mlxk-serve` read one set of flags; layout flags become server settings."""

from __future__ import annotations

from typer.testing import CliRunner

from mlxk_cli.app import app
from mlxk_server.main import build_parser, settings_from_args


def test_mlxk_serve_takes_the_flags_of_mlxk_dash_serve() -> None:
    shown = CliRunner().invoke(app, ["serve", "--help"])
    assert shown.exit_code == 0
    assert "usage: mlxk serve" in shown.output
    for flag in ("--dtype {float32,bfloat16,float16}", "--dequantize, --no-dequantize",
                 "--max-batch", "--idle-unload", "--api-key", "--allowed-hosts"):
        assert flag in shown.output
    assert CliRunner().invoke(app, ["serve", "--dtype", "float64"]).exit_code == 2
    refused = CliRunner().invoke(app, ["serve", "--allowed-hosts", "proxy.example:80:80"])
    assert refused.exit_code == 2 and "not a host name: proxy.example:80:80" in refused.output


def test_layout_flags_reach_the_settings_and_default_to_automatic() -> None:
    flags = ["--dtype", "float16", "--no-dequantize"]
    chosen = settings_from_args(build_parser().parse_args(flags))
    assert (chosen.dtype, chosen.dequantize) == ("float16", False)
    assert settings_from_args(build_parser().parse_args(["--dequantize"])).dequantize is True
    auto = settings_from_args(build_parser().parse_args([]))
    assert (auto.dtype, auto.dequantize) == (None, None)
