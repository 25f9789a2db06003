from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from payments.services.notifications import (
    notification_acknowledgement,
    notification_process,
    notification_receive,
)


@csrf_exempt
@require_POST
def callback(request: HttpRequest, channel: str) -> HttpResponse:
    """A channel's notification: stored raw first, then verified and applied."""
    try:
        body = request.body
    except RequestDataTooBig:
        body = None  # kept without its body, and rejected
    notification = notification_receive(
        channel=channel,
        headers=dict(request.headers),
        body=body,
        peer=request.META.get("REMOTE_ADDR", ""),
    )
    notification = notification_process(notification_id=notification.pk)
    ack = notification_acknowledgement(notification)
    return HttpResponse(ack.body, status=ack.status, content_type=ack.content_type)
