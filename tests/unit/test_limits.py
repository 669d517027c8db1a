"""The pure parts of the request limits: nesting depth, whole numbers, the worker's view of an arriving request."""

from __future__ import annotations

import json

import pytest
from gunicorn.http import errors as http_errors

from beacon.errors import BadRequest
from beacon.query.limits import MAX_WHOLE_NUMBER, json_depth, whole_number
from beacon.settings import Settings, SettingsError
from beacon.worker import CONTINUE, READY, WAIT, arrival, client_error, error_response

HEAD = b"POST /api/individuals HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ("{}", 1), ('{"a": [1, {"b": []}]}', 4), ('[[], [[[]]], {"x": {"y": 1}}]', 4)],
)
def test_json_depth_counts_nested_arrays_and_objects(text, depth):
    assert json_depth(json.loads(text), 100) == depth


def test_json_depth_stops_counting_past_the_bound():
    deep = json.loads("[" * 500 + "]" * 500)
    assert json_depth(deep, 10) == 11


@pytest.mark.parametrize(
    ("value", "number"), [(0, 0), ("17", 17), (" 42 ", 42), ("+5", 5), (3.0, 3), (MAX_WHOLE_NUMBER, MAX_WHOLE_NUMBER)]
)
def test_whole_numbers_within_the_bound(value, number):
    assert whole_number("start", value) == number


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (-1, ">= 0"),
        ("-3", ">= 0"),
        (MAX_WHOLE_NUMBER + 1, "at most 2147483647"),
        (2**63, "at most"),
        (1e300, "at most"),
        (float("inf"), "whole number"),
        (float("nan"), "whole number"),
        (2.5, "whole number"),
        (True, "whole number"),
        ("1e3", "whole number"),
        ("1_000", "whole number"),
        ("٣", "whole number"),  # an Arabic-Indic digit: int() would take it
        ("9" * 5000, "whole number"),
        (None, "whole number"),
    ],
)
def test_whole_numbers_outside_the_bound_are_400s_naming_the_parameter(value, words):
    with pytest.raises(BadRequest) as caught:
        whole_number("skip", value)
    assert caught.value.status == 400 and caught.value.message.startswith("skip ") and words in caught.value.message


@pytest.mark.parametrize(
    ("data", "state"),
    [
        (b"GET /api/info HTTP/1.1\r\nHost: t\r\n", WAIT),
        (b"GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n", READY),
        (b"GET /api/info HTTP/1.1\nHost: t\n\n", READY),
        (HEAD + b"Content-Length: 2\r\n\r\n{", WAIT),
        (HEAD + b"Content-Length: 2\r\n\r\n{}", READY),
        (HEAD + b"Content-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n", READY),  # pipelined: the first is whole
        (HEAD + b"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n", CONTINUE),
        (HEAD + b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n", READY),  # gunicorn's parser refuses it
        (HEAD + b"Content-Length: x\r\n\r\n", READY),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n", WAIT),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", READY),
    ],
)
def test_the_worker_hands_over_a_request_once_it_is_whole(data, state):
    assert arrival(data, 1000) is state


def test_the_worker_refuses_heads_and_bodies_past_the_limits():
    too_large = arrival(HEAD + b"Content-Length: 1001\r\n\r\n", 1000)
    assert (too_large.state, too_large.status) == ("refuse", 413)
    assert too_large.message == "the request body is 1001 bytes; this beacon accepts at most 1000"
    chunked = arrival(HEAD + b"Transfer-Encoding: chunked\r\n\r\n" + b"x" * 1001, 1000)
    assert (chunked.state, chunked.status) == ("refuse", 413)
    endless = arrival(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 20000, 1000)
    assert (endless.state, endless.status) == ("refuse", 431)


def test_gunicorns_refusals_map_to_statuses_and_the_apps_faults_stay_500s():
    assert client_error(http_errors.LimitRequestLine(9000, 8190))[0] == 414
    assert client_error(http_errors.LimitRequestHeaders("too many"))[0] == 431
    assert client_error(http_errors.InvalidHeader("X-Bad"))[0] == 400
    assert client_error(http_errors.InvalidResponseHeader("X-Bad")) is None
    assert client_error(RuntimeError("app")) is None


def test_an_error_response_is_a_whole_http_message_with_the_envelope():
    raw = error_response(408, "too slow", "org.example.beacon")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"Connection: close" in head
    assert f"Content-Length: {len(body)}".encode() in head
    document = json.loads(body)
    assert document["error"] == {"errorCode": 408, "errorMessage": "too slow"}
    assert document["meta"]["beaconId"] == "org.example.beacon"


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("BEACON_MAX_BODY_BYTES", "10"),
        ("BEACON_MAX_BODY_BYTES", "lots"),
        ("BEACON_MAX_URL_LENGTH", "9000"),
        ("BEACON_MAX_JSON_DEPTH", "1000"),
        ("BEACON_MAX_FILTERS", "0"),
        ("BEACON_MAX_FILTERS", "501"),
        ("BEACON_CLIENT_TIMEOUT", "0.1"),
        ("BEACON_CLIENT_TIMEOUT", "soon"),
    ],
)
def test_limit_settings_out_of_range_stop_the_beacon_naming_the_variable(variable, raw):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({variable: raw})


def test_limit_settings_are_read_from_the_environment():
    settings = Settings.from_env(
        {"BEACON_MAX_BODY_BYTES": "4096", "BEACON_MAX_FILTERS": "20", "BEACON_CLIENT_TIMEOUT": "2.5"}
    )
    assert (settings.max_body_bytes, settings.max_filters, settings.client_timeout) == (4096, 20, 2.5)
