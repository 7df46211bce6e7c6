//! A connection this controller cannot read is reported on the object itself, once per
//! problem, and every other connection is reconciled as usual.

use k8s_openapi::jiff::Timestamp;
use kube::{
    Api,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder},
    },
};
use serde_json::json;

use super::{context::Context, reconcile::ReconcileError, status::set_condition};
use crate::crd::{HrisConnection, Phase};

/// Longest part of a deserialization error shown in a condition.
const UNREADABLE_DETAIL: usize = 300;

/// A connection this controller cannot read (its spec names something this version does not
/// know, typically after a rollback past a CRD change): condition `Ready=False InvalidSpec` and
/// one Event on that object, once per distinct problem; no run starts; every other connection
/// is reconciled as usual.
pub async fn report_unreadable(
    invalid: &kube::core::error_boundary::InvalidObject,
    context: &Context,
) -> Result<Action, ReconcileError> {
    let metadata = &invalid.metadata;
    let (Some(name), Some(namespace)) = (metadata.name.clone(), metadata.namespace.clone()) else {
        return Ok(Action::await_change());
    };
    let detail: String = invalid.error.chars().take(UNREADABLE_DETAIL).collect();
    let message = format!(
        "the controller cannot read this connection ({detail}); check that the CRD and the \
         controller are the same version, then fix the spec"
    );
    let key = format!("{}/{}", metadata.uid.as_deref().unwrap_or(&name), message);
    if !context
        .unreadable
        .lock()
        .expect("never poisoned")
        .insert(key)
    {
        return Ok(Action::await_change());
    }
    tracing::warn!(namespace = %namespace, name = %name, "a connection cannot be read");
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(
        context.client.clone(),
        &namespace,
        &kube::core::ApiResource::erase::<HrisConnection>(&()),
    );
    // The rest of status stays as it was: read its conditions, replace only Ready.
    let current = api.get(&name).await?;
    let mut conditions: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> = current
        .data
        .get("status")
        .and_then(|s| s.get("conditions"))
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default();
    let generation = metadata.generation.unwrap_or(0);
    let now = Timestamp::now();
    set_condition(
        &mut conditions,
        "Ready",
        false,
        "InvalidSpec",
        message.clone(),
        generation,
        now,
    );
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"conditions": conditions, "phase": Phase::Failed.as_str()}}),
        ),
    )
    .await?;
    let recorder = Recorder::new(context.client.clone(), context.reporter.clone());
    let reference = k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some("hris-operator.io/v1alpha1".into()),
        kind: Some("HrisConnection".into()),
        name: Some(name),
        namespace: Some(namespace),
        uid: metadata.uid.clone(),
        ..Default::default()
    };
    let event = Event {
        type_: EventType::Warning,
        reason: "InvalidSpec".into(),
        note: Some(message),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = recorder.publish(&event, &reference).await {
        tracing::warn!(%error, "could not publish an event");
    }
    Ok(Action::await_change())
}
