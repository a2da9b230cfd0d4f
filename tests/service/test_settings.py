"""Settings that would fail every request later are refused at start-up."""

import pytest
from pydantic import ValidationError

from service.settings import Settings


@pytest.mark.parametrize("name", ["CITECHAT_LLM_BASE_URL", "CITECHAT_JUDGE_BASE_URL"])
@pytest.mark.parametrize("value", ["localhost:11434/v1", "api.openai.com", "ftp://host/v1"])
def test_an_llm_address_without_its_scheme_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match="is not an http\\(s\\) URL"):
        Settings(_env_file=None)


@pytest.mark.parametrize("value", ["http://localhost:11434/v1", "https://api.openai.com/v1"])
def test_an_llm_address_is_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CITECHAT_LLM_BASE_URL", value)
    assert Settings(_env_file=None).llm_base_url == value


def test_an_empty_model_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="llm_model"):
        Settings(_env_file=None, llm_model="")


def test_sync_hosts_and_networks_are_lists_and_a_bad_network_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITECHAT_SYNC_ALLOWED_HOSTS", "News.example.org, cdn.example.org")
    monkeypatch.setenv("CITECHAT_SYNC_ALLOWED_NETWORKS", "127.0.0.1/32,10.1.0.0/16")
    policy = Settings(_env_file=None).fetch_policy({"ignored.example.org"})
    assert policy.allowed_hosts == {"news.example.org", "cdn.example.org"}
    assert [str(n) for n in policy.allowed_networks] == ["127.0.0.1/32", "10.1.0.0/16"]
    assert Settings(_env_file=None, sync_allowed_hosts=[]).fetch_policy(
        {"a.org"}
    ).allowed_hosts == {"a.org"}
    monkeypatch.setenv("CITECHAT_SYNC_ALLOWED_NETWORKS", "10.0.0.0/33")
    with pytest.raises(ValidationError, match="sync_allowed_networks"):
        Settings(_env_file=None)


KEY = "read-key-0123456789abcdef"


def test_collection_access_comes_from_the_environment_as_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CITECHAT_API_KEYS", KEY)
    bindings = f'{{"news": {{"api_keys": ["{KEY}"], "origins": ["https://News.example.com/"]}}}}'
    monkeypatch.setenv("CITECHAT_COLLECTION_ACCESS", bindings)
    news = Settings(_env_file=None).collection_access["news"]
    assert [key.get_secret_value() for key in news.api_keys] == [KEY]
    assert news.origins == ["https://news.example.com"]


@pytest.mark.parametrize(
    ("bindings", "problem"),
    [
        ('{"News": {}}', "'News' is not a collection name"),
        ('{"news": {"api_keys": ["other-key-0123456789abcdef"]}}', "not one of CITECHAT_API_KEYS"),
        ('{"news": {"origins": ["news.example.com"]}}', "is not an origin"),
        ('{"news": {"origins": ["*"]}}', "is not an origin"),
        ('{"news": {"keys": []}}', "Extra inputs are not permitted"),
    ],
)
def test_bad_collection_access_is_refused(
    monkeypatch: pytest.MonkeyPatch, bindings: str, problem: str
) -> None:
    monkeypatch.setenv("CITECHAT_API_KEYS", KEY)
    monkeypatch.setenv("CITECHAT_COLLECTION_ACCESS", bindings)
    with pytest.raises(ValidationError, match=problem):
        Settings(_env_file=None)
