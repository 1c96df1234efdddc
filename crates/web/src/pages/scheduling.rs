//! Scheduling pages: departments, the staff directory, calendars, the check-in desk, a
//! patient's appointments and requests, and the appointment report.

use crate::routes::RouteTable;

/// Adds the scheduling pages.
pub(crate) fn routes(table: RouteTable) -> RouteTable {
    table
}
