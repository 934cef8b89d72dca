//! The instance's registration and heartbeat on `skywalking.v3.ManagementService`, as the Java
//! agent does it: `reportInstanceProperties` first and again every `properties_factor`
//! heartbeats (and after any failure), `keepAlive` on the other beats. Properties: `language`
//! (`rust`), `OS Name`, `hostname`, `Process No.`, and one `ipv4` per address.
//!
//! Failures are retried at the next beat, never sooner; they are logged once, unless they are
//! the backend being down or refusing credentials, which the trace lane already reports.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use tonic::client::Grpc;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic::Code;

use crate::export::traces::skywalking::Identity;
use crate::export::transport::grpc;
use crate::export::transport::host;
use crate::proto::skywalking::{Commands, InstancePingPkg, InstanceProperties, KeyStringValuePair};

const PROPERTIES_PATH: &str = "/skywalking.v3.ManagementService/reportInstanceProperties";
const KEEP_ALIVE_PATH: &str = "/skywalking.v3.ManagementService/keepAlive";

/// What the heartbeat task needs.
#[derive(Debug)]
pub(crate) struct Heartbeat {
    pub grpc: Grpc<Channel>,
    pub metadata: MetadataMap,
    pub identity: Identity,
    pub hostname: String,
    pub period: Duration,
    pub properties_factor: u32,
    pub timeout: Duration,
}

/// Runs for the life of the reporter.
pub(crate) async fn run(mut beat: Heartbeat) {
    let properties = properties(&beat).encode_to_vec();
    let ping = InstancePingPkg {
        service: beat.identity.service.clone(),
        service_instance: beat.identity.instance.clone(),
        layer: String::new(),
    }
    .encode_to_vec();
    let (properties, ping) = (Bytes::from(properties), Bytes::from(ping));
    let mut ticks = tokio::time::interval(beat.period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut registered = false;
    let mut count: u32 = 0;
    let mut logged = false;
    loop {
        ticks.tick().await;
        let send_properties = !registered || count.is_multiple_of(beat.properties_factor);
        count = count.wrapping_add(1);
        let (path, body) = if send_properties { (PROPERTIES_PATH, &properties) } else { (KEEP_ALIVE_PATH, &ping) };
        let request = grpc::request(body.clone(), &beat.metadata, beat.timeout);
        match grpc::unary::<Commands>(&mut beat.grpc, path, request).await {
            Ok(_) => registered |= send_properties,
            Err(status) => {
                registered = false;
                let reported_elsewhere =
                    matches!(status.code(), Code::Unavailable | Code::Unauthenticated | Code::PermissionDenied);
                if !reported_elsewhere && !std::mem::replace(&mut logged, true) {
                    stderr_line!("spanscope: skywalking management: {:?}: {}", status.code(), status.message());
                }
            }
        }
    }
}

fn properties(beat: &Heartbeat) -> InstanceProperties {
    let pair = |key: &str, value: String| KeyStringValuePair { key: key.to_owned(), value };
    let mut properties = vec![
        pair("language", "rust".to_owned()),
        pair("OS Name", host::os_name().to_owned()),
        pair("hostname", beat.hostname.clone()),
        pair("Process No.", std::process::id().to_string()),
    ];
    properties.extend(host::ipv4_addresses().into_iter().map(|ip| pair("ipv4", ip)));
    InstanceProperties {
        service: beat.identity.service.clone(),
        service_instance: beat.identity.instance.clone(),
        properties,
        layer: String::new(),
    }
}
