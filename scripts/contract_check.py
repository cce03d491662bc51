"""Contract check: recorded traffic and the crates' wire enums against the official SDK models.

Usage: contract_check.py CAPTURE_DIR [ENUMS_JSON]
       contract_check.py --self-test CAPTURE_DIR

CAPTURE_DIR holds the JSONL files genesys-sim writes when GENESYS_SIM_CAPTURE_DIR is set (one
file per process; one line per API exchange: method, route template, query, status, request
body, response body). Every request body and every response body is validated against the
model the official Python SDK (PureCloudPlatformClientV2, version pinned in
scripts/contract-requirements.txt) declares for that operation:

- a key that is not a field of the model fails;
- a value of the wrong JSON type fails;
- a string outside a field's allowed values fails (exact spelling).

Operations are found in the SDK itself (each API method's resource path, HTTP method, body type,
response type and query parameters, read from its source); a query parameter the operation does
not take fails too. Error answers (4xx/5xx) are validated against ErrorBody.

ENUMS_JSON (written by the `wire_enums` test) maps each closed list of wire values in the crates
to the SDK fields it stands for; a value none of those fields allows fails.

Prints how many bodies of each operation were validated; fails when an operation the crates
call has none. Exits 1 on any failure, listing every problem found.

--self-test takes real exchanges from the capture, breaks them on purpose (a renamed field, a
stale enum value, a wrong JSON type, in requests and in answers) and fails unless the
validator rejects every broken copy and accepts every original.
"""

import copy

import ast
import importlib.metadata
import glob
import inspect
import json
import re
import sys
from collections import defaultdict

import PureCloudPlatformClientV2 as sdk
from PureCloudPlatformClientV2 import apis as sdk_apis

# The operations the crates call (method, SDK resource path). Each must appear in the capture.
REQUIRED = [
    ("GET", "/api/v2/webmessaging/messages"),
    ("GET", "/api/v2/conversations/{conversationId}"),
    ("GET", "/api/v2/conversations/messages/{conversationId}"),
    ("POST", "/api/v2/conversations/messages/{conversationId}/messages/bulk"),
    ("POST", "/api/v2/conversations/messages/{conversationId}/communications/{communicationId}/messages"),
    ("POST", "/api/v2/conversations/messages/{integrationId}/inbound/open/message"),
    ("POST", "/api/v2/conversations/messages/agentless"),
    ("POST", "/api/v2/analytics/conversations/details/query"),
    ("GET", "/api/v2/analytics/conversations/{conversationId}/details"),
    ("POST", "/api/v2/analytics/conversations/details/jobs"),
    ("GET", "/api/v2/analytics/conversations/details/jobs/availability"),
    ("GET", "/api/v2/analytics/conversations/details/jobs/{jobId}"),
    ("DELETE", "/api/v2/analytics/conversations/details/jobs/{jobId}"),
    ("GET", "/api/v2/analytics/conversations/details/jobs/{jobId}/results"),
]

# Which SDK fields each closed list of the crates stands for: (model class, python attribute).
ENUM_FIELDS = {
    "analytics.Purpose": [("AnalyticsParticipant", "purpose")],
    "analytics.MediaType": [("AnalyticsSession", "media_type")],
    # AnalyticsSession.messageType is a free string in the SDK; the conversation's own message
    # type (Message.type) is the closed list of the same values.
    "analytics.MessageType": [("Message", "type")],
    "analytics.SegmentType": [("AnalyticsConversationSegment", "segment_type")],
    "analytics.DisconnectType": [("AnalyticsConversationSegment", "disconnect_type")],
    "analytics.Direction": [("AnalyticsSession", "direction")],
    "analytics.JobState": [("AsyncQueryStatus", "state")],
    "analytics.OrderBy": [("ConversationQuery", "order_by"), ("AsyncConversationQuery", "order_by")],
    "analytics.Order": [("ConversationQuery", "order")],
    "analytics.PropertyType": [("SegmentDetailQueryPredicate", "property_type")],
    "analytics.conversation_dimensions": [("ConversationDetailQueryPredicate", "dimension")],
    "analytics.segment_dimensions": [("SegmentDetailQueryPredicate", "dimension")],
    "messaging.MessengerType": [("MessageData", "messenger_type")],
    "messaging.MessageDirection": [("MessageData", "direction")],
    "messaging.MessageStatus": [("MessageData", "status")],
    "messaging.MessageType": [("WebMessagingMessage", "type")],
    "messaging.Direction": [("WebMessagingMessage", "direction")],
    "messaging.OriginatingEntity": [("WebMessagingMessage", "originating_entity")],
    "messaging.ReceiptStatus": [("WebMessagingMessage", "status")],
    # The messaging models serve both the guest messages and MessageData.normalizedMessage.
    "messaging.ContentType": [("WebMessagingContent", "content_type"), ("ConversationMessageContent", "content_type")],
    "messaging.MediaType": [("WebMessagingAttachment", "media_type")],
    "messaging.EventType": [("WebMessagingEvent", "event_type"), ("ConversationMessageEvent", "event_type")],
    "messaging.AgentlessMessengerType": [("SendAgentlessOutboundMessageRequest", "to_address_messenger_type")],
}

PRIMITIVES = {"str", "int", "float", "bool", "date", "datetime", "object"}


def norm(path):
    """A route with its parameters blanked: `/a/{id}/b` and `/a/{conversationId}/b` match."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def model_class(name):
    cls = getattr(sdk, name, None)
    if cls is None or not inspect.isclass(cls):
        raise KeyError(f"the SDK has no model {name}")
    return cls


_enum_cache = {}


def allowed_values(name):
    """{python attribute: [allowed values]} of a model, read from its setters' source (the
    generated setters hold `allowed_values = [...]`; the SDK maps anything else to
    "outdated_sdk_version" instead of failing, so the list is the only record)."""
    if name in _enum_cache:
        return _enum_cache[name]
    tree = ast.parse(inspect.getsource(model_class(name)))
    found = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef):
            continue
        if not any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in node.decorator_list):
            continue
        for stmt in ast.walk(node):
            if (
                isinstance(stmt, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "allowed_values" for t in stmt.targets)
                and isinstance(stmt.value, ast.List)
            ):
                found[node.name] = [ast.literal_eval(e) for e in stmt.value.elts]
    _enum_cache[name] = found
    return found


def fields(name):
    """{json key: (python attribute, type string)} of a model."""
    inst = model_class(name)()
    return {inst.attribute_map[a]: (a, t) for a, t in inst.swagger_types.items()}


class Validator:
    def __init__(self):
        self.errors = []

    def fail(self, where, message):
        self.errors.append(f"{where}: {message}")

    def check(self, value, type_str, where, allowed=None):
        if value is None:
            return  # every field of the models is optional on the wire
        if type_str.startswith("list["):
            if not isinstance(value, list):
                return self.fail(where, f"expected a JSON array ({type_str}), got {type(value).__name__}")
            inner = type_str[5:-1]
            for i, v in enumerate(value):
                self.check(v, inner, f"{where}[{i}]", allowed)
            return
        if type_str.startswith("dict("):
            if not isinstance(value, dict):
                return self.fail(where, f"expected a JSON object ({type_str}), got {type(value).__name__}")
            inner = type_str[5:-1].split(",", 1)[1].strip()
            for k, v in value.items():
                self.check(v, inner, f"{where}.{k}")
            return
        if type_str in PRIMITIVES:
            ok = {
                "str": isinstance(value, str),
                "date": isinstance(value, str),
                "datetime": isinstance(value, str),
                "int": isinstance(value, int) and not isinstance(value, bool),
                "float": isinstance(value, (int, float)) and not isinstance(value, bool),
                "bool": isinstance(value, bool),
                "object": True,
            }[type_str]
            if not ok:
                return self.fail(where, f"expected {type_str}, got {json.dumps(value)[:60]}")
            if allowed is not None and isinstance(value, str) and value not in allowed:
                self.fail(where, f"{value!r} is not an allowed value ({', '.join(allowed)})")
            return
        # A model.
        if not isinstance(value, dict):
            return self.fail(where, f"expected a JSON object ({type_str}), got {json.dumps(value)[:60]}")
        known = fields(type_str)
        enums = allowed_values(type_str)
        for key, v in value.items():
            if key not in known:
                self.fail(f"{where}.{key}", f"not a field of {type_str}")
                continue
            attr, t = known[key]
            self.check(v, t, f"{where}.{key}", enums.get(attr))


def sdk_operations():
    """{(METHOD, normalized path): operation} read from every API class's source."""
    ops = {}
    for cls_name in dir(sdk_apis):
        cls = getattr(sdk_apis, cls_name)
        if not (inspect.isclass(cls) and cls_name.endswith("Api")):
            continue
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            try:
                src = inspect.getsource(fn)
            except (OSError, TypeError):
                continue
            path = re.search(r"resource_path = '([^']+)'", src)
            method = re.search(r"call_api\(resource_path, '([A-Z]+)'", src)
            if not (path and method):
                continue
            response = re.search(r"response_type='([^']+)'", src)
            # The body's type: in the docstring (`:param list[str] body:`), also for bodies
            # that are optional keyword arguments and so missing from the signature.
            body = re.search(r":param (\S+) body:", src)
            body_type = body.group(1) if body else None
            key = (method.group(1), norm(path.group(1)))
            ops.setdefault(
                key,
                {
                    "name": name,
                    "path": path.group(1),
                    "body": body_type,
                    "response": response.group(1) if response else None,
                    "query": set(re.findall(r"query_params\['([^']+)'\]", src)),
                },
            )
    return ops


def exchanges(capture_dir, v):
    """(where, exchange) for every line of every capture file."""
    files = sorted(glob.glob(f"{capture_dir}/*.jsonl"))
    if not files:
        v.fail(capture_dir, "no capture files")
    for path in files:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                where = f"{path.rsplit('/', 1)[-1]}:{n}"
                try:
                    yield where, json.loads(line)
                except json.JSONDecodeError as e:
                    v.fail(where, f"not JSON: {e}")


def check_capture(capture_dir, ops, v):
    counts = defaultdict(lambda: {"calls": 0, "requests": 0, "responses": 0, "errors": 0, "refused": 0})
    for where, x in exchanges(capture_dir, v):
        op = ops.get((x["method"], norm(x["route"])))
        if op is None:
            if x["route"] == "/oauth/token":
                continue  # the login host: not part of the API's models
            if x.get("status") in (404, 405):
                # A path or method the sim does not serve (its own tests ask on purpose): only
                # the error body is checked.
                counts[("(unrouted)", x["route"])]["errors"] += 1
                if x.get("response") is not None:
                    v.check(x["response"], "ErrorBody", f"{where} unrouted {x['method']} {x['route']}")
                continue
            v.fail(where, f"{x['method']} {x['route']}: no such operation in the SDK")
            continue
        c = counts[(x["method"], op["path"])]
        c["calls"] += 1
        label = f"{where} {op['name']}"
        for q in x.get("query") or []:
            if q not in op["query"]:
                v.fail(label, f"query parameter {q!r} is not one of {sorted(op['query'])}")
        status = x.get("status", 0)
        if x.get("request") is not None:
            if 400 <= status < 500 and status != 429:
                # Refused by the sim (tests send bad input on purpose to see it refused): the
                # refusal is the check; its error body is validated below.
                c["refused"] += 1
            elif op["body"] is None:
                v.fail(label, "the operation takes no body")
            else:
                c["requests"] += 1
                v.check(x["request"], op["body"], f"{label} request")
        resp = x.get("response")
        if resp is None:
            continue
        if 200 <= status < 300:
            if op["response"] is None:
                v.fail(label, "the operation answers no body")
            else:
                c["responses"] += 1
                v.check(resp, op["response"], f"{label} response")
        else:
            c["errors"] += 1
            v.check(resp, "ErrorBody", f"{label} error {status}")
    return counts


def check_enums(enums_path, v):
    with open(enums_path, encoding="utf-8") as f:
        lists = json.load(f)
    checked = 0
    for name, values in sorted(lists.items()):
        targets = ENUM_FIELDS.get(name)
        if targets is None:
            v.fail(f"enum {name}", "no SDK field is mapped to this list (add it to ENUM_FIELDS)")
            continue
        allowed = set()
        for model, attr in targets:
            got = allowed_values(model).get(attr)
            if got is None:
                v.fail(f"enum {name}", f"{model}.{attr} has no allowed values in the SDK")
                continue
            allowed.update(got)
        for value in values:
            checked += 1
            if value not in allowed:
                v.fail(f"enum {name}", f"{value!r} is not allowed by {targets}")
    missing = set(ENUM_FIELDS) - set(lists)
    for name in sorted(missing):
        v.fail(f"enum {name}", "the crates exported no such list")
    print(f"contract-check: {checked} wire enum values in {len(lists)} lists checked")


def set_path(value, path, fn):
    """Applies fn to the dict holding the last key of path (a list of keys and indexes)."""
    target = value
    for k in path[:-1]:
        target = target[k]
    fn(target, path[-1])


def find(value, pred, path=()):
    """The first path (keys and indexes) to a dict for which pred(dict) holds."""
    if isinstance(value, dict):
        if pred(value):
            return list(path)
        for k, x in value.items():
            p = find(x, pred, path + (k,))
            if p is not None:
                return p
    elif isinstance(value, list):
        for i, x in enumerate(value):
            p = find(x, pred, path + (i,))
            if p is not None:
                return p
    return None


def rename(old, new):
    def fn(d, k):
        d[k][new] = d[k].pop(old)
    return fn


def assign(field, value):
    def fn(d, k):
        d[k][field] = value
    return fn


# (what, operation, side, which dict to break, how): each must make the validator fail.
BREAKAGES = [
    ("renamed request field text -> textBody", "post_conversations_message_inbound_open_message",
     "request", lambda d: "text" in d, rename("text", "textBody")),
    ("deprecated channel.platform in the inbound request", "post_conversations_message_inbound_open_message",
     "request", lambda d: "messageId" in d, assign("platform", "Open")),
    ("stale enum toAddressMessengerType=line", "post_conversations_messages_agentless",
     "request", lambda d: "toAddressMessengerType" in d, assign("toAddressMessengerType", "line")),
    ("wrong type paging.pageSize as a string", "post_analytics_conversations_details_query",
     "request", lambda d: "pageSize" in d, assign("pageSize", "25")),
    ("stale enum segmentType=scripted in an answer", "post_analytics_conversations_details_query",
     "response", lambda d: "segmentType" in d, assign("segmentType", "scripted")),
    ("stale enum purpose=bot in an answer", "get_analytics_conversation_details",
     "response", lambda d: "purpose" in d, assign("purpose", "bot")),
    ("removed field textBody back in a MessageData answer", "post_conversations_message_messages_bulk",
     "response", lambda d: "messengerType" in d, assign("textBody", "hello")),
    ("renamed answer field contentSizeBytes -> fileSize", "post_conversations_message_messages_bulk",
     "response", lambda d: "contentSizeBytes" in d, rename("contentSizeBytes", "fileSize")),
    ("stale enum messengerType=line in an answer", "post_conversations_message_communication_messages",
     "response", lambda d: "messengerType" in d, assign("messengerType", "line")),
]


def self_test(capture_dir):
    ops = sdk_operations()
    by_name = {op["name"]: op for op in ops.values()}
    v = Validator()
    samples = {}
    for _, x in exchanges(capture_dir, v):
        op = ops.get((x["method"], norm(x["route"])))
        if op is None or not (200 <= x.get("status", 0) < 300):
            continue
        for side in ("request", "response"):
            body = x.get(side)
            if body is not None:
                samples.setdefault((op["name"], side), []).append(body)
    problems = []
    for what, name, side, pred, breaker in BREAKAGES:
        model = by_name[name]["body" if side == "request" else "response"]
        candidates = samples.get((name, side), [])
        chosen = None
        for body in candidates:
            path = find(body, pred)
            if path is not None:
                chosen = (body, path)
                break
        if chosen is None:
            problems.append(f"{what}: no {side} of {name} in the capture to break")
            continue
        body, path = chosen
        clean = Validator()
        clean.check(body, model, "original")
        broken = copy.deepcopy(body)
        if path:
            set_path(broken, path, lambda d, k: breaker(d, k))
        else:
            breaker({"root": broken}, "root")
        caught = Validator()
        caught.check(broken, model, "broken")
        if clean.errors:
            problems.append(f"{what}: the original already fails: {clean.errors[:3]}")
        elif not caught.errors:
            problems.append(f"{what}: the broken copy passed the check")
        else:
            print(f"contract-check self-test: caught {what}: {caught.errors[0]}")
    for p in problems + v.errors:
        print(f"contract-check self-test: FAIL: {p}", file=sys.stderr)
    if problems or v.errors:
        sys.exit(1)
    print(f"contract-check self-test: all {len(BREAKAGES)} broken bodies were rejected")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--self-test":
        self_test(sys.argv[2])
        return
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    v = Validator()
    ops = sdk_operations()
    required = {(m, norm(p)): (m, p) for m, p in REQUIRED}
    for key, (m, p) in required.items():
        if key not in ops:
            v.fail(f"{m} {p}", "the SDK has no such operation")
    counts = check_capture(sys.argv[1], ops, v)
    print(f"contract-check: SDK PureCloudPlatformClientV2 {importlib.metadata.version('PureCloudPlatformClientV2')}")
    print(f"{'operation':<60} {'calls':>6} {'requests':>8} {'answers':>8} {'errors':>6} {'refused':>7}")
    for key, (m, p) in sorted(required.items(), key=lambda kv: kv[1][1]):
        op = ops.get(key)
        zero = {"calls": 0, "requests": 0, "responses": 0, "errors": 0, "refused": 0}
        c = counts.get((m, op["path"]) if op else None, zero)
        name = op["name"] if op else "?"
        print(f"{m + ' ' + name:<60} {c['calls']:>6} {c['requests']:>8} {c['responses']:>8} {c['errors']:>6} {c['refused']:>7}")
        if c["calls"] == 0:
            v.fail(f"{m} {p}", "no exchange of this operation in the capture")
        elif op and op["body"] is not None and c["requests"] == 0:
            v.fail(f"{m} {p}", "no request body of this operation in the capture")
        elif op and op["response"] is not None and c["responses"] == 0:
            v.fail(f"{m} {p}", "no successful answer of this operation in the capture")
    for (m, p), c in sorted(counts.items()):
        if (m, norm(p)) not in required:
            print(f"(not required) {m} {p}: {c['calls']} calls, {c['errors']} error bodies")
    if len(sys.argv) == 3:
        check_enums(sys.argv[2], v)
    if v.errors:
        shown = v.errors[:200]
        for e in shown:
            print(f"contract-check: FAIL: {e}", file=sys.stderr)
        if len(v.errors) > len(shown):
            print(f"contract-check: ... and {len(v.errors) - len(shown)} more", file=sys.stderr)
        sys.exit(1)
    print("contract-check: every recorded body and wire enum matches the SDK models")


if __name__ == "__main__":
    main()
