"""Our Plivo V3 signatures, checked by the Plivo SDK's own validator."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest
from plivo.utils import validate_v3_signature

from confsvc.events.delivery_request import request_headers, request_url
from confsvc.events.model import CALLBACK, WEBHOOK, Delivery
from confsvc.events.plivo_signature import NONCE_HEADER, SIGNATURE_HEADER, sign
from confsvc.events.routing import FORM

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


def test_callback_deliveries_carry_v3_when_the_tenant_has_an_account() -> None:
    form = {"ConferenceAction": "enter", "ConferenceName": "board"}
    for method in ("POST", "GET"):
        d = Delivery(
            id="d-1", customer_id="cust-a", kind=CALLBACK, target="callback:c-1",
            order_key="c-1", event_seq=1, event_id="e-1", event_type="conferencecall_joined",
            url="https://app.example/cb?app=1", method=method, content_type=FORM,
            body=urlencode(form), tm_create=datetime.now(UTC),
        )  # fmt: skip
        url = request_url(d)
        headers = request_headers(d, "whsec_c2VjcmV0", 1700000000, url, TOKEN)
        sig, nonce = headers[SIGNATURE_HEADER], headers[NONCE_HEADER]
        if method == "POST":
            assert validate_v3_signature("POST", url, nonce, TOKEN, sig, dict(form))
        else:
            assert validate_v3_signature("GET", url, nonce, TOKEN, sig)
        assert "webhook-signature" in headers  # Standard Webhooks too
        assert SIGNATURE_HEADER not in request_headers(d, "whsec_c2VjcmV0", 1, url)  # no account
        webhook = replace(d, kind=WEBHOOK)
        assert SIGNATURE_HEADER not in request_headers(webhook, "whsec_c2VjcmV0", 1, url, TOKEN)
