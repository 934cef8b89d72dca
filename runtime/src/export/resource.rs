//! The resource: what every exported span says about the process that made it.

use crate::config::Settings;
use crate::tag::TagValue;

/// The service and process attributes, in export order.
#[derive(Debug)]
pub(crate) struct Resource {
    pub attributes: Vec<(String, TagValue)>,
}

impl Resource {
    pub(crate) fn new(settings: &Settings) -> Self {
        let mut attributes = vec![
            ("service.name".to_owned(), TagValue::from(settings.service_name.clone())),
            ("service.instance.id".to_owned(), TagValue::from(crate::id::TraceId::random().to_string())),
            ("telemetry.sdk.name".to_owned(), TagValue::from("spanscope")),
            ("telemetry.sdk.language".to_owned(), TagValue::from("rust")),
            ("telemetry.sdk.version".to_owned(), TagValue::from(env!("CARGO_PKG_VERSION"))),
        ];
        for (key, value) in &settings.resource {
            attributes.retain(|(k, _)| k != key);
            attributes.push((key.clone(), TagValue::from(value.clone())));
        }
        Self { attributes }
    }
}
