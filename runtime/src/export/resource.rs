//! The resource: what every exported span says about the process that made it.

use crate::config::Settings;
use crate::tag::TagValue;

/// The service and process attributes, in export order, and the names backends without
/// resource attributes (SkyWalking, Datadog) use.
#[derive(Debug)]
pub(crate) struct Resource {
    pub attributes: Vec<(String, TagValue)>,
    pub service: String,
    /// This process among the service's instances (`<uuid>@<hostname>` by default).
    pub instance: String,
    pub hostname: String,
}

impl Resource {
    pub(crate) fn new(settings: &Settings) -> Self {
        let mut attributes = vec![
            ("service.name".to_owned(), TagValue::from(settings.service_name.clone())),
            ("service.instance.id".to_owned(), TagValue::from(settings.service_instance.clone())),
            ("telemetry.sdk.name".to_owned(), TagValue::from("spanscope")),
            ("telemetry.sdk.language".to_owned(), TagValue::from("rust")),
            ("telemetry.sdk.version".to_owned(), TagValue::from(env!("CARGO_PKG_VERSION"))),
        ];
        for (key, value) in &settings.resource {
            attributes.retain(|(k, _)| k != key);
            attributes.push((key.clone(), TagValue::from(value.clone())));
        }
        Self {
            attributes,
            service: settings.service_name.clone(),
            instance: settings.service_instance.clone(),
            hostname: settings.hostname.clone(),
        }
    }

    /// A string attribute's value.
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.to_string())
    }

    /// The deployment environment (`deployment.environment.name`, else the older
    /// `deployment.environment`): Datadog's `env`.
    pub(crate) fn environment(&self) -> Option<String> {
        self.get("deployment.environment.name").or_else(|| self.get("deployment.environment"))
    }
}
