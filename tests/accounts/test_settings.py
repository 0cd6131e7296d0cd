"""Start-up refuses a public or short secret key outside development."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from curbside.app import ConfigurationError, Curbside, check_settings
from curbside.cli import app
from curbside.settings import DEVELOPMENT_SECRET_KEY, Settings

GOOD_KEY = "k" * 16 + "0123456789abcdef"  # 32 characters


@pytest.mark.parametrize("environment", ["test", "production"])
def test_the_development_key_is_refused_outside_development(environment: str) -> None:
    settings = Settings(environment=environment)
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    with pytest.raises(ConfigurationError, match="development key"):
        Curbside(settings)


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="31 characters"):
        check_settings(Settings(environment="production", secret_key=SecretStr(GOOD_KEY[:-1])))


def test_a_long_random_key_or_development_is_accepted() -> None:
    check_settings(Settings(environment="production", secret_key=SecretStr(GOOD_KEY)))
    check_settings(Settings(environment="development"))
    check_settings(Settings(environment="development", secret_key=SecretStr("short")))


def test_serve_prints_the_reason_and_exits_non_zero(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["serve"], env={"CURBSIDE_ENVIRONMENT": "production",
                                                      "CURBSIDE_DATA_DIR": str(tmp_path)})
    assert result.exit_code != 0
    assert "CURBSIDE_SECRET_KEY" in result.output and "Traceback" not in result.output


def test_the_secret_is_not_shown_in_the_settings_repr() -> None:
    settings = Settings(environment="production", secret_key=SecretStr(GOOD_KEY))
    assert GOOD_KEY not in repr(settings) and GOOD_KEY not in str(settings.model_dump())
