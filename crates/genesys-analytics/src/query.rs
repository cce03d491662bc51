//! [`ConversationQuery`]: the body of `POST /api/v2/analytics/conversations/details/query`,
//! built and checked before anything goes on the wire.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use genesys_analytics::{ConversationQuery, Filter, Order, OrderBy, Predicate};
//!
//! let q = ConversationQuery::builder()
//!     .interval(
//!         Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
//!         Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap(),
//!     )
//!     .order(Order::Desc)
//!     .order_by(OrderBy::ConversationStart)
//!     .page_size(100)
//!     .segment_filter(Filter::and([Predicate::dimension("mediaType").matches("message")]))
//!     .build()
//!     .unwrap();
//! assert_eq!(
//!     serde_json::to_value(&q).unwrap()["interval"],
//!     "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z"
//! );
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, SubsecRound, TimeDelta, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::error::QueryError;
use crate::tolerant::tolerant_enum;

/// The largest page the details query serves.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The page size the platform uses when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 25;

/// Well-known dimension names for [`Predicate::dimension`].
///
/// The platform keeps two lists: conversation filters take the conversation-level dimensions
/// ([`CONVERSATION`](dimension::CONVERSATION)), segment filters the segment-level ones
/// ([`SEGMENT`](dimension::SEGMENT) is the part of that long list named here). There is no
/// `sessionId` or `participantId` dimension, and `conversationId` is a conversation dimension
/// only; [`ConversationQueryBuilder::build`] refuses a known dimension in the wrong kind of
/// filter.
pub mod dimension {
    /// The conversation id (conversation filters).
    pub const CONVERSATION_ID: &str = "conversationId";
    /// The media type of a session (`voice`, `message`…; segment filters).
    pub const MEDIA_TYPE: &str = "mediaType";
    /// The messaging channel of a session (`webmessaging`, `sms`…; segment filters).
    pub const MESSAGE_TYPE: &str = "messageType";
    /// The direction of a session (segment filters).
    pub const DIRECTION: &str = "direction";
    /// The direction the conversation started in (conversation filters).
    pub const ORIGINATING_DIRECTION: &str = "originatingDirection";
    /// A participant's purpose (`customer`, `agent`, `botflow`…; segment filters).
    pub const PURPOSE: &str = "purpose";
    /// A user (agent) id (segment filters).
    pub const USER_ID: &str = "userId";
    /// A queue id (segment filters).
    pub const QUEUE_ID: &str = "queueId";
    /// A division id (conversation filters).
    pub const DIVISION_ID: &str = "divisionId";
    /// The disconnect type of a segment (segment filters).
    pub const DISCONNECT_TYPE: &str = "disconnectType";
    /// The segment type (segment filters).
    pub const SEGMENT_TYPE: &str = "segmentType";
    /// An outbound campaign id (segment filters).
    pub const OUTBOUND_CAMPAIGN_ID: &str = "outboundCampaignId";
    /// An outbound contact id (segment filters).
    pub const OUTBOUND_CONTACT_ID: &str = "outboundContactId";
    /// A wrap-up code (segment filters).
    pub const WRAP_UP_CODE: &str = "wrapUpCode";

    /// The dimensions named here that conversation filters take.
    pub const CONVERSATION: &[&str] = &[CONVERSATION_ID, ORIGINATING_DIRECTION, DIVISION_ID];
    /// The dimensions named here that segment filters take.
    pub const SEGMENT: &[&str] = &[
        MEDIA_TYPE,
        MESSAGE_TYPE,
        DIRECTION,
        PURPOSE,
        USER_ID,
        QUEUE_ID,
        DISCONNECT_TYPE,
        SEGMENT_TYPE,
        OUTBOUND_CAMPAIGN_ID,
        OUTBOUND_CONTACT_ID,
        WRAP_UP_CODE,
    ];
}

/// A time range `[start, end)` with millisecond precision, written
/// `2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Interval {
    /// The range from `start` to `end`, cut to whole milliseconds (the wire's precision).
    /// Fails with [`QueryError::IntervalNotIncreasing`] unless `start` is before `end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, QueryError> {
        let (start, end) = (start.trunc_subsecs(3), end.trunc_subsecs(3));
        if start >= end {
            return Err(QueryError::IntervalNotIncreasing { start, end });
        }
        Ok(Self { start, end })
    }

    /// The last `span` up to now, now included (the end is rounded up to the next whole
    /// millisecond so that something that started this very moment is inside).
    pub fn last(span: Duration) -> Result<Self, QueryError> {
        Self::ending_at(Utc::now() + TimeDelta::milliseconds(1), span)
    }

    /// The `span` that ends at `end`.
    pub fn ending_at(end: DateTime<Utc>, span: Duration) -> Result<Self, QueryError> {
        let start = TimeDelta::from_std(span)
            .ok()
            .and_then(|d| end.checked_sub_signed(d))
            .ok_or(QueryError::IntervalOutOfRange { span })?;
        Self::new(start, end)
    }

    /// Where the range starts (inclusive).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Where the range ends (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// Whether `t` falls inside `[start, end)`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}",
            self.start.to_rfc3339_opts(SecondsFormat::Millis, true),
            self.end.to_rfc3339_opts(SecondsFormat::Millis, true)
        )
    }
}

impl FromStr for Interval {
    type Err = QueryError;

    /// Parses `start/end`, both RFC 3339.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || QueryError::IntervalSyntax {
            input: s.chars().take(100).collect(),
        };
        let (a, b) = s.split_once('/').ok_or_else(bad)?;
        let start = DateTime::parse_from_rfc3339(a.trim()).map_err(|_| bad())?;
        let end = DateTime::parse_from_rfc3339(b.trim()).map_err(|_| bad())?;
        Self::new(start.with_timezone(&Utc), end.with_timezone(&Utc))
    }
}

impl Serialize for Interval {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The order of the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum Order {
    /// Oldest first.
    Asc,
    /// Newest first.
    Desc,
    /// No particular order (may be faster).
    Unordered,
}

tolerant_enum! {
    /// What the results are ordered by.
    pub enum OrderBy {
        /// When the conversation started.
        ConversationStart => "conversationStart",
        /// When the conversation ended.
        ConversationEnd => "conversationEnd",
        /// When the matched segment started.
        SegmentStart => "segmentStart",
        /// When the matched segment ended.
        SegmentEnd => "segmentEnd",
    }
}

/// Which page to fetch: `pageSize` 1..=100, `pageNumber` from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    page_size: u32,
    page_number: u32,
}

impl Paging {
    /// Checked paging.
    pub fn new(page_size: u32, page_number: u32) -> Result<Self, QueryError> {
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(QueryError::PageSizeOutOfRange { page_size });
        }
        if page_number == 0 {
            return Err(QueryError::PageNumberZero);
        }
        Ok(Self {
            page_size,
            page_number,
        })
    }

    /// Results per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The 1-based page number.
    pub fn page_number(&self) -> u32 {
        self.page_number
    }
}

impl Default for Paging {
    fn default() -> Self {
        Self {
            page_size: DEFAULT_PAGE_SIZE,
            page_number: 1,
        }
    }
}

/// What a predicate looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PredicateType {
    /// A dimension (`conversationId`, `mediaType`, `queueId`…): sent as `"dimension": name`.
    Dimension,
    /// A custom property of a segment: sent as `"property": name` with its `propertyType`.
    /// Segment filters only (conversation predicates have no properties).
    Property,
    /// A metric (`tTalk`, `nConnected`, `tSegmentDuration`…): sent as `"metric": name`, compared
    /// with a [`NumericRange`].
    Metric,
}

impl PredicateType {
    /// The wire value of `type`, which is also the key that carries the name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Dimension => "dimension",
            Self::Property => "property",
            Self::Metric => "metric",
        }
    }
}

tolerant_enum! {
    /// The type of a property predicate's value (`propertyType`), which the platform needs to
    /// compare it.
    pub enum PropertyType {
        /// true / false.
        Bool => "bool",
        /// A whole number.
        Integer => "integer",
        /// A decimal number.
        Real => "real",
        /// A date.
        Date => "date",
        /// Text.
        String => "string",
        /// A UUID.
        Uuid => "uuid",
    }
}

/// The range a metric predicate compares with (`range`: `gt`, `gte`, `lt`, `lte`; metrics are
/// milliseconds for `t…` metrics and counts for `n…` metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct NumericRange {
    /// Greater than.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// Greater than or equal to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// Less than.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// Less than or equal to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
}

impl NumericRange {
    /// `[gte, lt)`: at least `gte` and below `lt`.
    pub fn between(gte: f64, lt: f64) -> Self {
        Self {
            gte: Some(gte),
            lt: Some(lt),
            ..Self::default()
        }
    }

    /// At least `gte`.
    pub fn at_least(gte: f64) -> Self {
        Self {
            gte: Some(gte),
            ..Self::default()
        }
    }

    /// Below `lt`.
    pub fn below(lt: f64) -> Self {
        Self {
            lt: Some(lt),
            ..Self::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.gt.is_none() && self.gte.is_none() && self.lt.is_none() && self.lte.is_none()
    }
}

// A range holds finite numbers only (checked by `build`), so equality is total in practice.
impl Eq for NumericRange {}

impl std::hash::Hash for NumericRange {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for v in [self.gt, self.gte, self.lt, self.lte] {
            v.map(f64::to_bits).hash(state);
        }
    }
}

/// How a predicate compares.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operator {
    /// Equal to the value.
    Matches(String),
    /// Within the range (metric predicates: `operator: matches` with `range`).
    InRange(NumericRange),
    /// Present, whatever the value.
    Exists,
    /// Absent.
    NotExists,
}

impl Operator {
    /// The wire value of `operator`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Matches(_) | Self::InRange(_) => "matches",
            Self::Exists => "exists",
            Self::NotExists => "notExists",
        }
    }

    /// The value compared against, for [`Operator::Matches`].
    pub fn value(&self) -> Option<&str> {
        match self {
            Self::Matches(v) => Some(v),
            Self::InRange(_) | Self::Exists | Self::NotExists => None,
        }
    }

    /// The range compared against, for [`Operator::InRange`].
    pub fn range(&self) -> Option<&NumericRange> {
        match self {
            Self::InRange(r) => Some(r),
            _ => None,
        }
    }
}

/// The subject of a dimension or property predicate, waiting for its operator:
/// `Predicate::dimension("mediaType").matches("message")`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a predicate subject does nothing until given an operator"]
pub struct PredicateSubject {
    kind: PredicateType,
    name: String,
    property_type: Option<PropertyType>,
}

impl PredicateSubject {
    /// `operator: matches`, `value`.
    pub fn matches(self, value: impl Into<String>) -> Predicate {
        self.with(Operator::Matches(value.into()))
    }

    /// `operator: exists`.
    pub fn exists(self) -> Predicate {
        self.with(Operator::Exists)
    }

    /// `operator: notExists`.
    pub fn not_exists(self) -> Predicate {
        self.with(Operator::NotExists)
    }

    /// Any operator.
    pub fn with(self, operator: Operator) -> Predicate {
        Predicate {
            kind: self.kind,
            name: self.name,
            property_type: self.property_type,
            operator,
        }
    }
}

/// The subject of a metric predicate, waiting for its range:
/// `Predicate::metric("tSegmentDuration").range(NumericRange::at_least(60_000.0))`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "a predicate subject does nothing until given a range"]
pub struct MetricSubject {
    name: String,
}

impl MetricSubject {
    /// `operator: matches`, `range`.
    pub fn range(self, range: NumericRange) -> Predicate {
        self.with(Operator::InRange(range))
    }

    /// `operator: exists`.
    pub fn exists(self) -> Predicate {
        self.with(Operator::Exists)
    }

    /// `operator: notExists`.
    pub fn not_exists(self) -> Predicate {
        self.with(Operator::NotExists)
    }

    fn with(self, operator: Operator) -> Predicate {
        Predicate {
            kind: PredicateType::Metric,
            name: self.name,
            property_type: None,
            operator,
        }
    }
}

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Predicate {
    kind: PredicateType,
    name: String,
    property_type: Option<PropertyType>,
    operator: Operator,
}

impl Predicate {
    /// A predicate on a dimension (see [`dimension`] for common names).
    pub fn dimension(name: impl Into<String>) -> PredicateSubject {
        PredicateSubject {
            kind: PredicateType::Dimension,
            name: name.into(),
            property_type: None,
        }
    }

    /// A predicate on a segment property, whose values are of `property_type` (segment filters
    /// only).
    pub fn property(name: impl Into<String>, property_type: PropertyType) -> PredicateSubject {
        PredicateSubject {
            kind: PredicateType::Property,
            name: name.into(),
            property_type: Some(property_type),
        }
    }

    /// A predicate on a metric, compared with a range.
    pub fn metric(name: impl Into<String>) -> MetricSubject {
        MetricSubject { name: name.into() }
    }

    /// `conversationId matches id`.
    pub fn conversation_id(id: impl Into<String>) -> Predicate {
        Self::dimension(dimension::CONVERSATION_ID).matches(id)
    }

    /// What the predicate looks at.
    pub fn kind(&self) -> PredicateType {
        self.kind
    }

    /// The dimension, property or metric name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The property's value type, for property predicates.
    pub fn property_type(&self) -> Option<&PropertyType> {
        self.property_type.as_ref()
    }

    /// How it compares.
    pub fn operator(&self) -> &Operator {
        &self.operator
    }

    /// What is wrong with this predicate in a conversation filter (`segment == false`) or a
    /// segment filter, if anything.
    fn check(&self, segment: bool) -> Result<(), QueryError> {
        let wrong_filter = |reason: &'static str| QueryError::PredicateNotAllowed {
            name: self.name.clone(),
            filter: if segment { "segment" } else { "conversation" },
            reason,
        };
        match self.kind {
            PredicateType::Dimension => {
                if matches!(self.operator, Operator::InRange(_)) {
                    return Err(wrong_filter(
                        "a dimension is compared with a value, not a range",
                    ));
                }
                let (own, other) = if segment {
                    (dimension::SEGMENT, dimension::CONVERSATION)
                } else {
                    (dimension::CONVERSATION, dimension::SEGMENT)
                };
                if other.contains(&self.name.as_str()) && !own.contains(&self.name.as_str()) {
                    return Err(wrong_filter(if segment {
                        "it is a conversation dimension"
                    } else {
                        "it is a segment dimension"
                    }));
                }
                if ["sessionId", "participantId"].contains(&self.name.as_str()) {
                    return Err(wrong_filter("the platform has no such dimension"));
                }
            }
            PredicateType::Property => {
                if !segment {
                    return Err(wrong_filter("conversation predicates have no properties"));
                }
                if self.property_type.is_none() {
                    return Err(wrong_filter("a property predicate needs its propertyType"));
                }
                if matches!(self.operator, Operator::InRange(_)) {
                    return Err(wrong_filter(
                        "a property is compared with a value, not a range",
                    ));
                }
            }
            PredicateType::Metric => match &self.operator {
                Operator::Matches(_) => {
                    return Err(wrong_filter(
                        "a metric is compared with a range, not a value",
                    ));
                }
                Operator::InRange(r) => {
                    if r.is_empty() {
                        return Err(wrong_filter("the range has no bound"));
                    }
                    if [r.gt, r.gte, r.lt, r.lte]
                        .iter()
                        .flatten()
                        .any(|v| !v.is_finite())
                    {
                        return Err(wrong_filter("a range bound is not a finite number"));
                    }
                }
                Operator::Exists | Operator::NotExists => {}
            },
        }
        Ok(())
    }
}

impl Serialize for Predicate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", self.kind.as_str())?;
        map.serialize_entry(self.kind.as_str(), &self.name)?;
        if let Some(t) = &self.property_type {
            map.serialize_entry("propertyType", t)?;
        }
        map.serialize_entry("operator", self.operator.as_str())?;
        match &self.operator {
            Operator::Matches(value) => map.serialize_entry("value", value)?,
            Operator::InRange(range) => map.serialize_entry("range", range)?,
            Operator::Exists | Operator::NotExists => {}
        }
        map.end()
    }
}

/// How a filter combines its predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum FilterType {
    /// Every predicate must hold.
    And,
    /// At least one predicate must hold.
    Or,
}

/// A conversation or segment filter: `{"type": "and"|"or", "predicates": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Filter {
    #[serde(rename = "type")]
    kind: FilterType,
    predicates: Vec<Predicate>,
}

impl Filter {
    /// A filter of the given type.
    pub fn new(kind: FilterType, predicates: impl IntoIterator<Item = Predicate>) -> Self {
        Self {
            kind,
            predicates: predicates.into_iter().collect(),
        }
    }

    /// Every predicate must hold.
    pub fn and(predicates: impl IntoIterator<Item = Predicate>) -> Self {
        Self::new(FilterType::And, predicates)
    }

    /// At least one predicate must hold.
    pub fn or(predicates: impl IntoIterator<Item = Predicate>) -> Self {
        Self::new(FilterType::Or, predicates)
    }

    /// One more predicate.
    #[must_use]
    pub fn predicate(mut self, predicate: Predicate) -> Self {
        self.predicates.push(predicate);
        self
    }

    /// How the predicates combine.
    pub fn kind(&self) -> FilterType {
        self.kind
    }

    /// The predicates.
    pub fn predicates(&self) -> &[Predicate] {
        &self.predicates
    }
}

/// A checked conversation details query. Build one with [`ConversationQuery::builder`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationQuery {
    interval: Interval,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_by: Option<OrderBy>,
    paging: Paging,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conversation_filters: Vec<Filter>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    segment_filters: Vec<Filter>,
}

impl ConversationQuery {
    /// Starts a query.
    pub fn builder() -> ConversationQueryBuilder {
        ConversationQueryBuilder::default()
    }

    /// The time range.
    pub fn interval(&self) -> &Interval {
        &self.interval
    }

    /// The order, when set.
    pub fn order(&self) -> Option<Order> {
        self.order
    }

    /// What the results are ordered by, when set.
    pub fn order_by(&self) -> Option<&OrderBy> {
        self.order_by.as_ref()
    }

    /// The page this query asks for.
    pub fn paging(&self) -> Paging {
        self.paging
    }

    /// The conversation filters.
    pub fn conversation_filters(&self) -> &[Filter] {
        &self.conversation_filters
    }

    /// The segment filters.
    pub fn segment_filters(&self) -> &[Filter] {
        &self.segment_filters
    }

    /// The same query for another page.
    pub fn with_page_number(mut self, page_number: u32) -> Result<Self, QueryError> {
        self.paging = Paging::new(self.paging.page_size, page_number)?;
        Ok(self)
    }

    /// The body of an async job for the same query (`paging` does not apply to jobs).
    pub(crate) fn job_body(&self) -> JobBody<'_> {
        JobBody {
            interval: &self.interval,
            order: self.order,
            order_by: self.order_by.as_ref(),
            conversation_filters: &self.conversation_filters,
            segment_filters: &self.segment_filters,
        }
    }
}

/// The body of `POST …/details/jobs`: the query without paging.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct JobBody<'a> {
    interval: &'a Interval,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<Order>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order_by: Option<&'a OrderBy>,
    #[serde(skip_serializing_if = "<[Filter]>::is_empty")]
    conversation_filters: &'a [Filter],
    #[serde(skip_serializing_if = "<[Filter]>::is_empty")]
    segment_filters: &'a [Filter],
}

/// Builds a [`ConversationQuery`]; [`build`](Self::build) checks everything.
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct ConversationQueryBuilder {
    interval: Option<Result<Interval, QueryError>>,
    order: Option<Order>,
    order_by: Option<OrderBy>,
    page_size: Option<u32>,
    page_number: Option<u32>,
    conversation_filters: Vec<Filter>,
    segment_filters: Vec<Filter>,
    ids_error: Option<QueryError>,
}

impl ConversationQueryBuilder {
    /// The time range from `start` to `end` (start must be before end). Required.
    pub fn interval(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.interval = Some(Interval::new(start, end));
        self
    }

    /// A time range built beforehand. Either this or [`interval`](Self::interval) is required.
    pub fn with_interval(mut self, interval: Interval) -> Self {
        self.interval = Some(Ok(interval));
        self
    }

    /// The result order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = Some(order);
        self
    }

    /// What the results are ordered by.
    pub fn order_by(mut self, order_by: OrderBy) -> Self {
        self.order_by = Some(order_by);
        self
    }

    /// Results per page, 1..=100 (default 25).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// The 1-based page to fetch (default 1).
    pub fn page_number(mut self, page_number: u32) -> Self {
        self.page_number = Some(page_number);
        self
    }

    /// Adds a conversation filter (filters combine with AND).
    pub fn conversation_filter(mut self, filter: Filter) -> Self {
        self.conversation_filters.push(filter);
        self
    }

    /// Adds a segment filter (filters combine with AND).
    pub fn segment_filter(mut self, filter: Filter) -> Self {
        self.segment_filters.push(filter);
        self
    }

    /// Adds a conversation filter that matches any of these conversation ids
    /// (`{"type": "or", "predicates": [conversationId matches …]}`). Duplicates are sent once;
    /// an empty list or an empty id is refused by [`build`](Self::build).
    pub fn conversation_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut seen = std::collections::HashSet::new();
        let mut predicates = Vec::new();
        for id in ids {
            let id = id.as_ref();
            if id.trim().is_empty() {
                self.ids_error
                    .get_or_insert(QueryError::EmptyConversationId);
                continue;
            }
            if seen.insert(id.to_owned()) {
                predicates.push(Predicate::conversation_id(id));
            }
        }
        if predicates.is_empty() {
            self.ids_error.get_or_insert(QueryError::NoConversationIds);
        }
        self.conversation_filters.push(Filter::or(predicates));
        self
    }

    /// Checks and returns the query.
    pub fn build(self) -> Result<ConversationQuery, QueryError> {
        if let Some(e) = self.ids_error {
            return Err(e);
        }
        let interval = self.interval.ok_or(QueryError::MissingInterval)??;
        let paging = Paging::new(
            self.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
            self.page_number.unwrap_or(1),
        )?;
        let kinds = self
            .conversation_filters
            .iter()
            .map(|f| (f, false))
            .chain(self.segment_filters.iter().map(|f| (f, true)));
        for (filter, segment) in kinds {
            if filter.predicates.is_empty() {
                return Err(QueryError::EmptyFilter);
            }
            for p in &filter.predicates {
                p.check(segment)?;
            }
        }
        Ok(ConversationQuery {
            interval,
            order: self.order,
            order_by: self.order_by,
            paging,
            conversation_filters: self.conversation_filters,
            segment_filters: self.segment_filters,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn day(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn full_query_has_the_exact_wire_json() {
        let q = ConversationQuery::builder()
            .interval(day(1), day(2))
            .order(Order::Asc)
            .order_by(OrderBy::ConversationStart)
            .page_size(100)
            .page_number(3)
            .conversation_ids(["a", "b", "a"])
            .segment_filter(Filter::and([
                Predicate::dimension(dimension::MEDIA_TYPE).matches("message"),
                Predicate::property("custom", PropertyType::String).exists(),
                Predicate::metric("tSegmentDuration").range(NumericRange::between(1000.0, 60000.0)),
            ]))
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({
                "interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z",
                "order": "asc",
                "orderBy": "conversationStart",
                "paging": {"pageSize": 100, "pageNumber": 3},
                "conversationFilters": [{"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "a"},
                    {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "b"}
                ]}],
                "segmentFilters": [{"type": "and", "predicates": [
                    {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "message"},
                    {"type": "property", "property": "custom", "propertyType": "string", "operator": "exists"},
                    {"type": "metric", "metric": "tSegmentDuration", "operator": "matches", "range": {"gte": 1000.0, "lt": 60000.0}}
                ]}]
            })
        );
    }

    #[test]
    fn minimal_query_sends_interval_and_default_paging_only() {
        let q = ConversationQuery::builder()
            .interval(day(1), day(2))
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            json!({
                "interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z",
                "paging": {"pageSize": 25, "pageNumber": 1}
            })
        );
        assert_eq!(
            serde_json::to_value(q.with_page_number(2).unwrap()).unwrap()["paging"],
            json!({"pageSize": 25, "pageNumber": 2})
        );
    }

    #[test]
    fn order_values_and_unknown_order_by() {
        for (o, s) in [
            (Order::Asc, "asc"),
            (Order::Desc, "desc"),
            (Order::Unordered, "unordered"),
        ] {
            assert_eq!(serde_json::to_value(o).unwrap(), s);
        }
        assert_eq!(
            serde_json::to_value(OrderBy::from("mediaStatsMinConversationMos")).unwrap(),
            "mediaStatsMinConversationMos"
        );
        assert_eq!(
            serde_json::to_value(OrderBy::SegmentEnd).unwrap(),
            "segmentEnd"
        );
    }

    #[test]
    fn interval_keeps_milliseconds_and_must_increase() {
        let start = day(1) + TimeDelta::microseconds(123_456);
        let i = Interval::new(start, day(2)).unwrap();
        assert_eq!(
            i.to_string(),
            "2026-11-01T00:00:00.123Z/2026-11-02T00:00:00.000Z"
        );
        assert!(i.contains(day(1) + TimeDelta::hours(1)));
        assert!(!i.contains(day(2)));
        assert!(matches!(
            Interval::new(day(2), day(1)),
            Err(QueryError::IntervalNotIncreasing { .. })
        ));
        assert!(matches!(
            Interval::new(day(1), day(1)),
            Err(QueryError::IntervalNotIncreasing { .. })
        ));
        // the same millisecond on the wire is an empty range too
        assert!(Interval::new(day(1), day(1) + TimeDelta::microseconds(900)).is_err());
        let err = ConversationQuery::builder()
            .interval(day(2), day(1))
            .build()
            .unwrap_err();
        assert!(matches!(err, QueryError::IntervalNotIncreasing { .. }));
    }

    #[test]
    fn interval_parses_and_relative_ranges() {
        let i: Interval = "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00Z"
            .parse()
            .unwrap();
        assert_eq!(i, Interval::new(day(1), day(2)).unwrap());
        assert!("2026-11-01".parse::<Interval>().is_err());
        assert!("x/y".parse::<Interval>().is_err());
        let end = day(1) + TimeDelta::days(30);
        let last = Interval::ending_at(end, Duration::from_secs(30 * 86_400)).unwrap();
        assert_eq!(last.start(), day(1));
        assert_eq!(last.end(), end);
        assert!(matches!(
            Interval::ending_at(day(1), Duration::from_secs(u64::MAX)),
            Err(QueryError::IntervalOutOfRange { .. })
        ));
        assert!(Interval::last(Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn paging_is_checked() {
        let base = || ConversationQuery::builder().interval(day(1), day(2));
        assert!(matches!(
            base().page_size(0).build(),
            Err(QueryError::PageSizeOutOfRange { page_size: 0 })
        ));
        assert!(matches!(
            base().page_size(101).build(),
            Err(QueryError::PageSizeOutOfRange { page_size: 101 })
        ));
        assert!(base().page_size(1).build().is_ok());
        assert!(base().page_size(100).build().is_ok());
        assert!(matches!(
            base().page_number(0).build(),
            Err(QueryError::PageNumberZero)
        ));
        let q = base().build().unwrap();
        assert!(matches!(
            q.with_page_number(0),
            Err(QueryError::PageNumberZero)
        ));
    }

    #[test]
    fn missing_interval_and_empty_filters_are_refused() {
        assert!(matches!(
            ConversationQuery::builder().build(),
            Err(QueryError::MissingInterval)
        ));
        let base = || ConversationQuery::builder().interval(day(1), day(2));
        assert!(matches!(
            base().conversation_filter(Filter::or([])).build(),
            Err(QueryError::EmptyFilter)
        ));
        assert!(matches!(
            base().segment_filter(Filter::and([])).build(),
            Err(QueryError::EmptyFilter)
        ));
        assert!(matches!(
            base().conversation_ids(Vec::<String>::new()).build(),
            Err(QueryError::NoConversationIds)
        ));
        assert!(matches!(
            base().conversation_ids(["a", " "]).build(),
            Err(QueryError::EmptyConversationId)
        ));
    }

    #[test]
    fn predicates_in_the_wrong_filter_are_refused() {
        let base = || ConversationQuery::builder().interval(day(1), day(2));
        let refused = |b: ConversationQueryBuilder| {
            matches!(b.build(), Err(QueryError::PredicateNotAllowed { .. }))
        };
        // The platform's segment dimensions have no conversationId, sessionId or participantId.
        for d in ["conversationId", "sessionId", "participantId"] {
            assert!(
                refused(base().segment_filter(Filter::and([Predicate::dimension(d).matches("x")]))),
                "{d}"
            );
        }
        assert!(refused(base().conversation_filter(Filter::and([
            Predicate::dimension(dimension::PURPOSE).matches("agent")
        ]))));
        assert!(refused(base().conversation_filter(Filter::and([
            Predicate::property("p", PropertyType::Bool).exists()
        ]))));
        assert!(refused(base().segment_filter(Filter::and([
            Predicate::metric("tSegmentDuration").range(NumericRange::default())
        ]))));
        assert!(refused(base().segment_filter(Filter::and([
            Predicate::metric("tSegmentDuration").range(NumericRange::below(f64::NAN))
        ]))));
        assert!(refused(base().segment_filter(Filter::and([
            Predicate::metric("tSegmentDuration").with_value_for_test("5")
        ]))));
        assert!(
            base()
                .segment_filter(Filter::and([
                    Predicate::dimension(dimension::PURPOSE).matches("botflow"),
                    Predicate::property("p", PropertyType::Integer).matches("3"),
                    Predicate::metric("tSegmentDuration").range(NumericRange::at_least(1.0)),
                ]))
                .build()
                .is_ok()
        );
    }

    impl MetricSubject {
        fn with_value_for_test(self, v: &str) -> Predicate {
            self.with(Operator::Matches(v.into()))
        }
    }

    #[test]
    fn job_body_is_the_query_without_paging() {
        let q = ConversationQuery::builder()
            .interval(day(1), day(2))
            .order(Order::Desc)
            .conversation_ids(["x"])
            .page_size(10)
            .build()
            .unwrap();
        let body = serde_json::to_value(q.job_body()).unwrap();
        assert_eq!(
            body,
            json!({
                "interval": "2026-11-01T00:00:00.000Z/2026-11-02T00:00:00.000Z",
                "order": "desc",
                "conversationFilters": [{"type": "or", "predicates": [
                    {"type": "dimension", "dimension": "conversationId", "operator": "matches", "value": "x"}
                ]}]
            })
        );
    }

    #[test]
    fn accessors_report_what_was_built() {
        let f = Filter::or([]).predicate(Predicate::dimension("divisionId").matches("q1"));
        let q = ConversationQuery::builder()
            .with_interval(Interval::new(day(1), day(2)).unwrap())
            .order(Order::Unordered)
            .order_by(OrderBy::SegmentStart)
            .conversation_filter(f.clone())
            .build()
            .unwrap();
        assert_eq!(q.interval().start(), day(1));
        assert_eq!(q.order(), Some(Order::Unordered));
        assert_eq!(q.order_by(), Some(&OrderBy::SegmentStart));
        assert_eq!(q.paging(), Paging::default());
        assert_eq!(q.conversation_filters(), &[f]);
        assert!(q.segment_filters().is_empty());
        let p = &q.conversation_filters()[0].predicates()[0];
        assert_eq!(p.kind(), PredicateType::Dimension);
        assert_eq!(p.name(), "divisionId");
        assert_eq!(p.operator().value(), Some("q1"));
        assert_eq!(q.conversation_filters()[0].kind(), FilterType::Or);
    }
}
