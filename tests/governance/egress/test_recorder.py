"""The connection recorder: every way a client opens a TCP connection is recorded and stopped."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from governance.egress.recorder import ConnectionRecorder, EgressBlocked


def test_an_https_request_is_recorded_and_never_leaves():
    with ConnectionRecorder() as recorder, pytest.raises(EgressBlocked):
        urllib.request.urlopen("https://runtime.sagemaker.us-east-1.amazonaws.com/ping", timeout=5)
    assert recorder.hosts() == {"runtime.sagemaker.us-east-1.amazonaws.com"}


@pytest.mark.parametrize(
    "connect",
    [
        lambda: socket.create_connection(("192.0.2.10", 443), timeout=1),
        lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("192.0.2.10", 443)),
    ],
    ids=["create_connection", "socket.connect"],
)
def test_a_connection_by_address_is_recorded_and_stopped(connect):
    with ConnectionRecorder() as recorder, pytest.raises(EgressBlocked):
        connect()
    assert recorder.hosts() == {"192.0.2.10"}


def test_no_client_retry_loop_catches_it():
    # A BaseException: `except Exception` (botocore's and MLflow's retries, the runtime's handlers) lets it through.
    assert not issubclass(EgressBlocked, Exception)


def test_the_socket_module_is_restored():
    original = socket.getaddrinfo
    with ConnectionRecorder():
        assert socket.getaddrinfo is not original
    assert socket.getaddrinfo is original
