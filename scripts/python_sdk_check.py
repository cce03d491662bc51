"""The official Genesys Cloud Python SDK (PyPI PureCloudPlatformClientV2) against genesys-sim.

Reads the `key=value` lines the sim binary printed (a file path as argv[1]), then, through the SDK:
- logs in with client credentials (the SDK's own get_client_credentials_token),
- fetches guest history pages with the guest JWT (WebMessagingApi.get_webmessaging_messages),
- runs an analytics details query (ConversationsApi.post_analytics_conversations_details_query),
and asserts the counts and shapes against what the binary printed. Exits 1 on any mismatch.
"""

import sys

import PureCloudPlatformClientV2 as genesys
from PureCloudPlatformClientV2.rest import ApiException


def fail(message):
    print(f"python-sdk-check: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def no_unknown_enums(model, what):
    """The SDK maps an enum value it does not know to "outdated_sdk_version": the sim must only
    serve values the platform's own models list."""

    def walk(v, path):
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}")
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")
        elif v == "outdated_sdk_version":
            fail(f"{what}: the SDK does not know the value at {path}")

    walk(model.to_dict(), what)


def main():
    printed = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            key, sep, value = line.strip().partition("=")
            if sep:
                printed[key] = value
    base = printed["base_url"]
    conversations = int(printed["conversations"])
    per_conversation = int(printed["messages_per_conversation"])

    # Client credentials through the SDK: with a host that has no "//api." the SDK posts to
    # host + /oauth/token, which is where the sim serves it.
    genesys.configuration.host = base
    oauth = genesys.api_client.ApiClient(host=base).get_client_credentials_token(
        printed["client_id"], printed["client_secret"]
    )
    expect(oauth.access_token.startswith("sim-"), f"unexpected token {oauth.access_token!r}")

    # Guest history: get_webmessaging_messages sends no auth of its own; the guest JWT goes in
    # as the bearer header, as a guest client does.
    guest = genesys.api_client.ApiClient(
        host=base, header_name="Authorization", header_value="Bearer " + printed["guest_jwt"]
    )
    web = genesys.WebMessagingApi(guest)
    page = web.get_webmessaging_messages(page_size=100, page_number=1)
    expect(page.total == per_conversation, f"history total {page.total} != {per_conversation}")
    expect(page.page_size == 100 and page.page_number == 1, "history paging echo")
    expect(page.page_count == -(-per_conversation // 100), f"pageCount {page.page_count}")
    expect(len(page.entities) == min(100, per_conversation), f"{len(page.entities)} entities")
    kinds = set()
    for m in page.entities:
        expect(m.id and m.channel is not None and m.channel.time is not None, "message shape")
        expect(m.type in ("Text", "Structured", "Receipt", "Event"), f"type {m.type!r}")
        expect(m.direction in ("Inbound", "Outbound"), f"direction {m.direction!r}")
        expect(m.originating_entity in ("Human", "Bot"), f"originatingEntity {m.originating_entity!r}")
        kinds.add(m.type)
        for c in m.content or []:
            if c.content_type == "Attachment":
                expect(c.attachment.url.startswith(base), "attachment url")
    expect(len(kinds) >= 3, f"message kinds {kinds}")
    no_unknown_enums(page, "guest history")
    seen = len(page.entities)
    number = 2
    while seen < per_conversation:
        more = web.get_webmessaging_messages(page_size=100, page_number=number)
        seen += len(more.entities)
        number += 1
    expect(seen == per_conversation, f"paged {seen} messages, expected {per_conversation}")
    try:
        web.get_webmessaging_messages(page_size=1000)
        fail("pageSize 1000 was accepted")
    except ApiException as e:
        expect(e.status == 400, f"pageSize over max: status {e.status}")

    # Analytics details query with the OAuth token.
    analytics = genesys.ConversationsApi(oauth)
    body = genesys.ConversationQuery()
    body.interval = printed["interval"]
    body.order = "asc"
    body.order_by = "conversationStart"
    paging = genesys.PagingSpec()
    paging.page_size = 100
    paging.page_number = 1
    body.paging = paging
    result = analytics.post_analytics_conversations_details_query(body)
    expect(result.total_hits == conversations, f"totalHits {result.total_hits} != {conversations}")
    expect(len(result.conversations) == min(100, conversations), "conversations on page 1")
    no_unknown_enums(result, "analytics query")
    first = result.conversations[0]
    expect(first.conversation_id and first.conversation_start is not None, "conversation shape")
    expect(len(first.participants) >= 2, "participants")
    for p in first.participants:
        for s in p.sessions:
            expect(s.media_type == "message", f"mediaType {s.media_type!r}")
            for seg in s.segments:
                expect(seg.segment_start is not None and seg.segment_type is not None, "segment shape")

    # One conversation by id, with a conversationId filter.
    predicate = genesys.ConversationDetailQueryPredicate()
    predicate.type = "dimension"
    predicate.dimension = "conversationId"
    predicate.operator = "matches"
    predicate.value = printed["conversation_id"]
    flt = genesys.ConversationDetailQueryFilter()
    flt.type = "or"
    flt.predicates = [predicate]
    body.conversation_filters = [flt]
    one = analytics.post_analytics_conversations_details_query(body)
    expect(one.total_hits == 1, f"filtered totalHits {one.total_hits}")
    expect(one.conversations[0].conversation_id == printed["conversation_id"], "filtered id")

    # An empty page: no `conversations` key, which the SDK reads as None.
    paging.page_number = 2
    body.conversation_filters = None
    empty = analytics.post_analytics_conversations_details_query(body)
    expect(empty.total_hits == conversations, "totalHits on an empty page")
    expect(not empty.conversations, "conversations on an empty page")

    details = analytics.get_analytics_conversation_details(printed["conversation_id"])
    expect(details.conversation_id == printed["conversation_id"], "details id")

    # The agent side: the conversation with its message ids, MessageData in bulk, a send.
    conv = analytics.get_conversations_message(printed["conversation_id"])
    no_unknown_enums(conv, "messaging conversation")
    ids = [m.message_id for p in conv.participants for m in (p.messages or [])]
    expect(len(ids) == per_conversation, f"{len(ids)} message ids on the conversation")
    bulk = analytics.post_conversations_message_messages_bulk(printed["conversation_id"], body=ids[:50])
    no_unknown_enums(bulk, "bulk messages")
    expect(len(bulk.entities) == 50, f"bulk returned {len(bulk.entities)}")
    expect({m.id for m in bulk.entities} == set(ids[:50]), "bulk ids")
    send = genesys.AdditionalMessage()
    send.text_body = "hello from the python sdk"
    sent = analytics.post_conversations_message_communication_messages(
        printed["conversation_id"], printed["communication_id"], send
    )
    no_unknown_enums(sent, "sent message")
    expect(sent.normalized_message.text == "hello from the python sdk", "sent text echo")

    print(
        f"python-sdk-check: ok: token, {per_conversation} history messages over "
        f"{number - 1} pages, analytics totalHits {result.total_hits}, filter, empty page, details, agent conversation, bulk, send"
    )


if __name__ == "__main__":
    main()
