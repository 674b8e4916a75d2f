"""The official openai SDK as a real client of `tpbench mock` (MOCK_BASE_URL, started by run.sh)."""
import json
import os
import urllib.request

import jsonschema
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

BASE = os.environ["MOCK_BASE_URL"]
MODEL = "Qwen/Qwen3-30B-A3B-Instruct-2507"

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer", "minimum": 0, "maximum": 120},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c"]}, "minItems": 1, "maxItems": 3},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["name", "age", "tags", "score"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def client():
    return openai.OpenAI(base_url=BASE + "/v1", api_key="unused", max_retries=0, timeout=30)


def test_models(client):
    assert MODEL in [m.id for m in client.models.list().data]


def test_streamed_chat_with_usage(client):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 12
    assert chunks[-1].usage.prompt_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"


def test_streamed_completion_with_usage(client):
    stream = client.completions.create(
        model=MODEL, prompt="one two three", max_tokens=8, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text
    assert chunks[-1].usage.completion_tokens == 8
    assert chunks[-1].usage.prompt_tokens == 3


def test_non_streamed_chat_usage(client):
    r = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=5)
    assert r.usage.completion_tokens == 5
    assert r.choices[0].message.content


def test_json_schema_response_format(client):
    r = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Extract a person"}],
        max_tokens=200,
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": SCHEMA}},
    )
    document = json.loads(r.choices[0].message.content)
    jsonschema.validate(document, SCHEMA)
    assert r.choices[0].finish_reason == "stop"


def test_errors_are_openai_errors(client):
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "x"}], max_tokens=10**9)


def test_metrics_parse_as_prometheus_text():
    with urllib.request.urlopen(BASE + "/metrics", timeout=10) as response:
        text = response.read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    # The parser strips the _total suffix from counter family names.
    for name in ["vllm:num_requests_running", "vllm:generation_tokens", "vllm:time_to_first_token_seconds",
                 "vllm:kv_cache_usage_perc", "tpbench_mock_emission_lateness_seconds"]:
        assert name in families, name
    samples = [s for s in families["vllm:generation_tokens"].samples if s.name.endswith("_total")]
    assert samples and samples[0].labels["model_name"] == MODEL and samples[0].value > 0
