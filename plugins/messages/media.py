"""Attachments of inbound messages, fetched from the provider when someone asks for them.

Nebulo stores a media reference (the provider's id, type and checksum), not the bytes: the
provider keeps the file, and a download goes through the integration's connector, so the
same outbound guard and credentials apply as to every other provider call.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from connectors.base import MediaContent, ProviderError
from core.context import Context
from core.db import get_scoped
from core.errors import BadGateway, NotFound
from plugins.messages.models import Integration, Message
from plugins.messages.services import connector_for


def fetch_message_media(session: Session, ctx: Context, message_id: uuid.UUID) -> MediaContent:
    """The attachment of one of the project's messages: 404 when it has none (or its
    integration is gone), 502 with the provider's words when the provider fails."""
    ctx.require("view_messages")
    message = get_scoped(session, Message, ctx.project_id, message_id, what="Message")
    if not message.media or not message.media.get("id"):
        raise NotFound("This message has no media")
    integration = (
        session.get(Integration, message.integration_id) if message.integration_id else None
    )
    if integration is None:
        raise NotFound("The integration that received this media is disconnected")
    connector = connector_for(integration)
    try:
        content = connector.fetch_media(message.media)
    except ProviderError as error:
        raise BadGateway(
            f"The media could not be fetched from {message.provider}: {error}"
        ) from None
    finally:
        connector.close()
    declared = message.media.get("mime_type")
    return MediaContent(content.content, declared or content.mime_type)
