"""ReceiverSettings.from_env: what a deployment must provide, and what it may not get wrong."""

from __future__ import annotations

import json

import pytest

from pps_webhooks.settings import SNS_MESSAGE_LIMIT_BYTES, ReceiverSettings, SettingsError

ORDERS_PLACED_ARN = "arn:aws:sns:us-east-1:123456789012:orders-placed"
UNROUTED_ARN = "arn:aws:sns:us-east-1:123456789012:unrouted"
ENV = {
    "PPS_ISSUER": "https://pps.example.com",
    "PPS_AUDIENCE": "https://webhooks.example.com",
    "IDEMPOTENCY_TABLE": "pps-webhook-claims",
    "TOPIC_ARNS": json.dumps({"orders/placed": ORDERS_PLACED_ARN}),
    "UNROUTED_TOPIC_ARN": UNROUTED_ARN,
    "PAYLOAD_BUCKET": "pps-webhook-payloads",
}
REQUIRED = ("PPS_ISSUER", "PPS_AUDIENCE", "IDEMPOTENCY_TABLE", "TOPIC_ARNS", "UNROUTED_TOPIC_ARN", "PAYLOAD_BUCKET")


def settings(**overrides: str) -> ReceiverSettings:
    return ReceiverSettings.from_env({**ENV, **overrides})


def test_the_minimal_environment_gives_the_documented_defaults() -> None:
    result = settings()

    assert result.issuer == ENV["PPS_ISSUER"]
    assert result.audience == ENV["PPS_AUDIENCE"]
    assert result.idempotency_table == ENV["IDEMPOTENCY_TABLE"]
    assert result.topic_arns == {"orders/placed": ORDERS_PLACED_ARN}
    assert result.unrouted_topic_arn == UNROUTED_ARN
    assert result.payload_bucket == ENV["PAYLOAD_BUCKET"]
    assert result.allowed_tenants == frozenset()
    assert result.retention_days == 7
    assert result.retention_seconds == 7 * 86_400
    assert result.leeway_seconds == 30
    assert result.jwks_cache_seconds == 300
    assert result.jwks_refresh_cooldown_seconds == 30
    assert result.jwks_timeout_seconds == 3.0
    assert result.max_token_bytes == 8192
    assert result.offload_threshold_bytes == SNS_MESSAGE_LIMIT_BYTES == 262_144


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("absent", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_each_required_variable_is_named_when_missing(name: str, absent: str | None) -> None:
    environ = {key: value for key, value in ENV.items() if key != name}
    if absent is not None:
        environ[name] = absent

    with pytest.raises(SettingsError, match=f"^{name} is required$"):
        ReceiverSettings.from_env(environ)


def test_required_values_are_stripped() -> None:
    assert settings(PPS_AUDIENCE="  https://webhooks.example.com \n").audience == "https://webhooks.example.com"


@pytest.mark.parametrize(
    ("issuer", "jwks_uri"),
    [
        ("https://pps.example.com", ""),
        ("https://pps.example.com/", ""),
        ("https://pps.example.com", "   "),
    ],
)
def test_without_a_jwks_uri_the_jwks_lives_under_the_issuer(issuer: str, jwks_uri: str) -> None:
    result = settings(PPS_ISSUER=issuer, PPS_JWKS_URI=jwks_uri)

    assert result.jwks_uri == "https://pps.example.com/.well-known/jwks.json"


def test_without_a_jwks_uri_variable_at_all_the_default_applies() -> None:
    assert ReceiverSettings.from_env(ENV).jwks_uri == "https://pps.example.com/.well-known/jwks.json"


@pytest.mark.parametrize(
    "jwks_uri",
    [
        "https://keys.pps.example.com/jwks",
        "http://127.0.0.1:8080/jwks.json",
        "http://127.9.9.9/jwks.json",
        "http://localhost:3000/.well-known/jwks.json",
        "http://[::1]:8080/jwks.json",
    ],
)
def test_an_explicit_jwks_uri_is_kept(jwks_uri: str) -> None:
    assert settings(PPS_JWKS_URI=jwks_uri).jwks_uri == jwks_uri


@pytest.mark.parametrize(
    "overrides",
    [
        {"PPS_JWKS_URI": "ftp://pps.example.com/jwks.json"},
        {"PPS_JWKS_URI": "file:///etc/jwks.json"},
        {"PPS_JWKS_URI": "pps.example.com/jwks.json"},
        {"PPS_ISSUER": "pps-issuer"},  # the default derived from a non-URL issuer is no URL either
        {"PPS_JWKS_URI": "http://keys.pps.example.com/jwks"},  # keys over plain http could be swapped in transit
        {"PPS_ISSUER": "http://pps.example.com"},
        {"PPS_JWKS_URI": "http://10.0.0.1/jwks"},
        {"PPS_JWKS_URI": "http://127.0.0.1.evil.example/jwks"},
        {"PPS_JWKS_URI": "https:///jwks"},
        {"PPS_JWKS_URI": "https://keys.pps.example.com:abc/jwks"},
        {"PPS_JWKS_URI": "https://keys.pps.example.com:99999/jwks"},
    ],
)
def test_a_jwks_uri_that_is_not_https_is_refused(overrides: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match="PPS_JWKS_URI"):
        settings(**overrides)


@pytest.mark.parametrize(
    ("raw", "tenants"),
    [
        ("OU1243", {"OU1243"}),
        ("OU1243,OU7", {"OU1243", "OU7"}),
        (" OU1243 , OU7 ,, ,", {"OU1243", "OU7"}),
        ("", set()),
        (" , ,", set()),
    ],
)
def test_allowed_tenants_are_a_comma_separated_list(raw: str, tenants: set[str]) -> None:
    assert settings(PPS_ALLOWED_TENANTS=raw).allowed_tenants == frozenset(tenants)


def test_topic_arns_map_topics_to_their_arns() -> None:
    mapping = {"orders/placed": ORDERS_PLACED_ARN, "orders/updated": "arn:aws:sns:us-east-1:123456789012:updated"}

    assert settings(TOPIC_ARNS=json.dumps(mapping)).topic_arns == mapping


@pytest.mark.parametrize(
    "raw",
    [
        "orders/placed=arn:aws:sns:us-east-1:123456789012:orders-placed",
        "{'orders/placed': 'arn:aws:sns:us-east-1:123456789012:orders-placed'}",
        json.dumps([ORDERS_PLACED_ARN]),
        json.dumps(ORDERS_PLACED_ARN),
        "null",
        json.dumps({"orders/placed": "orders-placed"}),
        json.dumps({"orders/placed": 42}),
        json.dumps({"orders/placed": None}),
        json.dumps({"": ORDERS_PLACED_ARN}),
    ],
    ids=["not-json", "python-repr", "list", "string", "null", "not-an-arn", "number", "null-arn", "empty-topic"],
)
def test_topic_arns_that_are_not_an_object_of_arns_are_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="TOPIC_ARNS"):
        settings(TOPIC_ARNS=raw)


@pytest.mark.parametrize(
    ("name", "raw", "attribute", "value"),
    [
        ("RETENTION_DAYS", "1", "retention_days", 1),
        ("RETENTION_DAYS", "365", "retention_days", 365),
        ("JWT_LEEWAY_SECONDS", "0", "leeway_seconds", 0),
        ("JWT_LEEWAY_SECONDS", "60", "leeway_seconds", 60),
        ("JWT_LEEWAY_SECONDS", " 45 ", "leeway_seconds", 45),
        ("JWKS_CACHE_SECONDS", "86400", "jwks_cache_seconds", 86_400),
        ("JWKS_REFRESH_COOLDOWN_SECONDS", "0", "jwks_refresh_cooldown_seconds", 0),
        ("JWKS_TIMEOUT_SECONDS", "0.5", "jwks_timeout_seconds", 0.5),
        ("MAX_TOKEN_BYTES", "512", "max_token_bytes", 512),
        ("CLAIM_CHECK_THRESHOLD_BYTES", "1", "offload_threshold_bytes", 1),
        ("CLAIM_CHECK_THRESHOLD_BYTES", "262144", "offload_threshold_bytes", 262_144),
        ("RETENTION_DAYS", "", "retention_days", 7),
    ],
)
def test_numeric_settings_within_bounds_are_read(name: str, raw: str, attribute: str, value: float) -> None:
    assert getattr(settings(**{name: raw}), attribute) == value


def test_retention_seconds_follow_retention_days() -> None:
    assert settings(RETENTION_DAYS="30").retention_seconds == 30 * 86_400


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("JWT_LEEWAY_SECONDS", "61"),
        ("JWT_LEEWAY_SECONDS", "-1"),
        ("RETENTION_DAYS", "0"),
        ("RETENTION_DAYS", "366"),
        ("JWKS_CACHE_SECONDS", "0"),
        ("JWKS_REFRESH_COOLDOWN_SECONDS", "3601"),
        ("JWKS_TIMEOUT_SECONDS", "0.05"),
        ("JWKS_TIMEOUT_SECONDS", "10.5"),
        ("JWKS_TIMEOUT_SECONDS", "nan"),
        ("MAX_TOKEN_BYTES", "511"),
        ("MAX_TOKEN_BYTES", "65537"),
        ("CLAIM_CHECK_THRESHOLD_BYTES", "0"),
        ("CLAIM_CHECK_THRESHOLD_BYTES", "262145"),
    ],
)
def test_numeric_settings_out_of_bounds_are_refused(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} must be between "):
        settings(**{name: raw})


@pytest.mark.parametrize(
    ("name", "raw", "kind"),
    [
        ("RETENTION_DAYS", "seven", "an integer"),
        ("JWT_LEEWAY_SECONDS", "1.5", "an integer"),
        ("CLAIM_CHECK_THRESHOLD_BYTES", "256KB", "an integer"),
        ("JWKS_TIMEOUT_SECONDS", "3s", "a number"),
    ],
)
def test_numeric_settings_that_are_not_numbers_are_refused(name: str, raw: str, kind: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} must be {kind}$"):
        settings(**{name: raw})


DEV_JWKS = json.dumps({"keys": [{"kty": "RSA", "kid": "dev", "n": "AQAB", "e": "AQAB"}]})


@pytest.mark.parametrize(
    "where",
    [{}, {"AWS_LAMBDA_FUNCTION_NAME": "fn", "AWS_SAM_LOCAL": "true"}],
    ids=["tests-or-make-run", "sam-local"],
)
def test_an_inline_jwks_is_honoured_outside_a_deployed_lambda(where: dict[str, str]) -> None:
    assert settings(PPS_JWKS=DEV_JWKS, **where).jwks == DEV_JWKS


def test_an_inline_jwks_is_refused_at_cold_start_in_a_deployed_lambda() -> None:
    with pytest.raises(SettingsError, match="PPS_JWKS is for local runs only"):
        settings(PPS_JWKS=DEV_JWKS, AWS_LAMBDA_FUNCTION_NAME="pps-webhooks-WebhookReceiverFunction-abc")


def test_an_empty_inline_jwks_in_a_deployed_lambda_means_fetch_from_the_uri() -> None:
    deployed = settings(PPS_JWKS="", AWS_LAMBDA_FUNCTION_NAME="pps-webhooks-WebhookReceiverFunction-abc")

    assert deployed.jwks == ""
    assert deployed.jwks_uri == "https://pps.example.com/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("raw", "claims"),
    [
        ("", {}),
        ("  ", {}),
        ('{"sub": "pps-webhooks"}', {"sub": "pps-webhooks"}),
        ('{"n": 1, "ok": true}', {"n": 1, "ok": True}),
    ],
)
def test_required_claims_are_a_json_object_of_values(raw: str, claims: dict[str, object]) -> None:
    assert settings(PPS_REQUIRED_CLAIMS=raw).required_claims == claims


@pytest.mark.parametrize("raw", ["sub=pps", '["sub"]', '{"sub": null}', '{"sub": {"a": 1}}', '{"": "x"}', '{"s": [1]}'])
def test_required_claims_that_are_not_names_and_values_are_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="PPS_REQUIRED_CLAIMS"):
        settings(PPS_REQUIRED_CLAIMS=raw)


def test_the_tenant_claim_is_read_stripped_and_empty_by_default() -> None:
    assert settings().tenant_claim == ""
    assert settings(PPS_TENANT_CLAIM=" tenant_id ").tenant_claim == "tenant_id"
