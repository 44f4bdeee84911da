"""Our Plivo V3 signatures, checked by the Plivo SDK's own validator."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from plivo.utils import validate_v3_signature

from confsvc.events.plivo_signature import NONCE_HEADER, SIGNATURE_HEADER, sign

TOKEN = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA11"
PARAMS = {"api_id": "a-1", "status": "202", "response": '{"message": "muted", "x": [1]}'}


@pytest.mark.parametrize(
    "url", ["https://app.example/cb", "https://app.example/cb?app=x%20y&b=2", "http://h:8/"]
)
def test_post_and_get_pass_the_sdks_validator(url: str) -> None:
    headers = sign(TOKEN, "POST", url, PARAMS)
    sig, nonce = headers[SIGNATURE_HEADER], headers[NONCE_HEADER]
    assert validate_v3_signature("POST", url, nonce, TOKEN, sig, dict(PARAMS))
    assert not validate_v3_signature("POST", url, nonce, "other-token", sig, dict(PARAMS))
    assert not validate_v3_signature("POST", url, nonce, TOKEN, sig, {**PARAMS, "status": "1"})
    # GET: our parameters go into the query; the receiver validates the URL it was called on.
    headers = sign(TOKEN, "GET", url, PARAMS)
    sent = url + ("&" if "?" in url else "?") + urlencode(PARAMS)
    sig, nonce = headers[SIGNATURE_HEADER], headers[NONCE_HEADER]
    assert validate_v3_signature("GET", sent, nonce, TOKEN, sig)
    assert not validate_v3_signature("GET", sent + "&z=1", nonce, TOKEN, sig)


def test_no_params_and_fresh_nonces() -> None:
    headers = sign(TOKEN, "POST", "https://app.example/cb", {})
    sig, nonce = headers[SIGNATURE_HEADER], headers[NONCE_HEADER]
    assert validate_v3_signature("POST", "https://app.example/cb", nonce, TOKEN, sig, {})
    assert sign(TOKEN, "POST", "https://a.example/", {})[NONCE_HEADER] != nonce
