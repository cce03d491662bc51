//! Analytics conversation details: the query, one conversation's details, and the filter
//! evaluation the jobs API shares.
//!
//! What the sim evaluates: a conversation is in an interval when its `conversationStart` is in
//! `[start, end)`. Predicates are checked against the platform's lists (SDK 269): a dimension
//! outside the filter kind's list (`conversationId`, `sessionId` or `participantId` in a segment
//! filter, say), a value outside a closed list (`purpose`, `mediaType`, `segmentType`,
//! `direction`, `originatingDirection`, `disconnectType`), a property predicate without a valid
//! `propertyType` or in a conversation filter, or a metric predicate with a `value` instead of a
//! `range`, is a 400 with the platform's error body. Evaluated: the conversation dimensions
//! `conversationId`, `originatingDirection`, `divisionId`; the segment dimensions `mediaType`,
//! `direction`, `purpose`, `segmentType`, `messageType`, `userId`, `disconnectType` and the
//! segment metric `tSegmentDuration` (a segment filter matches when one segment satisfies it);
//! other valid dimensions and properties are never present. Operators `matches` (default),
//! `exists`, `notExists`. Filters combine with AND; inside a filter, predicates and clauses
//! combine by the filter's `type` (`and`|`or`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use super::shared::{AppState, json, parse_json, require_oauth};
use crate::dataset::{Conv, iso};
use crate::error::{ApiResult, GenesysError};
use crate::state::SimState;

/// A predicate value that makes an analytics job end FAILED (for testing failure paths).
pub const FAIL_JOB_VALUE: &str = "genesys-sim:fail-job";

/// Most results per query page.
pub(crate) const MAX_QUERY_PAGE_SIZE: u64 = 100;

/// The platform's conversation-filter dimensions. The sim evaluates `conversationId`,
/// `originatingDirection` and `divisionId`; the others are accepted and never present.
const CONVERSATION_DIMENSIONS: &[&str] = &[
    "accessAttribute",
    "conversationEnd",
    "conversationId",
    "conversationInitiator",
    "conversationStart",
    "customerParticipation",
    "divisionId",
    "externalTag",
    "mediaStatsMinConversationMos",
    "originatingDirection",
    "originatingSocialMediaPublic",
];
/// The platform's segment-filter dimensions (no `conversationId`, `sessionId` or
/// `participantId`). The sim evaluates `mediaType`, `direction`, `purpose`, `segmentType`,
/// `messageType`, `userId` and `disconnectType`; the others are accepted and never present.
const SEGMENT_DIMENSIONS: &[&str] = &[
    "addressFrom",
    "addressTo",
    "agentAssistantId",
    "agentOwned",
    "ani",
    "authenticated",
    "bargedParticipantId",
    "callbackNumber",
    "callbackScheduledTime",
    "canonicalExternalContactId",
    "cleared",
    "coachedParticipantId",
    "conference",
    "deliveryPushed",
    "deliveryStatus",
    "destinationAddress",
    "destinationConversationId",
    "detectedSpeechEnd",
    "detectedSpeechStart",
    "direction",
    "disconnectType",
    "dnis",
    "edgeId",
    "engagementSource",
    "errorCode",
    "exitReason",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalOrganizationId",
    "flaggedReason",
    "flowId",
    "flowName",
    "flowOutType",
    "flowOutcome",
    "flowOutcomeId",
    "flowOutcomeValue",
    "flowVersion",
    "groupId",
    "journeyActionId",
    "journeyActionMapId",
    "journeyCustomerId",
    "journeyCustomerIdType",
    "journeyCustomerSessionId",
    "mediaCount",
    "mediaType",
    "messageType",
    "monitoredParticipantId",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "protocolCallId",
    "provider",
    "purpose",
    "queueId",
    "recording",
    "remote",
    "remoteNameDisplayable",
    "requestedLanguageId",
    "requestedRouting",
    "requestedRoutingSkillId",
    "scoredAgentId",
    "screenMonitoredUserId",
    "screenRecording",
    "scriptId",
    "segmentEnd",
    "segmentType",
    "sessionDnis",
    "sipResponseCode",
    "skillExpressionId",
    "snippetRecording",
    "subject",
    "teamId",
    "transferTargetAddress",
    "transferTargetName",
    "transferType",
    "usedRouting",
    "userId",
    "wrapUpCode",
    "wrapUpNote",
];
/// Metrics a segment predicate may test (the sim evaluates `tSegmentDuration`, milliseconds).
const SEGMENT_METRICS: &[&str] = &["tSegmentDuration"];
/// `propertyType` values of a segment property predicate.
const PROPERTY_TYPES: &[&str] = &["bool", "integer", "real", "date", "string", "uuid"];

/// Dimensions whose values are a closed list: a `matches` value outside it is a 400.
fn closed_values(dimension: &str) -> Option<&'static [&'static str]> {
    Some(match dimension {
        "purpose" => &[
            "acd",
            "agent",
            "api",
            "botflow",
            "campaign",
            "customer",
            "dialer",
            "external",
            "fax",
            "group",
            "inbound",
            "ivr",
            "manual",
            "outbound",
            "station",
            "user",
            "voicemail",
            "voicesurveyflow",
            "workflow",
        ],
        "mediaType" => &[
            "callback",
            "chat",
            "cobrowse",
            "email",
            "internalmessage",
            "message",
            "screenmonitoring",
            "screenshare",
            "unknown",
            "video",
            "voice",
        ],
        "segmentType" => &[
            "alert",
            "barging",
            "callback",
            "coaching",
            "contacting",
            "converting",
            "delay",
            "dialing",
            "hold",
            "interact",
            "ivr",
            "monitoring",
            "parked",
            "scheduled",
            "screenmonitoring",
            "sharing",
            "system",
            "transmitting",
            "unknown",
            "uploading",
            "voicemail",
            "wrapup",
        ],
        "disconnectType" => &[
            "client",
            "conferenceTransfer",
            "consultTransfer",
            "dndEndpoint",
            "dndTransfer",
            "endpoint",
            "error",
            "forwardTransfer",
            "inactivity",
            "noAnswerTransfer",
            "notAvailableTransfer",
            "other",
            "peer",
            "sessionExpired",
            "spam",
            "system",
            "takeover",
            "timeout",
            "transfer",
            "transportFailure",
            "uncallable",
        ],
        "direction" | "originatingDirection" => &["inbound", "outbound"],
        _ => return None,
    })
}

/// What one filter kind accepts.
#[derive(Clone, Copy, Debug)]
struct FilterKind {
    name: &'static str,
    dimensions: &'static [&'static str],
    /// Properties are segment-only.
    properties: bool,
    /// The metrics it evaluates (others of the platform's list are never present).
    metrics: &'static [&'static str],
}

const CONVERSATION_FILTER: FilterKind = FilterKind {
    name: "conversationFilters",
    dimensions: CONVERSATION_DIMENSIONS,
    properties: false,
    metrics: &[],
};
const SEGMENT_FILTER: FilterKind = FilterKind {
    name: "segmentFilters",
    dimensions: SEGMENT_DIMENSIONS,
    properties: true,
    metrics: SEGMENT_METRICS,
};

#[derive(Clone, Copy, Debug, Default)]
struct Range {
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
}

impl Range {
    fn contains(&self, v: f64) -> bool {
        self.gt.is_none_or(|b| v > b)
            && self.gte.is_none_or(|b| v >= b)
            && self.lt.is_none_or(|b| v < b)
            && self.lte.is_none_or(|b| v <= b)
    }
}

#[derive(Clone, Debug)]
enum Operator {
    Matches(String),
    InRange(Range),
    Exists,
    NotExists,
}

#[derive(Clone, Debug)]
struct Predicate {
    /// The attribute key: the dimension name, `metric:NAME` or `property:NAME`.
    key: String,
    operator: Operator,
}

#[derive(Clone, Debug)]
struct Filter {
    any: bool,
    predicates: Vec<Predicate>,
    clauses: Vec<Filter>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OrderBy {
    Start,
    End,
}

/// A parsed query (the details query and the job body share it).
#[derive(Clone, Debug)]
pub(crate) struct DetailsQuery {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    conversation_filters: Vec<Filter>,
    segment_filters: Vec<Filter>,
    desc: bool,
    order_by: OrderBy,
    /// A predicate carried [`FAIL_JOB_VALUE`].
    pub fail_magic: bool,
}

fn parse_interval(v: Option<&Value>) -> Result<(DateTime<Utc>, DateTime<Utc>), GenesysError> {
    let Some(v) = v else {
        return Err(GenesysError::bad_request("interval is required."));
    };
    let Some(s) = v.as_str() else {
        return Err(GenesysError::invalid_value(
            "interval must be a string \"start/end\".",
        ));
    };
    let bad = || {
        GenesysError::invalid_value(format!(
            "interval must be two ISO-8601 instants \"start/end\", got {s:?}."
        ))
    };
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    let a = DateTime::parse_from_rfc3339(a.trim()).map_err(|_| bad())?;
    let b = DateTime::parse_from_rfc3339(b.trim()).map_err(|_| bad())?;
    let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
    if b <= a {
        return Err(GenesysError::invalid_value(
            "interval end must be after its start.",
        ));
    }
    Ok((a, b))
}

fn parse_filter(
    v: &Value,
    kind: FilterKind,
    max_predicates: usize,
    fail: &mut bool,
) -> Result<Filter, GenesysError> {
    let obj = v
        .as_object()
        .ok_or_else(|| GenesysError::invalid_value("A filter must be an object."))?;
    let any = match obj.get("type").and_then(Value::as_str) {
        Some("or") => true,
        Some("and") => false,
        Some(other) => {
            return Err(GenesysError::invalid_value(format!(
                "filter type must be \"and\" or \"or\", got {other:?}."
            )));
        }
        None => return Err(GenesysError::bad_request("filter type is required.")),
    };
    let mut predicates = Vec::new();
    if let Some(p) = obj.get("predicates") {
        let list = p
            .as_array()
            .ok_or_else(|| GenesysError::invalid_value("predicates must be an array."))?;
        if list.len() > max_predicates {
            return Err(GenesysError::invalid_value(format!(
                "A filter takes at most {max_predicates} predicates, got {}.",
                list.len()
            )));
        }
        for p in list {
            predicates.push(parse_predicate(p, kind, fail)?);
        }
    }
    let mut clauses = Vec::new();
    if let Some(c) = obj.get("clauses") {
        let list = c
            .as_array()
            .ok_or_else(|| GenesysError::invalid_value("clauses must be an array."))?;
        for c in list {
            clauses.push(parse_filter(c, kind, max_predicates, fail)?);
        }
    }
    if predicates.is_empty() && clauses.is_empty() {
        return Err(GenesysError::invalid_value(
            "A filter needs at least one predicate or clause.",
        ));
    }
    Ok(Filter {
        any,
        predicates,
        clauses,
    })
}

fn parse_range(v: Option<&Value>) -> Result<Option<Range>, GenesysError> {
    let Some(v) = v else { return Ok(None) };
    let obj = v
        .as_object()
        .ok_or_else(|| GenesysError::invalid_value("range must be an object."))?;
    let mut r = Range::default();
    for (k, x) in obj {
        let n = x
            .as_f64()
            .ok_or_else(|| GenesysError::invalid_value(format!("range.{k} must be a number.")))?;
        match k.as_str() {
            "gt" => r.gt = Some(n),
            "gte" => r.gte = Some(n),
            "lt" => r.lt = Some(n),
            "lte" => r.lte = Some(n),
            other => {
                return Err(GenesysError::invalid_value(format!(
                    "Unrecognized field range.{other}."
                )));
            }
        }
    }
    Ok(Some(r))
}

fn parse_predicate(
    v: &Value,
    kind: FilterKind,
    fail: &mut bool,
) -> Result<Predicate, GenesysError> {
    let obj = v
        .as_object()
        .ok_or_else(|| GenesysError::invalid_value("A predicate must be an object."))?;
    let str_field = |k: &str| obj.get(k).and_then(Value::as_str);
    let value = str_field("value");
    if value == Some(FAIL_JOB_VALUE) {
        *fail = true;
    }
    let range = parse_range(obj.get("range"))?;
    let ptype = str_field("type").unwrap_or("dimension");
    let key = match ptype {
        "dimension" => {
            let dimension = str_field("dimension")
                .ok_or_else(|| GenesysError::bad_request("predicate dimension is required."))?;
            if !kind.dimensions.contains(&dimension) {
                return Err(GenesysError::invalid_value(format!(
                    "{dimension:?} is not a valid dimension of {}.",
                    kind.name
                )));
            }
            if let (Some(allowed), Some(v)) = (closed_values(dimension), value)
                && !allowed.contains(&v)
            {
                return Err(GenesysError::invalid_value(format!(
                    "{v:?} is not a valid value of dimension {dimension:?}; allowed: {allowed:?}."
                )));
            }
            if range.is_some() {
                return Err(GenesysError::invalid_value(
                    "A dimension predicate takes a value, not a range.",
                ));
            }
            dimension.to_owned()
        }
        "property" => {
            if !kind.properties {
                return Err(GenesysError::invalid_value(format!(
                    "{} predicates have no properties.",
                    kind.name
                )));
            }
            let property = str_field("property")
                .ok_or_else(|| GenesysError::bad_request("predicate property is required."))?;
            match str_field("propertyType") {
                Some(t) if PROPERTY_TYPES.contains(&t) => {}
                Some(t) => {
                    return Err(GenesysError::invalid_value(format!(
                        "propertyType {t:?} is not one of {PROPERTY_TYPES:?}."
                    )));
                }
                None => {
                    return Err(GenesysError::bad_request(
                        "propertyType is required for a property predicate.",
                    ));
                }
            }
            format!("property:{property}")
        }
        "metric" => {
            let metric = str_field("metric")
                .ok_or_else(|| GenesysError::bad_request("predicate metric is required."))?;
            if !kind.metrics.contains(&metric) {
                return Err(GenesysError::invalid_value(format!(
                    "{metric:?} is not a metric the simulator evaluates in {} ({:?}).",
                    kind.name, kind.metrics
                )));
            }
            if value.is_some() {
                return Err(GenesysError::invalid_value(
                    "A metric predicate takes a range, not a value.",
                ));
            }
            format!("metric:{metric}")
        }
        other => {
            return Err(GenesysError::invalid_value(format!(
                "predicate type {other:?} is not one of dimension, property, metric."
            )));
        }
    };
    let operator = match str_field("operator") {
        None | Some("matches") => match (range, value) {
            (Some(r), _) => Operator::InRange(r),
            (None, Some(v)) => Operator::Matches(v.to_owned()),
            (None, None) => {
                return Err(GenesysError::bad_request(
                    "predicate value (or range) is required for matches.",
                ));
            }
        },
        Some("exists") => Operator::Exists,
        Some("notExists") => Operator::NotExists,
        Some(other) => {
            return Err(GenesysError::invalid_value(format!(
                "Unknown operator {other:?}."
            )));
        }
    };
    Ok(Predicate { key, operator })
}

fn parse_filters(
    obj: &Map<String, Value>,
    kind: FilterKind,
    max_predicates: usize,
    fail: &mut bool,
) -> Result<Vec<Filter>, GenesysError> {
    match obj.get(kind.name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|f| parse_filter(f, kind, max_predicates, fail))
            .collect(),
        Some(_) => Err(GenesysError::invalid_value(format!(
            "{} must be an array.",
            kind.name
        ))),
    }
}

impl DetailsQuery {
    pub(crate) fn parse(value: &Value, state: &SimState) -> Result<Self, GenesysError> {
        let obj = value
            .as_object()
            .ok_or_else(|| GenesysError::bad_request("The body must be a JSON object."))?;
        let (start, end) = parse_interval(obj.get("interval"))?;
        let max = state.config.max_predicates;
        let mut fail = false;
        let conversation_filters = parse_filters(obj, CONVERSATION_FILTER, max, &mut fail)?;
        let segment_filters = parse_filters(obj, SEGMENT_FILTER, max, &mut fail)?;
        let desc = match obj.get("order").and_then(Value::as_str) {
            None | Some("asc") | Some("unordered") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(GenesysError::invalid_value(format!(
                    "order must be asc, desc or unordered, got {other:?}."
                )));
            }
        };
        let order_by = match obj.get("orderBy").and_then(Value::as_str) {
            None | Some("conversationStart") | Some("segmentStart") => OrderBy::Start,
            Some("conversationEnd") | Some("segmentEnd") => OrderBy::End,
            Some(other) => {
                return Err(GenesysError::invalid_value(format!(
                    "orderBy {other:?} is not supported."
                )));
            }
        };
        Ok(Self {
            start,
            end,
            conversation_filters,
            segment_filters,
            desc,
            order_by,
            fail_magic: fail,
        })
    }

    /// Indices of the matching conversations, in the asked order.
    pub(crate) fn matching(&self, state: &SimState) -> Vec<u32> {
        let mut hits: Vec<&Conv> = state
            .data
            .convs
            .iter()
            .filter(|c| c.public.start >= self.start && c.public.start < self.end)
            .filter(|c| {
                let attrs = conversation_attrs(c);
                self.conversation_filters.iter().all(|f| eval(f, &attrs))
            })
            .filter(|c| {
                if self.segment_filters.is_empty() {
                    return true;
                }
                let segments = segment_attrs(c);
                self.segment_filters
                    .iter()
                    .all(|f| segments.iter().any(|s| eval(f, s)))
            })
            .collect();
        let key = |c: &Conv| match self.order_by {
            OrderBy::Start => c.public.start,
            OrderBy::End => c.public.end,
        };
        hits.sort_by(|a, b| {
            key(a)
                .cmp(&key(b))
                .then_with(|| a.public.id.cmp(&b.public.id))
        });
        if self.desc {
            hits.reverse();
        }
        hits.into_iter().map(|c| c.index).collect()
    }
}

fn eval(f: &Filter, attrs: &HashMap<&'static str, String>) -> bool {
    let mut results = f
        .predicates
        .iter()
        .map(|p| {
            let v = attrs.get(p.key.as_str());
            match &p.operator {
                Operator::Matches(want) => v.is_some_and(|v| v == want),
                Operator::InRange(r) => v
                    .and_then(|v| v.parse::<f64>().ok())
                    .is_some_and(|v| r.contains(v)),
                Operator::Exists => v.is_some(),
                Operator::NotExists => v.is_none(),
            }
        })
        .chain(f.clauses.iter().map(|c| eval(c, attrs)));
    if f.any {
        results.any(|b| b)
    } else {
        results.all(|b| b)
    }
}

fn conversation_attrs(c: &Conv) -> HashMap<&'static str, String> {
    HashMap::from([
        ("conversationId", c.public.id.clone()),
        ("originatingDirection", direction(c).to_owned()),
        ("divisionId", c.division.clone()),
    ])
}

fn direction(c: &Conv) -> &'static str {
    if c.outbound_origin {
        "outbound"
    } else {
        "inbound"
    }
}

/// One map per segment, with the dimensions a segment filter may test.
fn segment_attrs(c: &Conv) -> Vec<HashMap<&'static str, String>> {
    let conv_json = conversation_json(c);
    let mut out = Vec::new();
    for p in conv_json["participants"].as_array().into_iter().flatten() {
        for s in p["sessions"].as_array().into_iter().flatten() {
            for seg in s["segments"].as_array().into_iter().flatten() {
                let mut m = HashMap::from([("conversationId", c.public.id.clone())]);
                let mut put = |k: &'static str, v: &Value| {
                    if let Some(s) = v.as_str() {
                        m.insert(k, s.to_owned());
                    }
                };
                put("purpose", &p["purpose"]);
                put("userId", &p["userId"]);
                put("mediaType", &s["mediaType"]);
                put("direction", &s["direction"]);
                put("messageType", &s["messageType"]);
                put("segmentType", &seg["segmentType"]);
                put("disconnectType", &seg["disconnectType"]);
                let span = |k: &str| {
                    seg[k]
                        .as_str()
                        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                };
                if let (Some(a), Some(b)) = (span("segmentStart"), span("segmentEnd")) {
                    let ms = (b - a).num_milliseconds();
                    m.insert("metric:tSegmentDuration", ms.to_string());
                }
                out.push(m);
            }
        }
    }
    out
}

fn segment(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    kind: &str,
    disconnect: Option<&str>,
) -> Value {
    let mut v = json!({"segmentStart": iso(start), "segmentEnd": iso(end), "segmentType": kind});
    if let Some(d) = disconnect {
        v["disconnectType"] = json!(d);
    }
    v
}

/// The analytics view of one conversation.
pub(crate) fn conversation_json(c: &Conv) -> Value {
    let (start, end) = (c.public.start, c.public.end);
    let bot_end = (start + c.gap * 3).min(end);
    let alert_end = (bot_end + TimeDelta::seconds(8)).min(end);
    let dir = direction(c);
    json!({
        "conversationId": c.public.id,
        "conversationStart": iso(start),
        "conversationEnd": iso(end),
        "originatingDirection": dir,
        "divisionIds": [c.division],
        "participants": [
            {
                "participantId": c.customer_participant,
                "participantName": format!("{} {}", c.customer_first, c.customer_last),
                "purpose": "customer",
                "sessions": [{
                    "mediaType": "message",
                    "sessionId": c.customer_session,
                    "direction": dir,
                    "messageType": "webmessaging",
                    "segments": [segment(start, end, "interact", Some("endpoint"))],
                }],
            },
            {
                "participantId": c.bot_participant,
                "participantName": "Sim Bot",
                "purpose": "workflow",
                "sessions": [{
                    "mediaType": "message",
                    "sessionId": c.bot_session,
                    "direction": dir,
                    "messageType": "webmessaging",
                    "segments": [segment(start, bot_end, "interact", Some("transfer"))],
                }],
            },
            {
                "participantId": c.agent_participant,
                "participantName": c.agent_name,
                "userId": c.agent_user,
                "purpose": "agent",
                "sessions": [{
                    "mediaType": "message",
                    "sessionId": c.public.communication_id,
                    "direction": dir,
                    "messageType": "webmessaging",
                    "segments": [
                        segment(bot_end, alert_end, "alert", None),
                        segment(alert_end, end, "interact", Some("client")),
                        segment(end, end + TimeDelta::seconds(30), "wrapup", None),
                    ],
                }],
            },
        ],
    })
}

pub(crate) async fn query(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let value = parse_json(&body)?;
    let q = DetailsQuery::parse(&value, &state)?;
    let paging = value.get("paging");
    let page_size = paging_field(paging, "pageSize", 25)?;
    let page_number = paging_field(paging, "pageNumber", 1)?;
    if page_size == 0 || page_size > MAX_QUERY_PAGE_SIZE {
        return Err(GenesysError::invalid_value(format!(
            "paging.pageSize must be between 1 and {MAX_QUERY_PAGE_SIZE}, got {page_size}."
        )));
    }
    if page_number == 0 {
        return Err(GenesysError::invalid_value(
            "paging.pageNumber must be at least 1.",
        ));
    }
    let cap = state.config.analytics_result_cap;
    let first = (page_number - 1).saturating_mul(page_size);
    if first >= cap {
        return Err(GenesysError::bad_request(format!(
            "The query asks for results beyond the maximum of {cap} per query; narrow the interval or use the conversation details jobs API."
        )));
    }
    let hits = q.matching(&state);
    let total = hits.len() as u64;
    let last = first.saturating_add(page_size).min(total).min(cap);
    let mut body = json!({ "totalHits": total });
    if first < last {
        let conversations: Vec<Value> = hits[first as usize..last as usize]
            .iter()
            .map(|&i| conversation_json(&state.data.convs[i as usize]))
            .collect();
        body["conversations"] = Value::Array(conversations);
    }
    Ok(json(StatusCode::OK, &body))
}

fn paging_field(paging: Option<&Value>, name: &str, default: u64) -> Result<u64, GenesysError> {
    match paging.and_then(|p| p.get(name)) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| {
            GenesysError::invalid_value(format!("paging.{name} must be a positive integer."))
        }),
    }
}

pub(crate) async fn details(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult {
    require_oauth(&state, &headers)?;
    let conv = state
        .data
        .conv_by_id(&id)
        .ok_or_else(|| GenesysError::not_found(format!("Conversation {id} was not found.")))?;
    Ok(json(StatusCode::OK, &conversation_json(conv)))
}
