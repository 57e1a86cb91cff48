"""What the engine's refusals mean: a taken host port by its words, anything else it refused
in one line with those words (the real SDK's error, as the engine's answer makes it)."""

from __future__ import annotations

import requests
from docker.errors import APIError

from nexus_cli.workspaces.engine_refusals import EngineRefusedError, refused, taken_port


def test_the_engine_s_words_for_a_taken_port_are_understood() -> None:
    allocated = "driver failed programming external connectivity on endpoint x (abc): Bind for 127.0.0.1:18080 failed: port is already allocated"
    in_use = (
        "Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use"
    )
    assert taken_port(Exception(allocated)) == 18080
    assert taken_port(Exception(in_use)) == 18081
    assert taken_port(Exception("no such image")) is None


def test_what_the_engine_refused_is_named_in_its_own_words() -> None:
    answer = requests.Response()
    answer.status_code = 400
    exc = APIError(
        "400 Client Error: Bad Request",
        response=answer,
        explanation="Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available",
    )
    assert refused(exc) and not refused(requests.ConnectionError("engine gone"))
    error = EngineRefusedError("web", "create", exc)
    assert error.message == (
        "the engine could not create service 'web': Range of CPUs is from 0.01 to 2.00, as there"
        " are only 2 CPUs available"
    )
    assert error.category == "service_start" and error.service == "web"
