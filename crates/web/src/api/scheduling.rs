//! `/api/v1/departments`, `/api/v1/staff` and `/api/v1/appointments`.

use crate::routes::RouteTable;

/// Adds the scheduling API routes.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
}
