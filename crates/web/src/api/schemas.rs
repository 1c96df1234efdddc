//! Schemas of parameters and members whose rule the Rust type does not carry: a closed
//! list of values, or either of two formats. Used with `#[param(schema_with = …)]` and
//! `#[schema(schema_with = …)]`, so that the document states what the handler enforces.

use utoipa::openapi::schema::{AnyOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, Object, ObjectBuilder, Schema};

/// A string that is one of `values`.
pub(crate) fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.into_iter().map(str::to_owned)))
        .build()
}

fn formatted(format: KnownFormat) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(format)))
        .build()
}

/// `YYYY-MM-DD` or an RFC 3339 time.
pub(crate) fn date_or_time() -> Schema {
    AnyOfBuilder::new()
        .item(formatted(KnownFormat::Date))
        .item(formatted(KnownFormat::DateTime))
        .build()
        .into()
}

/// A string that is one of a choice enum's text forms.
pub(crate) fn choices<T: Copy + 'static>(all: &[T], as_str: fn(T) -> &'static str) -> Object {
    one_of(all.iter().map(|v| as_str(*v)))
}

/// A comma-separated list of `values` (at least one).
pub(crate) fn comma_list<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
    let alternatives = values.into_iter().collect::<Vec<_>>().join("|");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^({alternatives})(,({alternatives}))*$")))
        .build()
}

/// A notification's delivery status.
pub(crate) fn delivery_status() -> Object {
    use carevault_core::notification::DeliveryStatus as S;
    choices(S::ALL, S::as_str)
}

/// A notification's kind.
pub(crate) fn notification_kind() -> Object {
    use carevault_core::notification::NotificationKind as K;
    choices(K::ALL, K::as_str)
}

/// A notification channel.
pub(crate) fn channel() -> Object {
    use carevault_core::notification::Channel as C;
    choices(C::ALL, C::as_str)
}

/// An invoice's status.
pub(crate) fn invoice_status() -> Object {
    use carevault_core::billing::InvoiceStatus as S;
    choices(S::ALL, S::as_str)
}

/// Appointment statuses, comma-separated.
pub(crate) fn appointment_statuses() -> Object {
    use carevault_core::appointment::AppointmentStatus as S;
    comma_list(S::ALL.iter().map(|s| s.as_str()))
}
