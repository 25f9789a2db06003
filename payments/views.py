from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.auth_failures import CALLBACK_SIGNATURES, client_address
from payments.channels.base import RejectReason
from payments.metrics import VERDICT_THROTTLED, callback_counted, callback_verdict
from payments.services.notifications import (
    Acknowledgement,
    notification_acknowledgement,
    notification_process_received,
    notification_receive,
    notification_throttled_answer,
)


@csrf_exempt
@require_POST
def callback(request: HttpRequest, channel: str) -> HttpResponse:
    """A channel's notification: stored raw first, then verified and applied. From an address
    that sent too many badly signed ones it is stored but not verified now (429 in the
    channel's dialect; the inbox job verifies it later), so a guesser gets no verdict."""
    try:
        body = request.body
    except RequestDataTooBig:
        body = None  # kept without its body, and rejected
    peer = client_address(request.META)
    wait = CALLBACK_SIGNATURES.wait_seconds(peer)
    notification = notification_receive(
        channel=channel, headers=dict(request.headers), body=body, peer=peer
    )
    if wait:
        callback_counted(channel=channel, verdict=VERDICT_THROTTLED)
        return _http(notification_throttled_answer(channel), headers={"Retry-After": str(wait)})
    notification = notification_process_received(notification=notification)
    if notification.error_code == RejectReason.BAD_SIGNATURE:
        CALLBACK_SIGNATURES.record(peer)
    verdict = callback_verdict(notification.outcome, notification.error_code)
    callback_counted(channel=channel, verdict=verdict)
    return _http(notification_acknowledgement(notification))


def _http(answer: Acknowledgement, headers=None) -> HttpResponse:
    return HttpResponse(
        answer.body, status=answer.status, content_type=answer.content_type, headers=headers
    )
