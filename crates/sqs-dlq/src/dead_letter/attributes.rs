//! The attributes EventBridge attaches to a dead letter (`ERROR_CODE`, `ERROR_MESSAGE`,
//! `RULE_ARN`, `TARGET_ARN`, `RETRY_ATTEMPTS`, `EXHAUSTED_RETRY_CONDITION`), typed.
//!
//! Both the parser ([`DeadLetter`](super::DeadLetter)) and the categories
//! ([`classify`](super::classify)) read these; neither depends on the other through them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::queue::{AttributeValue, Attributes};

/// Attribute name of the EventBridge error code.
pub const ATTR_ERROR_CODE: &str = "ERROR_CODE";
/// Attribute name of the EventBridge error message.
pub const ATTR_ERROR_MESSAGE: &str = "ERROR_MESSAGE";
/// Attribute name of the rule ARN.
pub const ATTR_RULE_ARN: &str = "RULE_ARN";
/// Attribute name of the target ARN.
pub const ATTR_TARGET_ARN: &str = "TARGET_ARN";
/// Attribute name of the number of delivery attempts EventBridge made.
pub const ATTR_RETRY_ATTEMPTS: &str = "RETRY_ATTEMPTS";
/// Attribute name of the condition that ended EventBridge's retries.
pub const ATTR_EXHAUSTED_RETRY_CONDITION: &str = "EXHAUSTED_RETRY_CONDITION";

/// The `ERROR_CODE` EventBridge puts on a dead letter.
///
/// Every documented value has a variant; a value EventBridge adds later parses as
/// [`ErrorCode::Unknown`] with its text, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `CONNECTION_FAILURE`
    ConnectionFailure,
    /// `CROSS_ACCOUNT_INGESTION_FAILED`
    CrossAccountIngestionFailed,
    /// `CROSS_REGION_INGESTION_FAILED`
    CrossRegionIngestionFailed,
    /// `ERROR_FROM_TARGET`
    ErrorFromTarget,
    /// `EVENTS_IN_BATCH_REQUEST_REJECTED`
    EventsInBatchRequestRejected,
    /// `FAILED_TO_ASSUME_ROLE`
    FailedToAssumeRole,
    /// `INTERNAL_ERROR`
    InternalError,
    /// `INVALID_JSON`
    InvalidJson,
    /// `INVALID_PARAMETER`
    InvalidParameter,
    /// `NO_PERMISSIONS`
    NoPermissions,
    /// `NO_RESOURCE`
    NoResource,
    /// `RESOURCE_ALREADY_EXISTS`
    ResourceAlreadyExists,
    /// `RESOURCE_LIMIT_EXCEEDED`
    ResourceLimitExceeded,
    /// `RESOURCE_MODIFICATION_COLLISION`
    ResourceModificationCollision,
    /// `SDK_CLIENT_ERROR`
    SdkClientError,
    /// `THIRD_ACCOUNT_HOP_DETECTED`
    ThirdAccountHopDetected,
    /// `THIRD_REGION_HOP_DETECTED`
    ThirdRegionHopDetected,
    /// `THROTTLING`
    Throttling,
    /// `TIMEOUT`
    Timeout,
    /// `TRANSIENT_ASSUME_ROLE`
    TransientAssumeRole,
    /// EventBridge's own literal `UNKNOWN` code.
    Unspecified,
    /// A code this crate does not know (yet), exactly as received.
    Unknown(String),
}

const KNOWN_CODES: &[(&str, ErrorCode)] = &[
    ("CONNECTION_FAILURE", ErrorCode::ConnectionFailure),
    (
        "CROSS_ACCOUNT_INGESTION_FAILED",
        ErrorCode::CrossAccountIngestionFailed,
    ),
    (
        "CROSS_REGION_INGESTION_FAILED",
        ErrorCode::CrossRegionIngestionFailed,
    ),
    ("ERROR_FROM_TARGET", ErrorCode::ErrorFromTarget),
    (
        "EVENTS_IN_BATCH_REQUEST_REJECTED",
        ErrorCode::EventsInBatchRequestRejected,
    ),
    ("FAILED_TO_ASSUME_ROLE", ErrorCode::FailedToAssumeRole),
    ("INTERNAL_ERROR", ErrorCode::InternalError),
    ("INVALID_JSON", ErrorCode::InvalidJson),
    ("INVALID_PARAMETER", ErrorCode::InvalidParameter),
    ("NO_PERMISSIONS", ErrorCode::NoPermissions),
    ("NO_RESOURCE", ErrorCode::NoResource),
    ("RESOURCE_ALREADY_EXISTS", ErrorCode::ResourceAlreadyExists),
    ("RESOURCE_LIMIT_EXCEEDED", ErrorCode::ResourceLimitExceeded),
    (
        "RESOURCE_MODIFICATION_COLLISION",
        ErrorCode::ResourceModificationCollision,
    ),
    ("SDK_CLIENT_ERROR", ErrorCode::SdkClientError),
    (
        "THIRD_ACCOUNT_HOP_DETECTED",
        ErrorCode::ThirdAccountHopDetected,
    ),
    (
        "THIRD_REGION_HOP_DETECTED",
        ErrorCode::ThirdRegionHopDetected,
    ),
    ("THROTTLING", ErrorCode::Throttling),
    ("TIMEOUT", ErrorCode::Timeout),
    ("TRANSIENT_ASSUME_ROLE", ErrorCode::TransientAssumeRole),
    ("UNKNOWN", ErrorCode::Unspecified),
];

impl ErrorCode {
    /// Parses a code; surrounding whitespace is ignored, case is not.
    pub fn parse(code: &str) -> Self {
        let trimmed = code.trim();
        KNOWN_CODES
            .iter()
            .find(|(name, _)| *name == trimmed)
            .map(|(_, code)| code.clone())
            .unwrap_or_else(|| ErrorCode::Unknown(trimmed.to_owned()))
    }

    /// The code as EventBridge writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Unknown(raw) => raw,
            known => KNOWN_CODES
                .iter()
                .find(|(_, code)| code == known)
                .map(|(name, _)| *name)
                .unwrap_or("UNKNOWN"),
        }
    }

    /// Every documented code (without [`ErrorCode::Unknown`]).
    pub fn documented() -> impl Iterator<Item = ErrorCode> {
        KNOWN_CODES.iter().map(|(_, code)| code.clone())
    }
}

impl FromStr for ErrorCode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::parse(s))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&raw))
    }
}

/// The `EXHAUSTED_RETRY_CONDITION` attribute: why EventBridge stopped retrying.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExhaustedRetryCondition {
    /// `MaximumRetryAttempts`: the rule's retry count ran out.
    MaximumRetryAttempts,
    /// `MaximumEventAgeInSeconds`: the event grew older than the rule allows.
    MaximumEventAgeInSeconds,
    /// Any other value, as received.
    Other(String),
}

impl ExhaustedRetryCondition {
    /// Parses the attribute value.
    pub fn parse(raw: &str) -> Self {
        match raw.trim() {
            "MaximumRetryAttempts" => Self::MaximumRetryAttempts,
            "MaximumEventAgeInSeconds" => Self::MaximumEventAgeInSeconds,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The value as EventBridge writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::MaximumRetryAttempts => "MaximumRetryAttempts",
            Self::MaximumEventAgeInSeconds => "MaximumEventAgeInSeconds",
            Self::Other(raw) => raw,
        }
    }
}

impl fmt::Display for ExhaustedRetryCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The attributes EventBridge attaches to a dead letter, typed. Each is optional: a message
/// that did not come from EventBridge (or was moved by hand) may lack any of them. The raw
/// attributes stay available on [`DeadLetter::attributes`](super::DeadLetter::attributes).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DlqAttributes {
    /// `ERROR_CODE`.
    pub error_code: Option<ErrorCode>,
    /// `ERROR_MESSAGE`.
    pub error_message: Option<String>,
    /// `RULE_ARN`.
    pub rule_arn: Option<String>,
    /// `TARGET_ARN`.
    pub target_arn: Option<String>,
    /// `RETRY_ATTEMPTS` (absent when missing or not a number; the raw text stays in the raw
    /// attributes).
    pub retry_attempts: Option<u32>,
    /// `EXHAUSTED_RETRY_CONDITION`.
    pub exhausted_retry_condition: Option<ExhaustedRetryCondition>,
}

impl DlqAttributes {
    /// Reads the EventBridge attributes out of SQS message attributes. Empty values count as
    /// absent.
    pub fn from_attributes(attributes: &Attributes) -> Self {
        let text = |name: &str| {
            attributes
                .get(name)
                .and_then(AttributeValue::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        Self {
            error_code: text(ATTR_ERROR_CODE).map(ErrorCode::parse),
            error_message: text(ATTR_ERROR_MESSAGE).map(str::to_owned),
            rule_arn: text(ATTR_RULE_ARN).map(str::to_owned),
            target_arn: text(ATTR_TARGET_ARN).map(str::to_owned),
            retry_attempts: text(ATTR_RETRY_ATTEMPTS).and_then(crate::queue::saturating_count),
            exhausted_retry_condition: text(ATTR_EXHAUSTED_RETRY_CONDITION)
                .map(ExhaustedRetryCondition::parse),
        }
    }

    /// Sets the error code (tests and callers building attributes by hand).
    pub fn with_error_code(mut self, code: ErrorCode) -> Self {
        self.error_code = Some(code);
        self
    }

    /// Sets the error message.
    pub fn with_error_message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }
}
